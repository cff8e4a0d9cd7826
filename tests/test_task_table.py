"""A task kind is defined once (casework/tasks.py): the outcomes the workflow acts on (by
the table's enums, never a string literal: issue 19, item 2), the deadlines the settings
use and the outcomes messages settle a task with all come from it."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from enum import StrEnum
from pathlib import Path

import pytest

from casework import tasks
from casework.settings import ProcessConfigError, ProcessSettings, load_process_settings
from casework.tasks import TASK_KINDS

ROOT = Path(__file__).resolve().parent.parent
WORKFLOWS = [p for p in sorted((ROOT / "workflows").glob("*.py")) if p.name != "client.py"]
#: The task table's outcome enums, by name.
OUTCOME_ENUMS = {name: value for name, value in vars(tasks).items()
                 if isinstance(value, type) and issubclass(value, StrEnum) and value is not StrEnum}


def _literals(node: ast.AST) -> list[str]:
    """The string constants an operand names: one, or a tuple/list/set of them."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
        return [s for element in node.elts for s in _literals(element)]
    return []


def _members(node: ast.AST) -> list[tuple[str, str]]:
    """The task-table enum members an operand names: ``PursuitOutcome.PURSUE`` -> (enum, member)."""
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in OUTCOME_ENUMS:
        return [(node.value.id, node.attr)]
    if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
        return [m for element in node.elts for m in _members(element)]
    return []


def _is_task_outcome(node: ast.AST) -> bool:
    """``<x>.outcome`` of a task or a completion; not the case's own (``self.s.outcome``)."""
    return isinstance(node, ast.Attribute) and node.attr == "outcome" and not (
        isinstance(node.value, ast.Attribute) and node.value.attr == "s" or isinstance(node.value, ast.Name) and node.value.id == "s")


def outcome_comparisons(tree: ast.AST) -> list[tuple[int, ast.Compare]]:
    return [(node.lineno, node) for node in ast.walk(tree) if isinstance(node, ast.Compare)
            and any(_is_task_outcome(operand) for operand in (node.left, *node.comparators))]


def literal_outcome_comparisons(tree: ast.AST) -> list[int]:
    """Lines comparing a task's outcome with a string literal instead of the table's enum."""
    return [line for line, node in outcome_comparisons(tree)
            if any(_literals(operand) for operand in (node.left, *node.comparators))]


def _done_kind(node: ast.AST) -> str | None:
    """``await self.tasks.done("kind", ...)`` -> "kind"."""
    if isinstance(node, ast.Await) and isinstance(node.value, ast.Call):
        call = node.value
        if isinstance(call.func, ast.Attribute) and call.func.attr == "done" and call.args \
                and isinstance(call.args[0], ast.Constant):
            return call.args[0].value
    return None


def workflow_outcome_uses() -> tuple[list[tuple[str, str | None, tuple[str, str]]], dict[str, list[str]]]:
    """What the workflow compares task outcomes against, and which settler settles which kinds.

    Returns (comparisons, settlers): (place, kind or None when the task is not known
    statically, (enum, member)) for every ``<task>.outcome ==/in Enum.MEMBER``, and
    settler method -> the kinds passed to ``tasks.done(kind, settled_by=self.settlers.<it>)``.
    """
    comparisons = []
    settlers: dict[str, list[str]] = {}
    for path in WORKFLOWS:
        tree = ast.parse(path.read_text())
        for function in (n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))):
            bound = [(n.lineno, n.targets[0].id, _done_kind(n.value)) for n in ast.walk(function)
                     if isinstance(n, ast.Assign) and isinstance(n.targets[0], ast.Name) and _done_kind(n.value)]
            for node in ast.walk(function):
                kind = _done_kind(node)
                for keyword in node.value.keywords if kind else []:  # type: ignore[attr-defined]
                    for settler in ast.walk(keyword.value):
                        if keyword.arg == "settled_by" and isinstance(settler, ast.Attribute) \
                                and isinstance(settler.value, ast.Attribute) and settler.value.attr == "settlers":
                            settlers.setdefault(settler.attr, []).append(kind)
            for line, node in outcome_comparisons(function):
                variable = next((o.value.id for o in (node.left, *node.comparators)
                                 if _is_task_outcome(o) and isinstance(o.value, ast.Name)), None)  # type: ignore[attr-defined]
                earlier = [k for ln, name, k in bound if name == variable and ln <= line]
                for operand in node.comparators:
                    for member in _members(operand):
                        comparisons.append((f"{path.name}:{line}", earlier[-1] if earlier else None, member))
    return comparisons, settlers


