"""A task kind is defined once (casework/tasks.py): the outcomes the workflow acts on, the
deadlines the settings use and the outcomes messages settle a task with all come from it."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from casework.settings import ProcessConfigError, ProcessSettings, load_process_settings
from casework.tasks import TASK_KINDS

ROOT = Path(__file__).resolve().parent.parent
WORKFLOW = ROOT / "workflows" / "case.py"


def _strings(node: ast.AST) -> list[str]:
    """The string constants a comparison names: one, or a tuple/list/set of them."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
        return [s for element in node.elts for s in _strings(element)]
    return []


def _task_call(node: ast.AST) -> ast.Call | None:
    """``await self._task("kind", ...)`` -> the call."""
    if isinstance(node, ast.Await) and isinstance(node.value, ast.Call):
        func = node.value.func
        if isinstance(func, ast.Attribute) and func.attr == "_task":
            return node.value
    return None


def workflow_outcome_uses() -> tuple[list[tuple[int, str | None, str]], list[tuple[int, str, str]]]:
    """What workflows/case.py compares outcomes against, and what its resolvers settle with.

    Returns (comparisons, settlements): (line, kind or None when the task is not known
    statically, outcome) for every ``<task>.outcome ==/in "..."``, and (line, kind,
    outcome) for every outcome a resolver passed to ``_task(kind, resolved_by=...)`` returns.
    """
    tree = ast.parse(WORKFLOW.read_text())
    comparisons: list[tuple[int, str | None, str]] = []
    resolvers: dict[str, list[str]] = {}  # resolver method -> kinds it settles
    methods = {n.name: n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))}
    for function in methods.values():
        bound: list[tuple[int, str, str]] = []  # (line, variable, kind)
        for node in ast.walk(function):
            call = _task_call(node.value) if isinstance(node, (ast.Assign, ast.Expr)) else None
            if isinstance(node, ast.Assign) and call and isinstance(node.targets[0], ast.Name):
                bound.append((node.lineno, node.targets[0].id, call.args[0].value))  # type: ignore[attr-defined]
            if call is None and isinstance(node, ast.Await):
                call = _task_call(node)
            if call is not None:
                for keyword in call.keywords:
                    if keyword.arg == "resolved_by" and isinstance(keyword.value, ast.Attribute):
                        resolvers.setdefault(keyword.value.attr, []).append(call.args[0].value)  # type: ignore[attr-defined]
        for node in ast.walk(function):
            if not (isinstance(node, ast.Compare) and isinstance(node.left, ast.Attribute) and node.left.attr == "outcome"):
                continue
            if isinstance(node.left.value, ast.Attribute):  # self.s.outcome: the case's, not a task's
                continue
            variable = node.left.value.id if isinstance(node.left.value, ast.Name) else None
            earlier = [kind for line, name, kind in bound if name == variable and line <= node.lineno]
            kind = earlier[-1] if earlier else None
            for literal in (s for c in node.comparators for s in _strings(c)):
                comparisons.append((node.lineno, kind, literal))
    settlements = []
    for resolver, kinds in resolvers.items():
        for node in ast.walk(methods[resolver]):
            if isinstance(node, ast.Tuple) and node.elts and isinstance(node.elts[0], ast.Constant):
                settlements += [(node.lineno, kind, node.elts[0].value) for kind in kinds]
            if isinstance(node, ast.IfExp):
                for branch in (node.body, node.orelse):
                    if isinstance(branch, ast.Tuple) and isinstance(branch.elts[0], ast.Constant):
                        settlements += [(node.lineno, kind, branch.elts[0].value) for kind in kinds]
    return comparisons, settlements


def test_every_outcome_the_workflow_compares_against_is_in_the_table():
    comparisons, settlements = workflow_outcome_uses()
    assert len(comparisons) >= 12 and len(settlements) >= 4  # the parse found them
    every_outcome = {str(o) for kind in TASK_KINDS.values() for o in kind.outcomes}
    wrong = []
    for line, kind, outcome in comparisons:
        if kind is None:
            if outcome not in every_outcome:
                wrong.append(f"workflows/case.py:{line}: '{outcome}' is no task's outcome")
        elif outcome not in {str(o) for o in TASK_KINDS[kind].outcomes}:
            wrong.append(f"workflows/case.py:{line}: '{outcome}' is not an outcome of {kind}")
    for line, kind, outcome in settlements:
        if outcome not in {str(o) for o in TASK_KINDS[kind].settled_by_message}:
            wrong.append(f"workflows/case.py:{line}: {kind} is settled by a message with '{outcome}', "
                         "which its settled_by_message does not list")
    assert not wrong, "\n".join(wrong)


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
