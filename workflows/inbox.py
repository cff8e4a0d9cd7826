"""The case's inbox (messages-v2): messages and completions received by the handlers,
applied by the main line one at a time, in order of arrival.

A handler only checks and queues (``receive``, ``deliver``, ``complete``): no I/O, never a
wait, so no message can block the case and two never interleave. The main line applies
the oldest item inside every long wait (``apply_next``, workflows/waits.py) and a sender
who waits (an update) gets the case's own receipt of what it did. docs/design.md, "Messages".
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Awaitable, Callable

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from casework import metrics
    from casework.refusals import Refusal
    from casework.case import Event, EventReceipt, EventResult, Inbound, TaskCompletion, content_hash, kind_of, message_key

from workflows.context import CaseRun

#: What applying a message or a completion did: its result and what to tell the sender
#: (a refusal as a value: its code and rule travel with the receipt).
Applied = tuple[EventResult, "str | Refusal"]


@dataclass(frozen=True)
class CompletionReceipt:
    """What the case did with a person's completion of a task (the update answers from it)."""

    task_key: str
    result: EventResult
    detail: str
    refusal: Refusal | None = None


class Inbox:
    def __init__(self, run: CaseRun) -> None:
        self.run = run
        # Answers for senders who wait, by ticket (never carried: such items are applied
        # before a run continues as new).
        self._tickets = 0
        self._receipts: dict[int, EventReceipt | CompletionReceipt] = {}
        self._apply_event: Callable[[Event], Awaitable[Applied]] | None = None
        self._apply_completion: Callable[[TaskCompletion], Awaitable[Applied]] | None = None
        # What is queued, counted: signals by (kind:event ID, content hash), completions by
        # task, items whose sender waits. A handler's or validator's check then costs the same
        # with 5 or 5,000 queued (issue 25 item 9: a scan of the queue per signal grew with
        # the square of a backlog). Rebuilt from the carried queue at each run's start.
        self._signals: Counter[tuple[str, str]] = Counter(_signal_key(i.event) for i in run.s.inbox if _is_signal(i))
        self._completions: Counter[str] = Counter(i.completion.task_key for i in run.s.inbox if i.completion is not None)
        self._waiting = sum(1 for i in run.s.inbox if i.ticket is not None)

    def applies_with(self, events: Callable[[Event], Awaitable[Applied]],
                     completions: Callable[[TaskCompletion], Awaitable[Applied]]) -> None:
        """What applies a message (workflows/messages.py) and a completion (workflows/human_task.py)."""
        self._apply_event, self._apply_completion = events, completions

    # ------------------------------------------------------------ receiving (handlers)

    def receive(self, event: Event) -> None:
        """A signal: queue it unless it is an exact repeat of one applied or queued already."""
        key = _signal_key(event)
        if self.run.s.recent_events.get(key[0]) == key[1] or self._signals[key]:
            return
        self.run.s.inbox.append(Inbound.of(event))
        self._signals[key] += 1

    async def deliver(self, event: Event) -> EventReceipt:
        """A message whose sender waits for the case's answer."""
        ticket = self._ticket()
        self.run.s.inbox.append(Inbound.of(event, ticket=ticket))
        self._waiting += 1
        receipt = await self._receipt(ticket)
        assert isinstance(receipt, EventReceipt)
        return receipt

    async def complete(self, cmd: TaskCompletion) -> CompletionReceipt:
        """A person's completion of a task, applied in its turn like a message."""
        ticket = self._ticket()
        self.run.s.inbox.append(Inbound(completion=cmd, ticket=ticket))
        self._waiting += 1
        self._completions[cmd.task_key] += 1
        receipt = await self._receipt(ticket)
        assert isinstance(receipt, CompletionReceipt)
        return receipt

    def _ticket(self) -> int:
        self._tickets += 1
        return self._tickets

    async def _receipt(self, ticket: int) -> EventReceipt | CompletionReceipt:
        await workflow.wait_condition(lambda: ticket in self._receipts)
        return self._receipts.pop(ticket)

    # ------------------------------------------------------------ what is queued

    def __len__(self) -> int:
        return len(self.run.s.inbox)

    def __bool__(self) -> bool:
        return bool(self.run.s.inbox)

    def senders_waiting(self) -> bool:
        """Whether a queued item's sender waits for an answer (an update)."""
        return self._waiting > 0

    def holds_completion(self, task_key: str) -> bool:
        return self._completions[task_key] > 0

    # ------------------------------------------------------------ applying (main line)

    async def apply_next(self) -> None:
        """Apply the oldest queued message or completion, and answer its sender if one waits."""
        assert self._apply_event is not None and self._apply_completion is not None
        s = self.run.s
        item = s.inbox.pop(0)
        if _is_signal(item):
            _forget(self._signals, _signal_key(item.event))
        if item.completion is not None:
            _forget(self._completions, item.completion.task_key)
        receipt: EventReceipt | CompletionReceipt
        if item.completion is not None:
            result, said = await self._apply_completion(item.completion)
            receipt = CompletionReceipt(task_key=item.completion.task_key, result=result, detail=str(said),
                                        refusal=said if isinstance(said, Refusal) else None)
        else:
            event = item.event
            result, said = await self._apply_event(event)
            refused = said if isinstance(said, Refusal) else None
            receipt = EventReceipt(kind=kind_of(event), event_id=event.event_id, result=result, detail=str(said),
                                   stage=s.stage, code=refused.code if refused else None,
                                   rule=refused.rule if refused else None)
            self.run.count(metrics.MESSAGES, kind=receipt.kind.value, result=result.value)
        if item.ticket is not None:
            self._waiting -= 1
            self._receipts[item.ticket] = receipt

    async def answer_all(self) -> None:
        """The case has closed: what is still queued is answered (and recorded), not dropped."""
        while self.run.s.inbox or not workflow.all_handlers_finished():
            if self.run.s.inbox:
                await self.apply_next()
            else:
                await workflow.wait_condition(lambda: bool(self.run.s.inbox) or workflow.all_handlers_finished())


def _is_signal(item: Inbound) -> bool:
    return item.ticket is None and item.completion is None


def _signal_key(event: Event) -> tuple[str, str]:
    """What makes a message an exact repeat: its kind and event ID, and its content."""
    return message_key(kind_of(event), event.event_id), content_hash(event)


def _forget(counts: Counter, key: object) -> None:
    counts[key] -= 1
    if counts[key] <= 0:
        del counts[key]
