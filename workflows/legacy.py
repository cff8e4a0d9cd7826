"""Paths kept only so that runs started before messages-v2 replay as they ran.

Before messages-v2 a signal's handler applied its message itself (running activities,
interleaved with the main line), the ``complete_task`` update wrote the completion
itself, and the long waits were plain timers. ``tests/histories/v0`` and ``v1`` prove
these still replay. When no case of those releases is open any more, this module goes,
with the ``if not run.v2`` branches that call it (docs/changing-workflows.md).
"""

from __future__ import annotations

import asyncio
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.contract import CaseActivityContract as A
    from casework import keys
    from casework import records as r
    from casework.case import (
        CertificateReceived,
        Event,
        LeftUk,
        OpenTask,
        PersonLocated,
        RepresentationsReceived,
        Stage,
        TaskCompleted,
        TaskCompletion,
        TaskResult,
    )
    from casework.referral import WhereaboutsStatus
    from casework.refusals import RefusalCode
    from casework.tasks import TASK_KINDS, ConsiderationOutcome, PursuitOutcome, validate_outcome

from workflows.context import CaseRun
from workflows.record import CaseRecord

if TYPE_CHECKING:
    from workflows.human_task import HumanTasks, Settler

#: Refused by a run from before messages-v2: the sender signals instead.
UNSUPPORTED = RefusalCode.OLDER_RELEASE.value


class LegacyHandlers:
    """The signal and update bodies of runs before messages-v2."""

    def __init__(self, run: CaseRun, record: CaseRecord) -> None:
        self.run, self.record = run, record

    async def _accept(self, event: Event, action: str, detail: dict[str, Any] | None = None) -> bool:
        """Record a message once (by event ID) in the audit log; False for a repeat."""
        s = self.run.s
        if event.event_id in s.seen_events:
            return False
        s.seen_events.append(event.event_id)
        self.run.last_actor = event.actor
        await self.record.act(A.record_event, r.AuditEvent(
            case_id=s.case_id, at=workflow.now(), event_key=keys.legacy_event_key(event.event_id),
            actor=event.actor, action=action, detail={"event_id": event.event_id, **(detail or {})},
        ))
        return True

    async def located(self, event: PersonLocated) -> None:
        if await self._accept(event, "person located", {"custody": event.custody.value}):
            s = self.run.s
            s.whereabouts = event.custody
            s.release_date = event.release_date
            s.located_by = event.actor
            s.mark_located(event.custody is WhereaboutsStatus.DETAINED)

    async def left_uk(self, event: LeftUk) -> None:
        if await self._accept(event, "left the UK"):
            self.run.s.left_uk = True
            self.run.s.left_uk_by = event.actor

    async def representations(self, event: RepresentationsReceived) -> None:
        if await self._accept(event, "representations received"):
            s = self.run.s
            if s.notice_served_at is not None and s.representations_at is None:
                s.representations_at = workflow.now()

    async def certificate(self, event: CertificateReceived) -> None:
        s = self.run.s
        if event.event_id in s.seen_events:
            return
        s.seen_events.append(event.event_id)
        self.run.last_actor = event.actor
        s.certificates_received += 1
        seq = s.certificates_received
        facts = await self.record.act(A.record_certificate, r.RecordCertificate(
            case_id=s.case_id, at=workflow.now(), seq=seq, certificate_id=event.certificate_id,
            actor=event.actor, event_id=event.event_id,
        ))
        if facts.refused is not None:  # an unknown certificate no longer wedges the case
            return
        if not facts.disclosable:  # R02/R03 again: never kept, never used
            await self.record.act(A.apply_non_disclosable, r.DestroyCertificate(case_id=s.case_id, at=workflow.now(), seq=seq))
            return
        s.most_serious = s.most_serious or facts.most_serious
        s.convictions_disclosable = True
        s.certificate_by = event.actor

    async def complete_task(self, tasks: HumanTasks, cmd: TaskCompletion) -> TaskCompleted:
        """The update wrote the completion itself, beside the main line."""
        s = self.run.s
        tasks.completing.add(cmd.task_key)
        task = s.open_tasks[cmd.task_key]
        # Dates were checked against the business date by the validator; not again here, so an
        # update accepted before that check existed replays as it ran (validators never replay).
        details = validate_outcome(task.kind, cmd.outcome, cmd.details, today=date.max).model_dump(mode="json")
        try:
            await self.record.act(A.complete_task, r.CompleteTask(
                case_id=s.case_id, at=workflow.now(), key=cmd.task_key, outcome=cmd.outcome,
                details=details, actor=cmd.actor,
            ))
        finally:
            tasks.completing.discard(cmd.task_key)
        tasks.finish(task, cmd.outcome, details, cmd.actor)
        return TaskCompleted(task_key=cmd.task_key, outcome=cmd.outcome, stage=s.stage)


async def await_task(tasks: HumanTasks, task: OpenTask, settled_by: Settler | None) -> TaskResult:
    """A task's wait: a timer to the deadline, escalations, then an unbounded wait."""
    run, key = tasks.run, task.key

    def settled() -> bool:
        return key in run.s.results or (
            key not in tasks.completing and settled_by is not None and settled_by() is not None
        )

    deadline = task.due_at
    while not settled():
        tasks.status.waiting(f"{TASK_KINDS[task.kind].title} – {task.team}",
                             deadline if task.escalations < run.settings.max_escalations else None, code=task.kind)
        if task.escalations >= run.settings.max_escalations:
            await workflow.wait_condition(settled)  # reminders are bounded; keep waiting
            break
        try:
            await workflow.wait_condition(
                settled, timeout=max(deadline - workflow.now(), timedelta(seconds=1)),
                timeout_summary=f"deadline: {task.kind}",
            )
        except asyncio.TimeoutError:
            await tasks.escalate(task)
            deadline = workflow.now() + timedelta(days=run.settings.reminder_interval_days)
    return await tasks.settled(task, settled_by)


async def dormant(run: CaseRun) -> Stage:
    """Dormancy (R16) ended by a located message only, or by a long history (the run loop
    then continues as new): many wake-ups while dormant must not grow one run unbounded."""
    await workflow.wait_condition(
        lambda: run.s.located or workflow.info().is_continue_as_new_suggested()
        or workflow.info().get_current_history_length() > run.settings.dormant_history_limit
    )
    return Stage.LOCATED if run.s.located else Stage.DORMANT


async def response_window(run: CaseRun, window: timedelta) -> bool:
    """The Stage 1 window as one timer: True when representations came within it (R43)."""
    s = run.s
    assert s.respond_by is not None
    try:
        await workflow.wait_condition(
            lambda: s.representations_at is not None,
            timeout=max(s.respond_by - workflow.now(), timedelta(seconds=1)),
            timeout_summary=f"Stage 1 response window ({window.days} days)",
        )
        return True
    except asyncio.TimeoutError:
        return False


def not_pursue_decided(run: CaseRun) -> list[str]:
    """R50: the task that recorded the latest decision not to pursue, found among the results."""
    not_pursue = (PursuitOutcome.NOT_PURSUE, ConsiderationOutcome.NOT_PURSUE)
    return [t.key for t in run.s.results.values() if t.outcome in not_pursue][-1:]
