"""The case's inbox (workflows/inbox.py), on its own: exact repeats are dropped on receipt,
and receiving costs the same however long the queue is (issue 25 item 9: the handler's
scan of the queue made a backlog's cost grow with its square). Operations are counted,
not timed."""

from __future__ import annotations

import asyncio
import contextlib
from types import SimpleNamespace
from typing import Any

import pytest

import workflows.inbox as inbox_module
from casework.case import CaseState, EventResult, Inbound, LeftUk, PersonLocated, TaskCompletion
from workflows.inbox import Inbox


def _inbox(state: CaseState | None = None) -> Inbox:
    run = SimpleNamespace(s=state or CaseState(case_id="acro-case-T1"), count=lambda *a, **k: None)
    inbox = Inbox(run)  # type: ignore[arg-type]

    async def applied(_: Any) -> tuple[EventResult, str]:
        return EventResult.APPLIED, "applied"

    inbox.applies_with(applied, applied)
    return inbox


@pytest.fixture
def operations(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every message key and content hash the inbox computes, in order."""
    done: list[str] = []
    for name in ("message_key", "content_hash"):
        real = getattr(inbox_module, name)

        def counting(*args: Any, _real: Any = real, _name: str = name) -> Any:
            done.append(_name)
            return _real(*args)

        monkeypatch.setattr(inbox_module, name, counting)
    return done


def test_receiving_a_signal_costs_the_same_with_a_backlog_of_thousands(operations: list[str]) -> None:
    inbox = _inbox()
    per_signal = []
    for n in range(3000):
        before = len(operations)
        inbox.receive(PersonLocated(event_id=f"ice-{n}", actor="ice.system"))
        per_signal.append(len(operations) - before)
    assert len(inbox) == 3000
    assert set(per_signal) == {2}, f"first {per_signal[:3]}, last {per_signal[-3:]}"  # one key, one hash: never the queue


def test_an_exact_repeat_is_dropped_and_other_content_under_the_same_id_is_queued() -> None:
    inbox = _inbox()
    first = PersonLocated(event_id="ice-1", actor="ice.system", custody="detained")
    inbox.receive(first)
    inbox.receive(PersonLocated(event_id="ice-1", actor="ice.system", custody="detained"))  # exact repeat
    inbox.receive(PersonLocated(event_id="ice-1", actor="ice.system", custody="confirmed_address"))  # a conflict: applied to be refused
    inbox.receive(LeftUk(event_id="ice-1", actor="nbtc.system"))  # same ID, another kind: another message
    assert [(type(i.event).__name__, i.event.event_id) for i in inbox.run.s.inbox] == [
        ("PersonLocated", "ice-1"), ("PersonLocated", "ice-1"), ("LeftUk", "ice-1")]


async def test_once_applied_a_message_is_forgotten_by_the_queue_and_remembered_by_the_case() -> None:
    inbox = _inbox()
    event = PersonLocated(event_id="ice-2", actor="ice.system")
    inbox.receive(event)
    await inbox.apply_next()
    assert not inbox
    inbox.receive(event)  # the queue no longer holds it: the case's recent_events answers repeats
    assert len(inbox) == 1
    inbox.run.s.recent_events[inbox_module.message_key(inbox_module.kind_of(event), event.event_id)] = \
        inbox_module.content_hash(event)
    await inbox.apply_next()
    inbox.receive(event)
    assert not inbox


def test_a_carried_queue_is_counted_when_the_next_run_starts() -> None:
    """Continue-as-new carries queued signals (CaseState.inbox): the new run's inbox knows them."""
    carried = PersonLocated(event_id="ice-3", actor="ice.system")
    state = CaseState(case_id="acro-case-T1", inbox=[Inbound.of(carried)])
    inbox = _inbox(state)
    inbox.receive(carried)
    assert len(inbox) == 1
    assert not inbox.holds_completion("nbtc_check-1") and not inbox.senders_waiting()


async def test_a_queued_completion_is_known_by_its_task_until_applied() -> None:
    inbox = _inbox()
    # Queued as the update's handler queues it (its wait for the receipt needs a workflow: not run here).
    completing = asyncio.ensure_future(inbox.complete(TaskCompletion(task_key="nbtc_check-1", outcome="in_uk",
                                                                     actor="nbtc.finn")))
    await asyncio.sleep(0)
    assert inbox.holds_completion("nbtc_check-1") and inbox.senders_waiting()
    await inbox.apply_next()
    assert not inbox.holds_completion("nbtc_check-1") and not inbox.senders_waiting()
    with contextlib.suppress(BaseException):
        await completing