def test_no_outcome_is_compared_to_a_string_literal():
    assert literal_outcome_comparisons(ast.parse('if nbtc.outcome == "left_uk": pass')) == [1]
    assert literal_outcome_comparisons(ast.parse('x = p.outcome in ("a", NbtcCheckOutcome.LEFT_UK)')) == [1]
    assert literal_outcome_comparisons(ast.parse("if nbtc.outcome == NbtcCheckOutcome.LEFT_UK: pass")) == []
    wrong = {p.name: lines for p in WORKFLOWS if (lines := literal_outcome_comparisons(ast.parse(p.read_text())))}
    assert not wrong, f"compare outcomes with the task table's enums (casework/tasks.py): {wrong}"


def test_every_outcome_the_workflow_compares_against_is_its_tasks():
    comparisons, settlers = workflow_outcome_uses()
    assert len(comparisons) >= 15 and len(settlers) >= 3  # the parse found them
    wrong = []
    for place, kind, (enum, member) in comparisons:
        if not hasattr(OUTCOME_ENUMS[enum], member):
            wrong.append(f"{place}: {enum}.{member} does not exist")
        elif kind is not None and OUTCOME_ENUMS[enum] is not TASK_KINDS[kind].outcomes:
            wrong.append(f"{place}: {enum}.{member} is not an outcome of {kind} ({TASK_KINDS[kind].outcomes.__name__})")
    assert not wrong, "\n".join(wrong)


def test_every_task_the_workflow_opens_is_a_kind_of_the_table():
    opened = [(p.name, n.lineno, n.args[0].value) for p in WORKFLOWS for n in ast.walk(ast.parse(p.read_text()))
              if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and n.func.attr in ("done", "open")
              and n.args and isinstance(n.args[0], ast.Constant) and isinstance(n.args[0].value, str)]
    assert len(opened) >= 16  # every kind but overdue_review (opened by escalation), the parse found them
    assert not [o for o in opened if o[2] not in TASK_KINDS], [o for o in opened if o[2] not in TASK_KINDS]


def test_a_message_settles_a_task_only_with_an_outcome_its_kind_lists():
    """Every settler, in every state it can answer from, gives its kinds' ``settled_by_message`` outcomes."""
    _, settlers = workflow_outcome_uses()
    from itertools import product
    from types import SimpleNamespace

    from casework.case import CaseState
    from workflows.human_task import Settlers

    for name, kinds in settlers.items():
        for located, left, disclosable in product((False, True), repeat=3):
            state = CaseState(case_id="acro-case-T1", located=located, left_uk=left, convictions_disclosable=disclosable)
            settled = getattr(Settlers(SimpleNamespace(s=state, last_actor="ops.ivy")), name)()  # type: ignore[arg-type]
            for kind in kinds:
                assert settled is None or settled[0] in TASK_KINDS[kind].settled_by_message, (name, kind, settled)


def test_each_kind_is_one_whole_definition():
    for name, kind in TASK_KINDS.items():
        assert kind.name == name and kind.team and kind.deadline_days > 0
        assert set(kind.outcomes) == set(kind.details) | set(kind.settled_by_message), name
        assert set(kind.needs_disclosable) <= set(kind.details), name
    assert ProcessSettings().deadline_days == {name: kind.deadline_days for name, kind in TASK_KINDS.items()}


def test_a_deadline_not_configured_is_the_tables_not_a_silent_default():
    settings = ProcessSettings(deadline_days={"nbtc_check": 0.5})
    assert settings.deadline("nbtc_check").total_seconds() == 12 * 3600
    assert settings.deadline("prosecution_outcome").days == TASK_KINDS["prosecution_outcome"].deadline_days == 180


def test_configuration_naming_an_unknown_kind_is_refused_at_start(tmp_path: Path):
    config = tmp_path / "process.json"
    config.write_text(json.dumps({"deadline_days": {"nbtc_chek": 3}}))
    with pytest.raises(ProcessConfigError) as refused:
        load_process_settings(config)
    message = str(refused.value)
    assert message.startswith(f"process configuration {config}: deadline_days: unknown task kind(s) nbtc_chek;"), message
    assert "Value error" not in message and "nbtc_check" in message
    # The worker service refuses to start on it: one line, status 2, before connecting anywhere.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CASEWORK_", "TEMPORAL_"))}
    env.update(DATABASE_URL="postgresql://nobody@127.0.0.1:1/none", CASEWORK_PROCESS_CONFIG=str(config))
    worker = subprocess.run([str(Path(sys.executable).parent / "casework-worker")], env=env,
                            capture_output=True, text=True, timeout=60)
    assert worker.returncode == 2, worker.stderr
    lines = [line for line in worker.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "unknown task kind(s) nbtc_chek" in lines[0], worker.stderr


def test_one_open_task_model():
    """``OpenTask`` is the task as the case holds it; the CID command is ``OpenInboxTask``."""
    from casework import case, records

    assert hasattr(case, "OpenTask") and not hasattr(records, "OpenTask") and hasattr(records, "OpenInboxTask")
