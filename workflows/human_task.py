"""The human task: open it in the CID's inbox, wait for its outcome with a deadline,
escalate when the deadline passes, let a message settle it, and tell the loser of a race
who won. Which outcomes are legal, and what each records, is the task table's
(casework/tasks.py); the update's validator asks it, and R30, before anything is written.
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from enum import StrEnum
from typing import Any, Callable

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.contract import CaseActivityContract as A
    from casework import metrics, rules
    from casework import records as r
    from casework.case import DoneTask, EventResult, OpenTask, Stage, TaskCompletion, TaskResult
    from casework.refusals import Refusal, RefusalCode, error
    from casework.tasks import (
        CASE_OWNER,
        SENIOR_CASEWORKER,
        TASK_KINDS,
        AwaitCertificateOutcome,
        ConsiderationOutcome,
        IceTaskingOutcome,
        LeftUkReviewOutcome,
        NbtcCheckOutcome,
        OutcomeRefused,
        PursuitOutcome,
        convictions_refusal,
        validate_outcome,
    )
    # The one policy (pure: no I/O, no clock), so the validator asks what the API asks.
    from access.policy import Action, CaseRef, TaskRef, decide
    from access.principal import Kind, Principal

from workflows import legacy
from workflows.context import CaseRun
from workflows.continuing import Continuing
from workflows.inbox import Applied, Inbox
from workflows.record import CaseRecord
from workflows.status import CaseStatus
from workflows.waits import Waits

#: An update's details larger than this (as JSON) are refused by the validator, unread.
MAX_DETAILS_BYTES = 16_000
#: Tasks settled lately that a case remembers, to tell a late completion who won (docs/design.md, "Messages").
RECENT_DONE = 20
#: A completion whose acting principal the policy refuses for the task (the API answers 403).
NOT_PERMITTED = RefusalCode.NOT_PERMITTED.value
#: R40: a dormant case (R16) has nothing open and nothing is decided on it until the person is located.
DORMANT_REFUSAL = ("R40: case {case_id} is dormant (R16: the person has not been located): no decision is made "
                   "and no task {key} is open on it until a 'person located' message")
#: A message that settles a task: its outcome and who sent it (the task is credited to them).
Settlement = tuple[StrEnum, str]
Settler = Callable[[], "Settlement | None"]
#: R50: the outcomes that record a decision not to pursue deportation.
_NOT_PURSUE = (PursuitOutcome.NOT_PURSUE, ConsiderationOutcome.NOT_PURSUE)


class HumanTasks:
    def __init__(self, run: CaseRun, record: CaseRecord, status: CaseStatus, waits: Waits,
                 inbox: Inbox, continuing: Continuing) -> None:
        self.run, self.record, self.status, self.waits = run, record, status, waits
        self.inbox, self.continuing = inbox, continuing
        #: How many tasks of each kind this stage visit has asked for (the nth is remembered).
        self._visit_counts: dict[str, int] = {}
        #: Runs before messages-v2: tasks whose completion update is being written.
        self.completing: set[str] = set()

    def new_visit(self) -> None:
        self._visit_counts.clear()

    # ------------------------------------------------------------ open, wait, settle

    async def open(self, kind: str, *, awaited: bool = True) -> OpenTask:
        """Open a task of ``kind`` in the CID's inbox: its team, its deadline. The one way."""
        s = self.run.s
        spec = TASK_KINDS[kind]
        seq = s.task_seq[kind] = s.task_seq.get(kind, 0) + 1
        key = f"{kind}-{seq}"
        team = self._team_for(spec.team)
        due_at = workflow.now() + self.run.settings.deadline(kind)
        await self.record.act(A.open_task, r.OpenInboxTask(
            case_id=s.case_id, at=workflow.now(), key=key, kind=kind, title=spec.title, team=team, due_at=due_at,
        ))
        task = s.open_tasks[key] = OpenTask(key=key, kind=kind, team=team, due_at=due_at,
                                            next_deadline=due_at if awaited else None)
        self.run.count(metrics.TASKS_OPENED, kind=kind)
        return task

    async def done(self, kind: str, *, settled_by: Settler | None = None) -> TaskResult:
        """A task the case waits on: its outcome, a person's or the message's that settled it.
        Past the deadline it escalates to a senior caseworker, marks the case overdue and
        keeps waiting, reminding a bounded number of times.

        messages-v2: the nth task of a kind in a stage visit is remembered, so a stage
        re-entered after continue-as-new gets its result, or resumes waiting on it with its
        deadline and escalations, instead of opening it again.
        """
        s = self.run.s
        memo = f"{kind}#{self._visit_counts.setdefault(kind, 0) + 1}"
        self._visit_counts[kind] += 1
        key = s.visit_tasks.get(memo) if self.run.v2 else None
        if key is not None and key in s.results:
            return s.results[key]
        if key is None or key not in s.open_tasks:
            key = (await self.open(kind)).key
            if self.run.v2:
                s.visit_tasks[memo] = key
        task = s.open_tasks[key]
        if not self.run.v2:
            return await legacy.await_task(self, task, settled_by)

        def settled() -> bool:
            return key in s.results or (settled_by is not None and settled_by() is not None)

        while not settled():
            bounded = task.escalations >= self.run.settings.max_escalations
            self.status.waiting(f"{TASK_KINDS[kind].title} – {task.team}", None if bounded else task.next_deadline,
                                code=task.kind)
            if await self.waits.until(settled, until=None if bounded else task.next_deadline,
                                      summary=f"deadline: {task.kind}"):
                break
            await self.escalate(task)
            task.next_deadline = workflow.now() + timedelta(days=self.run.settings.reminder_interval_days)
        return await self.settled(task, settled_by)

    async def settled(self, task: OpenTask, settled_by: Settler | None) -> TaskResult:
        """The outcome of a settled task: a person's, or the message's that settled it (recorded now)."""
        s = self.run.s
        if task.key in s.results:
            return s.results[task.key]
        assert settled_by is not None
        outcome, actor = settled_by()  # type: ignore[misc]
        await self.record.act(A.complete_task, r.CompleteTask(
            case_id=s.case_id, at=workflow.now(), key=task.key, outcome=outcome, actor=actor,
        ))
        return self.finish(task, outcome, {}, actor)

    def finish(self, task: OpenTask, outcome: str, details: dict[str, Any], actor: str) -> TaskResult:
        s = self.run.s
        result = TaskResult(key=task.key, kind=task.kind, outcome=outcome, details=details, actor=actor, at=workflow.now())
        s.results[task.key] = result
        s.open_tasks.pop(task.key, None)
        if self.run.v2_decided:
            if outcome in _NOT_PURSUE:
                s.not_pursue_task = task.key
            s.recent_done.append(DoneTask(key=task.key, outcome=outcome, actor=actor, at=result.at))
            del s.recent_done[:-RECENT_DONE]
        return result

    async def escalate(self, task: OpenTask) -> None:
        """A missed deadline: the task and case are overdue, a senior caseworker reviews it."""
        s = self.run.s
        task.escalations += 1
        task.overdue = True
        review_key = f"overdue_review-{task.key}-{task.escalations}"
        review_due = workflow.now() + self.run.settings.deadline("overdue_review")
        await self.record.act(A.escalate_task, r.EscalateTask(
            case_id=s.case_id, at=workflow.now(), key=task.key, number=task.escalations,
            review_key=review_key, review_team=SENIOR_CASEWORKER, review_due_at=review_due,
        ))
        s.open_tasks[review_key] = OpenTask(key=review_key, kind="overdue_review", team=SENIOR_CASEWORKER, due_at=review_due)
        self.run.count(metrics.TASKS_ESCALATED, kind=task.kind)

    def _team_for(self, team: str) -> str:
        s = self.run.s
        return (s.case_owner or s.team or "unallocated") if team == CASE_OWNER else team

    # ------------------------------------------------------------ completions

    async def apply_completion(self, cmd: TaskCompletion) -> Applied:
        """A person's completion, in its turn in the inbox; the loser of a race is told who won."""
        s = self.run.s
        done = self.who_settled(cmd.task_key)
        if done is not None:
            return EventResult.REFUSED, Refusal(RefusalCode.TASK_DONE,
                                                f"task {cmd.task_key} was already {done}; your outcome was not recorded")
        task = s.open_tasks.get(cmd.task_key)
        if task is None:
            return EventResult.REFUSED, self._no_open_task(cmd.task_key)
        refusal = self.refusal(task, cmd)  # the case may have changed since the validator ran
        if refusal is not None:
            return EventResult.REFUSED, refusal
        details = validate_outcome(task.kind, cmd.outcome, cmd.details, today=date.max).model_dump(mode="json")
        await self.record.act(A.complete_task, r.CompleteTask(
            case_id=s.case_id, at=workflow.now(), key=cmd.task_key, outcome=cmd.outcome,
            details=details, actor=cmd.actor,
        ))
        self.finish(task, cmd.outcome, details, cmd.actor)
        if task.kind == "left_uk_review" and cmd.outcome == LeftUkReviewOutcome.LEFT_UK:
            s.left_uk_confirmed = True  # R11: the stage in hand gives way to closure
        return EventResult.APPLIED, f"task {cmd.task_key} completed: {cmd.outcome}"

    def who_settled(self, key: str) -> str | None:
        """Who settled task ``key`` and how, when it was settled recently."""
        s = self.run.s
        for done in reversed(s.recent_done):
            if done.key == key:
                return f"completed by {done.actor} at {done.at:%Y-%m-%d %H:%M} UTC ({done.outcome})"
        if key in s.results:  # runs before messages-v2 kept every result
            t = s.results[key]
            return f"completed by {t.actor} at {t.at:%Y-%m-%d %H:%M} UTC ({t.outcome})"
        return None

    def check(self, cmd: TaskCompletion) -> None:
        """The update's validator: refuse before anything is written - an unknown or finished
        task, a principal the policy refuses, an illegal outcome or details, R30."""
        s = self.run.s
        done = self.who_settled(cmd.task_key)
        if done is not None:
            raise error(Refusal(RefusalCode.TASK_DONE, f"task {cmd.task_key} is already done: {done}"))
        task = s.open_tasks.get(cmd.task_key)
        if task is None:
            raise error(self._no_open_task(cmd.task_key))
        if cmd.acting is not None and self.run.acting_checked:
            why = self._acting_refusal(task, cmd)
            if why is not None:
                raise error(Refusal(RefusalCode.NOT_PERMITTED, why))
        if cmd.task_key in self.completing or self.inbox.holds_completion(cmd.task_key):
            raise error(Refusal(RefusalCode.TASK_BEING_COMPLETED, f"task {cmd.task_key} is being completed already"))
        self.continuing.refuse_when_busy()
        refusal = details_refusal(cmd.details) or self.refusal(task, cmd)
        if refusal is not None:
            raise error(refusal)

    def _no_open_task(self, key: str) -> Refusal:
        """Why nothing can be completed: a dormant case is waiting for the person to be
        located, and nothing is decided on it till then (R40, R16; issue 25 item 3)."""
        s = self.run.s
        if s.stage is Stage.DORMANT:
            return Refusal(RefusalCode.CASE_DORMANT, DORMANT_REFUSAL.format(case_id=s.case_id, key=key))
        return Refusal(RefusalCode.NO_OPEN_TASK, f"case {s.case_id} has no open task {key}")

    def _acting_refusal(self, task: OpenTask, cmd: TaskCompletion) -> str | None:
        """Why the principal the API verified may not complete this task (None: it may).

        The actor recorded must be that principal, and the policy must allow it on the task
        as the case knows it: its team (or owner) and whether it is overdue. The assignee is
        not known here (claims live in the CID): the API checks it; this check asks what the
        policy asks of an unclaimed task, which every assignee passes too (a task is claimed
        or assigned only by or to someone who may do it). Pure and without the clock: a
        validator never replays, and this one would replay the same anyway.
        """
        acting = cmd.acting
        assert acting is not None
        if acting.subject != cmd.actor:
            return f"the actor ({cmd.actor}) must be the authenticated subject ({acting.subject})"
        who = Principal(subject=acting.subject, kind=Kind.PERSON, roles=frozenset(acting.roles), teams=frozenset(acting.teams))
        case = CaseRef(self.run.s.case_id, team=self.run.s.team, case_owner=self.run.s.case_owner)
        decision = decide(who, Action.COMPLETE_TASK, TaskRef(case, task.key, task.kind, task.team, overdue=task.overdue))
        return None if decision else f"{acting.subject} may not: {decision.reason}"

    def refusal(self, task: OpenTask, cmd: TaskCompletion) -> Refusal | None:
        """Why this outcome may not be recorded now (None: it may), as the case stands."""
        return outcome_refusal(task.kind, cmd.outcome, cmd.details, disclosable=self.run.s.convictions_disclosable,
                               today=workflow.now().date())


