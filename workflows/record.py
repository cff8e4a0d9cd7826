"""What a case writes to the CID, through its activities, called by method reference:
its stage transitions, messages, notes and audit entries.

A stage re-entered after continue-as-new resumes instead of writing again: each write
of a stage visit happens once (``first_time``, messages-v2).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Awaitable, Callable, TypeVar

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from activities.contract import CaseActivityContract as A
    from casework import metrics, rules
    from casework import records as r
    from casework.case import Stage
    from casework.decisions import Decision
    from casework.keys import Recipient

from workflows.context import CaseRun
from workflows.status import CaseStatus

# A database outage must not fail a case: activities retry, backing off to a minute, forever.
# (A message no retry can make right, an unknown certificate, is answered by its activity.)
ACTIVITY_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(minutes=1))
T = TypeVar("T")


class CaseRecord:
    def __init__(self, run: CaseRun, status: CaseStatus) -> None:
        self.run = run
        self.status = status

    async def act(self, activity: Callable[..., Awaitable[T]], cmd: Any = None, *, timeout: timedelta | None = None) -> T:
        """Run one activity of the contract (``A.<name>``) with the case's retry policy."""
        # The timeout is configuration (30 s unless set): a lost activity is retried after it.
        return await workflow.execute_activity_method(
            activity, args=[] if cmd is None else [cmd],
            start_to_close_timeout=timeout or timedelta(seconds=self.run.settings.activity_timeout_seconds),
            retry_policy=ACTIVITY_RETRY, summary=activity.__name__.replace("_", " "),
        )

    def first_time(self, step: str | None) -> bool:
        """messages-v2: True the first time ``step`` is reached in this stage visit (a stage
        re-entered after continue-as-new skips what it did); always True for earlier runs."""
        if step is None or not self.run.v2:
            return True
        if step in self.run.s.visit_steps:
            return False
        self.run.s.visit_steps.append(step)
        return True

    async def set_stage(self, *, step: str | None = None, action: str = r.STAGE_ENTERED, **fields: Any) -> None:
        s = self.run.s
        if not self.first_time(step and f"stage:{step}"):
            return
        s.transitions += 1
        await self.act(A.set_stage, r.SetStage(
            case_id=s.case_id, at=workflow.now(), stage=s.stage, seq=s.transitions, action=action, **fields
        ))

    async def message(self, key: str, recipient: Recipient, form: str, body: dict[str, Any], *,
                      step: str | None = None) -> None:
        if not self.first_time(f"message:{step or key}"):
            return
        await self.act(A.send_message, r.SendMessage(
            case_id=self.run.s.case_id, at=workflow.now(), key=key, recipient=recipient, form=form, body=body,
        ))

    async def note(self, key: str, text: str) -> None:
        if not self.first_time(f"note:{key}"):
            return
        await self.act(A.add_note, r.AddNote(case_id=self.run.s.case_id, at=workflow.now(), key=key, text=text))

    async def audit(self, key: str, action: str, detail: dict[str, Any], at: datetime | None = None) -> None:
        await self.act(A.record_event, r.AuditEvent(
            case_id=self.run.s.case_id, at=at or workflow.now(), event_key=key, actor=r.SYSTEM_ACTOR,
            action=action, detail=detail,
        ))

    async def decide(self, step: str, decision: Decision, *, actor: str = r.SYSTEM_ACTOR) -> Decision:
        """Issue 20: record ``decision`` as taken at ``step`` (decisions-v1), once per case and
        step. A local activity: one marker in history, no task queue round trip."""
        # The number of the case's last transition tells apart a stage's visits (Stage E twice).
        step = f"{step}@{self.run.s.transitions}"
        if self.run.records_decisions and self.first_time(f"decision:{step}"):
            await workflow.execute_local_activity_method(
                A.record_decision, r.RecordDecision(
                    case_id=self.run.s.case_id, at=workflow.now(), step=step, actor=actor, rule=decision.rule,
                    outcome=decision.outcome, subject=decision.subject, facts=[f.stored() for f in decision.facts],
                ),
                start_to_close_timeout=timedelta(seconds=self.run.settings.activity_timeout_seconds),
                retry_policy=ACTIVITY_RETRY, summary="record decision",
            )
        return decision

    async def restricted(self, rule: str) -> None:
        """R05/R15/R53: a withheld section of the guidance; recorded as reached, nothing invented."""
        if not self.first_time(f"restricted:{rule}"):
            return
        await self.act(A.restricted_step, r.RestrictedStep(case_id=self.run.s.case_id, at=workflow.now(), rule=rule))

    async def enter(self, stage: Stage) -> bool:
        """A stage transition, recorded in the CID; False when the case stays where it is."""
        s = self.run.s
        if stage is s.stage:
            return False
        leaving = s.stage
        s.stage = stage
        if self.run.v2:
            # A new stage visit: what the last one did is in the CID; the state keeps none of it.
            s.visit_tasks.clear()
            s.visit_steps.clear()
            s.results.clear()
        self.run.count(metrics.STAGE_TRANSITIONS, stage=stage.value)
        if stage is Stage.CLOSED:
            s.open_tasks.clear()
            self.status.waiting(None)
            await self.act(A.close_case, r.CloseCase(case_id=s.case_id, at=workflow.now(), outcome=s.outcome or ""))
            self.run.count(metrics.CASES_CLOSED, closed_from=leaving.value)
        elif stage is Stage.DORMANT:
            s.dormant_periods += 1
            s.outcome = rules.OUTCOME_LIABLE_TO_DEPORT
            await self.set_stage(status="dormant", outcome=s.outcome)
        elif leaving is Stage.DORMANT:
            s.outcome = None  # open again: no longer "liable to deport – wanted/missing"
            await self.set_stage(status="open", clear_outcome=True)
        else:
            await self.set_stage()
        return True
