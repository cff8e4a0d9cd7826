"""Activities are a contract by reference (issue 19, item 2): the workflow calls each by
its method on ``CaseActivityContract`` (activities/contract.py), never by a string, and
the worker registers ``CaseActivities``' bound methods from the contract's own list."""

from __future__ import annotations

import ast
import json
from pathlib import Path

from temporalio import activity

from activities.case_activities import CaseActivities
from activities.contract import CaseActivityContract, activity_names
from casework.settings import ProcessSettings

ROOT = Path(__file__).resolve().parent.parent
#: The SDK's ways of starting an activity from a workflow.
STARTERS = {"execute_activity", "start_activity", "execute_local_activity", "start_local_activity",
            "execute_activity_method", "start_activity_method", "execute_local_activity_method",
            "start_local_activity_method", "execute_activity_class", "start_activity_class"}


def string_named_activity_calls(tree: ast.AST) -> list[int]:
    """Lines that start an activity by a name (a string) rather than by its function."""
    found = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in STARTERS):
            continue
        first = node.args[0] if node.args else next((k.value for k in node.keywords if k.arg == "activity"), None)
        if first is None or isinstance(first, (ast.Constant, ast.JoinedStr, ast.BinOp)) or (
                isinstance(first, ast.Call) and isinstance(first.func, ast.Name) and first.func.id == "str"):
            found.append(node.lineno)
    return found


def act_calls(tree: ast.AST) -> list[tuple[int, ast.expr | None]]:
    """``<record>.act(X, ...)``: (line, X) for every call of the workflow's one activity helper."""
    return [(node.lineno, node.args[0] if node.args else None) for node in ast.walk(tree)
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "act"]


def workflow_modules() -> list[Path]:
    return [p for p in sorted((ROOT / "workflows").glob("*.py")) if p.name != "client.py"]


def test_no_activity_is_called_by_a_string_name() -> None:
    # The check itself catches what it is for.
    assert string_named_activity_calls(ast.parse('workflow.execute_activity("record_referral", cmd)')) == [1]
    assert string_named_activity_calls(ast.parse('workflow.start_activity(activity=f"{x}", args=[])')) == [1]
    assert string_named_activity_calls(ast.parse("workflow.execute_activity_method(A.record_referral, cmd)")) == []
    wrong = {str(p.relative_to(ROOT)): lines for p in workflow_modules()
             if (lines := string_named_activity_calls(ast.parse(p.read_text())))}
    assert not wrong, f"call activities by their method on CaseActivityContract, not by name: {wrong}"


def test_every_activity_call_names_a_method_of_the_contract() -> None:
    names = set(activity_names())
    calls = [(p, line, arg) for p in workflow_modules() for line, arg in act_calls(ast.parse(p.read_text()))]
    assert len(calls) >= 20  # the parse found them
    wrong = [f"{p.relative_to(ROOT)}:{line}" for p, line, arg in calls
             if p.name != "record.py" and not (isinstance(arg, ast.Attribute) and isinstance(arg.value, ast.Name)
                                               and arg.value.id == "A" and arg.attr in names)]
    assert not wrong, f"not A.<activity of the contract>: {wrong}"
    # The helper itself starts activities only by method reference.
    record = ast.parse((ROOT / "workflows" / "record.py").read_text())
    starters = [n.func.attr for n in ast.walk(record)
                if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and n.func.attr in STARTERS]
    # (a decision is recorded by a local activity, issue 20, still by method reference)
    assert sorted(starters) == ["execute_activity_method", "execute_local_activity_method"]


def test_the_worker_registers_every_activity_of_the_contract_under_its_recorded_name() -> None:
    registered = CaseActivities(None, ProcessSettings()).registered()  # type: ignore[arg-type]
    contract = {name: activity._Definition.must_from_callable(getattr(CaseActivityContract, name))
                for name in activity_names()}
    assert len(contract) == 17  # record_decision (issue 20)
    assert [activity._Definition.must_from_callable(m).name for m in registered] == list(contract)
    for method in registered:
        name = activity._Definition.must_from_callable(method).name
        assert method.__func__ is not getattr(CaseActivityContract, name), f"{name} is not implemented"
        assert activity._Definition.must_from_callable(method).ret_type == contract[name].ret_type, name


def test_the_jobs_activities_are_registered_from_their_contract_too() -> None:
    from activities.contract import JobActivityContract
    from activities.jobs import JobActivities

    registered = JobActivities(None).registered()  # type: ignore[arg-type]
    assert [activity._Definition.must_from_callable(m).name for m in registered] == activity_names(JobActivityContract)
    assert all(m.__func__ is not getattr(JobActivityContract, m.__name__) for m in registered)


def test_every_activity_a_recorded_history_ran_is_in_the_contract() -> None:
    """Renaming one would leave live cases unable to run it: the names are histories'."""
    ran = {e["activityTaskScheduledEventAttributes"]["activityType"]["name"]
           for path in sorted((ROOT / "tests" / "histories").glob("v*/*.json"))
           for e in json.loads(path.read_text())["events"] if "activityTaskScheduledEventAttributes" in e}
    assert len(ran) >= 14 and ran <= set(activity_names()), ran - set(activity_names())