def outcome_refusal(kind: str, outcome: str, details: dict[str, Any], *, disclosable: bool, today: date) -> Refusal | None:
    """Why ``outcome`` may not complete a task of ``kind`` (None: it may): the task table, then
    R30/R61 (no detention or deportation decision on convictions not disclosable). ``today``
    is the case's business date (``workflow.now()``)."""
    try:
        validate_outcome(kind, outcome, details, today=today)
    except OutcomeRefused as refused:
        return Refusal(RefusalCode.OUTCOME_REFUSED, str(refused))
    if outcome in TASK_KINDS[kind].needs_disclosable and not rules.may_detain(disclosable):
        why = convictions_refusal(kind, outcome)
        return Refusal(RefusalCode.CONVICTIONS_NOT_DISCLOSABLE, why) if why else None
    return None


def details_refusal(details: dict[str, Any]) -> Refusal | None:
    """Details refused unread: too large (a task's details are a few short fields), or holding
    a NUL, which PostgreSQL cannot store (the completion would retry forever)."""
    encoded = json.dumps(details, default=str)
    if len(encoded) > MAX_DETAILS_BYTES:
        return Refusal(RefusalCode.DETAILS_REFUSED, f"details are {len(encoded)} bytes; at most {MAX_DETAILS_BYTES} "
                       "bytes are accepted")
    if _has_nul(details):
        return Refusal(RefusalCode.DETAILS_REFUSED, "details contain a NUL character (\\u0000), which cannot be recorded")
    return None


