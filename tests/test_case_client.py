"""One client side of the case workflow (workflows/client.py): every caller goes through
``CaseClient``, which names the workflow's methods by reference, never by string."""

from __future__ import annotations

import ast
from pathlib import Path

from temporalio import workflow

from casework.case import Event
from workflows.case import CaseWorkflow
from workflows.client import _SIGNAL_OF, CaseEvent

ROOT = Path(__file__).resolve().parent.parent
#: Everything that acts on cases: the product, the benchmark and the tests' drivers.
CALLERS = [p for d in ("starter", "bench", "worker", "codec_server", "casework", "cid", "activities")
           for p in (ROOT / d).rglob("*.py")] + [ROOT / "tests" / n for n in ("support.py", "fault_support.py", "cli_support.py")]
#: The names the server records for the case workflow's signals, update and query.
CASE_NAMES = {
    defn.name for defn in (
        *workflow._Definition.must_from_class(CaseWorkflow).signals.values(),
        *workflow._Definition.must_from_class(CaseWorkflow).updates.values(),
        *workflow._Definition.must_from_class(CaseWorkflow).queries.values(),
    ) if defn.name
}
CASE_METHODS = {"run", "person_located", "left_uk_signal", "certificate_received", "representations_received",
                "complete_task", "view"}


def test_every_event_type_has_its_signal():
    assert set(_SIGNAL_OF) == set(Event.__subclasses__()) == set(CaseEvent.__args__)
    for event_type, method in _SIGNAL_OF.items():
        assert workflow._SignalDefinition.from_fn(method) is not None, event_type


def test_only_the_client_calls_the_workflow():
    """No caller signals, updates or queries a case by name, or by method outside the client."""
    assert {"complete_task", "view", "person_located", "left_uk"} <= CASE_NAMES
    found = []
    for path in CALLERS:
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            where = f"{path.relative_to(ROOT)}:{getattr(node, 'lineno', '?')}"
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "CaseWorkflow" \
                    and node.attr in CASE_METHODS:
                found.append(f"{where}: CaseWorkflow.{node.attr}")
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                    and node.func.attr in {"signal", "execute_update", "start_update", "query"} and node.args \
                    and isinstance(node.args[0], ast.Constant) and node.args[0].value in CASE_NAMES:
                found.append(f"{where}: {node.func.attr}({node.args[0].value!r})")
    assert not found, "use workflows.client.CaseClient instead:\n" + "\n".join(found)
