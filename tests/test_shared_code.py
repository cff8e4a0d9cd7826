"""The sandbox still isolates each workflow run, while the workflow module's bytecode is
unmarshalled once per worker (worker/shared_code.py; figures in docs/performance.md)."""

from __future__ import annotations

import ast
import importlib.util
import os
import sys
import time
from pathlib import Path
from types import ModuleType

import workflows
from tests.support import Case, referral, running_worker
from worker import shared_code
from worker.shared_code import SharedCodeFinder, share_workflow_code


def _load(finder: SharedCodeFinder, name: str, path: list[str] | None) -> ModuleType:
    """A fresh module object for ``name``, as the sandbox makes one for each run."""
    spec = finder.find_spec(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_runs_get_fresh_modules_and_classes_but_one_code():
    finder = SharedCodeFinder(frozenset({"workflows"}))
    first = _load(finder, "workflows.case", list(workflows.__path__))
    second = _load(finder, "workflows.case", list(workflows.__path__))
    # Isolation as the sandbox means it: separate globals and classes for every run...
    assert first is not second and first.__dict__ is not second.__dict__
    assert first.CaseWorkflow is not second.CaseWorkflow
    # ...built from the same immutable code, read once.
    assert first.CaseWorkflow.run.__code__ is second.CaseWorkflow.run.__code__


def test_only_the_named_packages_are_handled():
    finder = SharedCodeFinder(frozenset({"workflows"}))
    assert finder.find_spec("casework.rules", None) is None
    assert finder.find_spec("json", None) is None


def test_a_changed_file_is_read_again(tmp_path: Path):
    package = tmp_path / "flows_under_test"
    package.mkdir()
    (package / "__init__.py").write_text("")
    module_file = package / "step.py"
    module_file.write_text("def answer():\n    return 1\n")
    finder = SharedCodeFinder(frozenset({"flows_under_test"}))
    assert _load(finder, "flows_under_test.step", [str(package)]).answer() == 1
    module_file.write_text("def answer():\n    return 2  # changed\n")
    later = time.time() + 5  # a distinct mtime even on a coarse clock
    os.utime(module_file, (later, later))
    assert _load(finder, "flows_under_test.step", [str(package)]).answer() == 2


def test_installing_twice_adds_one_finder():
    share_workflow_code()
    share_workflow_code()
    assert sum(isinstance(f, SharedCodeFinder) for f in sys.meta_path) == 1


async def test_the_sandboxed_case_workflow_loads_through_the_shared_code(dev_env, pool, task_queue):
    """A real worker's sandbox imports workflows/case.py through the finder (build_worker installs it)."""
    shared_code._CODE.clear()
    async with running_worker(dev_env.client, pool, task_queue):
        case = await Case.start(dev_env.client, pool, task_queue, referral())
        await case.task("nbtc_check")
    loaded = {Path(path).name for path, _, _ in shared_code._CODE if Path(path).parent.name == "workflows"}
    # Only the workflows' own modules (and their package's) are executed afresh per run; the
    # case's mechanics are passed through.
    assert "case.py" in loaded and loaded <= {"__init__.py", "case.py", "jobs.py"}, loaded


#: What a module the sandbox passes through may hold at module level: one copy serves every
#: run of every case, so nothing there may change (a run's state lives in its objects).
_IMMUTABLE_CALLS = {"MappingProxyType", "RetryPolicy", "TypeVar", "frozenset", "tuple"}


def _mutable_module_state(tree: ast.Module) -> list[str]:
    """Module-level names bound to something that can change: a list, dict or set, or what a
    call other than an immutable constructor returns; and ``global`` rebinding."""
    found = []
    for node in tree.body:
        value = node.value if isinstance(node, (ast.Assign, ast.AnnAssign)) else None
        if isinstance(value, (ast.List, ast.Dict, ast.Set, ast.ListComp, ast.DictComp, ast.SetComp)):
            found.append(f"line {node.lineno}: a mutable container at module level")
        elif isinstance(value, ast.Call) and not (isinstance(value.func, ast.Name) and value.func.id in _IMMUTABLE_CALLS):
            found.append(f"line {node.lineno}: {ast.unparse(value.func)}(...) at module level")
    for node in ast.walk(tree):
        if isinstance(node, ast.Global):
            found.append(f"line {node.lineno}: global {', '.join(node.names)}")
    return found


def test_the_workflow_mechanics_passed_through_hold_no_module_state():
    assert _mutable_module_state(ast.parse("CACHE = {}")) and _mutable_module_state(ast.parse("SEEN = set()"))
    assert _mutable_module_state(ast.parse("def f():\n    global N\n    N = 1"))
    assert not _mutable_module_state(ast.parse("R = MappingProxyType({1: 2})\nT = (1, 2)\nN = 3"))
    root = Path(workflows.__path__[0])
    wrong = {p.name: found for p in sorted(root.glob("*.py")) if p.name not in ("case.py", "client.py", "jobs.py")
             if (found := _mutable_module_state(ast.parse(p.read_text())))}
    assert not wrong, wrong