class Settlers:
    """Messages from other systems that settle a task without an update, credited to the
    sender of the message that settled it (each outcome one its kind's ``settled_by_message``)."""

    def __init__(self, run: CaseRun) -> None:
        self.run = run

    def certificate(self) -> Settlement | None:
        """await_certificate (R03): a disclosable certificate has arrived."""
        s = self.run.s
        if s.convictions_disclosable:
            return AwaitCertificateOutcome.DISCLOSABLE_CERTIFICATE_RECEIVED, s.certificate_by or self.run.last_actor
        return None

    def nbtc(self) -> Settlement | None:
        """nbtc_check (R10/R11): located, or left the UK."""
        s = self.run.s
        if s.located:
            return NbtcCheckOutcome.IN_UK, s.located_by or self.run.last_actor
        if s.left_uk:
            return NbtcCheckOutcome.LEFT_UK, s.left_uk_by or self.run.last_actor
        return None

    def ice(self) -> Settlement | None:
        """ice_tasking (R14/R16; R11 holds while ICE looks too): located, or left the UK."""
        s = self.run.s
        if s.located:
            return IceTaskingOutcome.LOCATED, s.located_by or self.run.last_actor
        if s.left_uk:
            return IceTaskingOutcome.LEFT_UK, s.left_uk_by or self.run.last_actor
        return None

    def ice_located(self) -> Settlement | None:
        """ice_tasking in runs before messages-v2: located only."""
        s = self.run.s
        return (IceTaskingOutcome.LOCATED, s.located_by or self.run.last_actor) if s.located else None


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    return False
