"""The case workflow: one durable workflow per ACRO referral, from intake to closure.

``run`` reads like the guidance's contents: each stage is a method below it whose body
follows that section's bullets, with rule IDs beside the lines that enforce them. The
mechanics (human tasks with deadlines and escalation, messages, continue-as-new) come
after the stages.
"""

from __future__ import annotations

import asyncio
import json
from datetime import date, datetime, timedelta
from typing import Any, Awaitable, Callable

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from casework import records as r
    from casework import rules
    from casework.case import (
        CaseInput,
        CaseState,
        CaseView,
        CertificateReceived,
        DoneTask,
        Event,
        EventDelivery,
        EventKind,
        EventReceipt,
        EventResult,
        Inbound,
        LeftUk,
        OpenTask,
        PersonLocated,
        RepresentationsReceived,
        Stage,
        TaskCompleted,
        TaskCompletion,
        TaskResult,
        content_hash,
        kind_of,
        message_key,
    )
    from casework.referral import WhereaboutsStatus
    from casework import keys, metrics, search
    from casework.settings import ProcessSettings
    from casework.tasks import CASE_OWNER, SENIOR_CASEWORKER, TASK_KINDS, OutcomeRefused, convictions_refusal, validate_outcome
    # The one policy (pure: no I/O, no clock), so the validator asks what the API asks.
    from access.policy import Action, CaseRef, TaskRef, decide
    from access.principal import Kind, Principal

#: An update's details larger than this (as JSON) are refused by the validator, unread.
MAX_DETAILS_BYTES = 16_000
#: workflow.patched IDs, one per change made under live cases (docs/changing-workflows.md).
PATCH_SEARCH_ATTRIBUTES = "search-attributes-v1"
#: Messages are queued by their handlers and applied by the main line, in order; a case
#: continues as new in any long wait; left-UK per stage; custody and outcome kept true.
PATCH_MESSAGES = "messages-v2"
#: The update validator also checks the principal the API verified (``TaskCompletion.acting``)
#: against the task, by the one policy (issue 15: nothing behind the API trusts its caller).
PATCH_ACTING = "acting-checked-v1"
# A database outage must not fail a case: activities retry, backing off to a minute, forever.
# (A message no retry can make right, an unknown certificate, is answered by its activity.)
ACTIVITY_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(minutes=1))
#: Bounds of the state a case carries (docs/design.md, "Messages").
RECENT_EVENTS = 256
RECENT_DONE = 20
#: A run continues as new this many events before the history limit, so that applying the
#: message in hand and answering the updates in flight stays inside the limit.
HISTORY_MARGIN = 150
#: Signals that arrive faster than they are applied wait in the inbox; at continue-as-new
#: at most this many are carried (the rest are applied first).
MAX_CARRIED = 200
#: Refused when a case is about to continue as new: the sender retries (workflows/client.py).
CONTINUING_AS_NEW = "ContinuingAsNew"
#: Refused by a run from before messages-v2: the sender signals instead.
UNSUPPORTED = "Unsupported"
#: A completion whose acting principal the policy refuses for the task (the API answers 403).
NOT_PERMITTED = "NotPermitted"


class _LeftUkConfirmed(Exception):
    """Raised out of a wait when the case owner confirms the person has left the UK (R11)."""

#: What a task waits for besides an update: an event that resolves it, as (outcome, actor).
Resolver = Callable[[], "tuple[str, str] | None"]


@workflow.defn(name=keys.WORKFLOW_TYPE)
class CaseWorkflow:
    @workflow.init
    def __init__(self, input: CaseInput) -> None:
        # State exists before the first signal or update can arrive (they may come first).
        self.s: CaseState = input.state or CaseState(case_id=workflow.info().workflow_id)
        self.settings = ProcessSettings()
        self._submitted_by = input.submitted_by
        self._completing: set[str] = set()
        # messages-v2: answers for updates whose senders wait, by ticket (never carried).
        self._tickets = 0
        self._receipts: dict[int, EventReceipt] = {}
        self._continuing = False
        self._visit_counts: dict[str, int] = {}
        self._v2_memo: bool | None = None
        # acting-checked-v1, decided once per run here: a validator may run before ``run``
        # (an update in a run's first task) and may not call workflow.patched itself.
        self._acting_checked = workflow.patched(PATCH_ACTING)

    @property
    def _v2(self) -> bool:
        """Whether this run takes this round's behaviour (messages-v2); runs started before it replay as they ran."""
        if self._v2_memo is None:
            self._v2_memo = workflow.patched(PATCH_MESSAGES)
        return self._v2_memo

    @workflow.run
    async def run(self, input: CaseInput) -> str:
        if input.state is not None and workflow.info().continued_run_id is None:
            # Only continue-as-new may carry a state: a crafted one could claim, say, disclosable
            # convictions (R30). Refused before anything is recorded.
            raise ApplicationError("a new case cannot carry a state: only continue-as-new may", non_retryable=True)
        self._v2  # decided at the start of every run, before anything else is recorded
        # No I/O behind it: a short timeout, so one lost with its worker is soon retried.
        self.settings = await self._act("load_settings", None, result_type=ProcessSettings, timeout=timedelta(seconds=5))
        if input.state is None:
            self._count(metrics.CASES_STARTED)
        while self.s.stage is not Stage.CLOSED:
            before = self.s.stage
            try:
                after = await self._stages[before](self)
            except _LeftUkConfirmed:
                after = await self.left_uk()
            await self._enter(after)
            # R16: a case may sleep for years; it continues as new on entering dormancy and
            # whenever its history grows large, carrying its state, so history stays bounded.
            if after is not Stage.CLOSED and (
                (after is Stage.DORMANT and before is not Stage.DORMANT)
                or workflow.info().is_continue_as_new_suggested()
                or workflow.info().get_current_history_length() > self.settings.dormant_history_limit
            ):
                await self._continue_as_new()
        if self._v2:
            await self._answer_closed()
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.s.outcome or ""

    # ---------------------------------------------------------------- Stage A (CC Workflow)

    async def intake(self) -> Stage:
        """R01-R03: record the referral; a non-disclosable certificate stops the case."""
        facts = await self._act("record_referral", r.RecordReferral(
            case_id=self.s.case_id, at=workflow.now(), actor=self._submitted_by,
        ), result_type=r.ReferralFacts)
        self.s.eea = facts.eea
        self.s.most_serious = facts.most_serious
        if not self.s.located:  # a "person located" message that came first is newer than the referral
            self.s.whereabouts = facts.whereabouts
            self.s.release_date = facts.release_date
        if facts.disclosable:  # R02
            self.s.convictions_disclosable = True
            return Stage.REGISTRATION
        # R03/R61: never act on it; note, ask ACRO again for immigration purposes, destroy it.
        await self._act("apply_non_disclosable", r.DestroyCertificate(case_id=self.s.case_id, at=workflow.now(), seq=1))
        return Stage.AWAITING_CERTIFICATE

    async def awaiting_certificate(self) -> Stage:
        """R03: wait (with a deadline, escalating) for a disclosable certificate."""
        await self._task("await_certificate", resolved_by=self._certificate_arrived)
        return Stage.REGISTRATION

    async def registration(self) -> Stage:
        """R04-R06: subject, case details, convictions, calendar, PNC check, paper file; route."""
        await self._act("register_case", r.RegisterCase(case_id=self.s.case_id, at=workflow.now()))
        await self._restricted("R05")
        self.s.team = await self._act("route_case", r.RouteCase(
            case_id=self.s.case_id, at=workflow.now(), eea=self.s.eea, whereabouts=self.s.whereabouts.value,
        ), result_type=str)
        if self.s.whereabouts.known:  # R10: a confirmed location goes straight to Stage C
            self.s.located = True
        return Stage.LOCATED if self.s.located else Stage.FIRST_ACTIONS

    # ---------------------------------------------------------------- Stage B (casework team)

    async def first_actions(self) -> Stage:
        """R10-R16: NBTC check; left -> close (R11/R12); in the UK -> PNC marker and ICE."""
        if not self.s.located:
            nbtc = await self._task("nbtc_check", resolved_by=self._left_or_located)  # R10
            if nbtc.outcome == "left_uk":
                return await self.left_uk()
        if self.s.located:
            return Stage.LOCATED
        # R13: ICD.5079 to the PNC Bureau for a wanted/missing marker.
        await self._message("icd5079", "PNC Bureau", "ICD.5079", {"marker": "wanted/missing", "action": "add"})
        self.s.marker_added = True
        # R14: refer to ICE through ICE Tasking and the Detention Gatekeeper.
        await self._message("ice-tasking", "ICE", "ICE tasking referral", {"purpose": "locate and detain"})
        await self._restricted("R15")
        # R11 holds while ICE looks too: the person left before any deport action.
        ice = await self._task("ice_tasking", resolved_by=self._located_or_left if self._v2 else self._located)
        if ice.outcome == "located":
            self._mark_located(ice.details.get("detained", False))
            return Stage.LOCATED
        if ice.outcome == "left_uk":
            return await self.left_uk()
        return Stage.DORMANT  # R16

    async def left_uk(self) -> Stage:
        """R11/R12: close with the left-UK outcome; most serious offences -> exclusion (SCW)."""
        self.s.outcome = rules.OUTCOME_LEFT_UK
        await self._set_stage(step="left-uk-outcome", action="case updated", outcome=self.s.outcome)
        if self.s.most_serious:
            await self._task("exclusion_consideration")
        return Stage.CLOSED

    async def dormant(self) -> Stage:
        """R16: closed until the person is located, however long that takes."""
        self._waiting("a 'person located' message (R16)", code="person_located")
        if self._v2:
            # R11 holds while dormant: a person who has left is closed, not kept "wanted/missing".
            await self._wait(lambda: self.s.located or self.s.left_uk)
            if self.s.located:
                return Stage.LOCATED
            return await self.left_uk()
        # The configured history limit counts here too, not only at stage changes: many
        # wake-ups while dormant (messages, reminders) must not grow one run's history unbounded.
        await workflow.wait_condition(
            lambda: self.s.located or workflow.info().is_continue_as_new_suggested()
            or workflow.info().get_current_history_length() > self.settings.dormant_history_limit
        )
        return Stage.LOCATED if self.s.located else Stage.DORMANT

    # ---------------------------------------------------------------- Stage C (case owner)

    async def located_stage(self) -> Stage:
        """R20-R27: allocate, remove the marker, check the history, contact the police."""
        if self.s.case_owner is None:
            allocation = await self._task("allocate_case_owner")  # R20
            self.s.case_owner = allocation.details["case_owner"]
            await self._set_stage(step="allocated", action="case owner allocated", case_owner=self.s.case_owner)
        if self.s.marker_added:  # R21: only a marker we added is removed
            await self._message("icd5080", "PNC Bureau", "ICD5080", {"marker": "wanted/missing", "action": "remove"})
            self.s.marker_added = False
        history = await self._task("offending_history_check")  # R23
        if history.outcome == "not_available":
            # R30: not available to the deciding officer until a disclosable certificate comes.
            self.s.convictions_disclosable = False
            await self._set_stage(step="not-available", action="convictions not available (R30)", disclosable=False)
            await self._message("acro-request-r23", "ACRO", "ACRO certificate request",
                                {"purpose": rules.DISCLOSABLE_PURPOSE})
        elif rules.needs_further_acro_check(history.details.get("evidence_left_and_offended", False)):
            await self._message("acro-further-check", "ACRO", "ACRO further overseas check",
                                {"reason": "evidence of leaving the UK and offending since the referral"})
        police = await self._task("police_contact")  # R24/R25
        if police.outcome in ("not_pursued", "acquittal_likely"):
            # R26: detention under immigration powers must be arranged where appropriate.
            await self._note("r26", "R26: prosecution not pursued or acquittal likely – arrange detention "
                                    "under immigration powers where appropriate")
        elif police.outcome == "continuing":
            # R27: the case owner decides, case by case, whether to decide now or wait.
            decision = await self._task("prosecution_decision")
            if decision.outcome == "await_prosecution":
                await self._task("prosecution_outcome")
        return Stage.DETENTION

    # ---------------------------------------------------------------- Stage D (detention)

    async def detention(self) -> Stage:
        """R22, R30-R33, then the decision to pursue (R28)."""
        decision = await self._task("detention_decision")
        # The decision settles detention either way (someone found detained may be released,
        # R33): R45 later asks ICE to detain only a person who is not detained.
        self.s.detained = decision.outcome == "detain"
        if decision.outcome == "detain":  # R30 was enforced by the update's validator
            power = rules.detention_power(self.s.eea)  # R31/R32
            self.s.whereabouts = WhereaboutsStatus.DETAINED
            await self._set_stage(step="custody", action="detained", detention_power=power, custody="detained")
        elif decision.outcome == "unsuitable":  # R33
            await self._set_stage(step="custody", action="custody changed", custody="managed non-detained")
        elif self._v2:  # not detained: the header must not go on saying "detained"
            if self.s.whereabouts is WhereaboutsStatus.DETAINED:
                self.s.whereabouts = WhereaboutsStatus.CONFIRMED_ADDRESS
            await self._set_stage(step="custody", action="custody changed", custody="not detained")
        pursuit = await self._task("pursuit_decision")  # R28: the three factors are its details
        return Stage.CONSIDERATION if pursuit.outcome == "pursue" else Stage.NOT_PURSUED

    # ---------------------------------------------------------------- Stage E (consideration)

    async def consideration(self) -> Stage:
        """R40-R47: Stage 1 notice, the response window, the decision, enforcement."""
        if not self.s.located:  # R40
            raise ApplicationError("R40: deportation consideration begins only once the person is located")
        if self.s.notice_served_at is None or self.s.window_ended is False:
            await self._serve_notice()
        decision = await self._task("consideration_decision")  # R44
        if decision.outcome == "not_pursue":
            return Stage.NOT_PURSUED  # R47
        if rules.must_request_ice_detention(  # R45
            detained=self.s.detained,
            decided_to_deport=True,
            address_known=decision.details["address_known"],
            in_country_right_of_appeal=decision.details["in_country_right_of_appeal"],
        ):
            await self._message("ice-detention-request", "ICE", "ICE detention request",
                                {"reason": "decision to deport; address known; no in-country right of appeal"})
        await self._task("deportation_enforcement")
        # R46: post-deportation action.
        await self._message("post-deportation", "relevant departments", "Post-deportation notification", {})
        self.s.outcome = rules.OUTCOME_DEPORTED
        return Stage.CLOSED

    async def _serve_notice(self) -> None:
        """R41-R43: serve the notice; wait 10 or 20 days, or until representations arrive.

        A run that continued as new inside the window resumes it: the notice is not served again.
        """
        if self.s.notice_served_at is None:
            served = workflow.now()
            long, short = self.settings.response_windows()
            window = rules.response_window(self.s.whereabouts, self.s.release_date, served, long=long, short=short)
            self.s.notice_served_at = served
            self.s.respond_by = served + window
            if self._v2:
                self.s.window_ended = False
            await self._message(keys.STAGE1_NOTICE, "subject", rules.notice_for(self.s.eea), {
                "served_at": served.isoformat(), keys.RESPOND_BY: self.s.respond_by.isoformat(),
                "window_days": _days(window),
            })
        assert self.s.respond_by is not None
        window = self.s.respond_by - self.s.notice_served_at
        self._waiting("representations on the Stage 1 notice (R42/R43)", self.s.respond_by, code="representations")
        # The window runs from service (R43), not from when the notice was recorded.
        if self._v2:
            received = await self._wait(lambda: self.s.representations_at is not None, until=self.s.respond_by,
                                        summary=f"Stage 1 response window ({window.days} days)")
            how = "representations received" if received else "no representations"
            self.s.window_ended = True
        else:
            try:
                await workflow.wait_condition(
                    lambda: self.s.representations_at is not None,
                    timeout=max(self.s.respond_by - workflow.now(), timedelta(seconds=1)),
                    timeout_summary=f"Stage 1 response window ({window.days} days)",
                )
                how = "representations received"
            except asyncio.TimeoutError:
                how = "no representations"
        # Recorded at the business time the window ended, not when the worker got to it.
        await self._audit("stage1-window-ended", "response window ended",
                          {"result": how, "window_days": _days(window)},
                          at=self.s.representations_at or self.s.respond_by)

    # ---------------------------------------------------------------- Stage F (not pursued)

    async def not_pursued(self) -> Stage:
        """R50-R53: submission to the Director; removals; advise ACRO."""
        n = self.s.task_seq.get("director_decision", 0) + 1
        # R50: the submission points at the reasons, recorded with the latest decision not to pursue
        # (by reference: free text stays in tasks.outcome_details, which the retention purge clears).
        if self._v2:
            decided = [self.s.not_pursue_task] if self.s.not_pursue_task else []
        else:
            decided = [t.key for t in self.s.results.values() if t.outcome == "not_pursue"][-1:]
        await self._message(f"director-submission-{n}", keys.DIRECTOR, "Submission: deportation not appropriate",
                            {"reasons_recorded_with": decided[0]} if decided else {}, step="director-submission")
        director = await self._task("director_decision")  # R50
        if director.outcome == "disagree":
            return Stage.CONSIDERATION  # R51 (interpretation): back to Stage E
        removals = await self._task("removals_consideration")  # R51
        if removals.outcome == "referred_to_removals":
            await self._message("removals-referral", "Removals Casework", "Referral for administrative removal", {})
        else:
            await self._note("lawful-residence", "R51: satisfied the person resides lawfully in the UK")
        await self._message("acro-advice", "ACRO", "Advice: deportation not being pursued", {})  # R52
        await self._restricted("R53")
        self.s.outcome = rules.OUTCOME_NOT_PURSUED
        return Stage.CLOSED

    _stages: dict[Stage, Callable[["CaseWorkflow"], Awaitable[Stage]]] = {
        Stage.INTAKE: intake,
        Stage.AWAITING_CERTIFICATE: awaiting_certificate,
        Stage.REGISTRATION: registration,
        Stage.FIRST_ACTIONS: first_actions,
        Stage.DORMANT: dormant,
        Stage.LOCATED: located_stage,
        Stage.DETENTION: detention,
        Stage.CONSIDERATION: consideration,
        Stage.NOT_PURSUED: not_pursued,
    }

    # ================================================================= messages
    #
    # messages-v2: a handler only checks and queues (``_receive``); the main line applies
    # the queue in order inside every wait (``_wait`` -> ``_apply``), so no message can
    # block the case, two messages never interleave, and a sender waiting on an update
    # gets what the case did. Runs started before messages-v2 keep the handlers' old
    # bodies (``_legacy_*``) so that their histories replay as they ran.

    @workflow.signal(name="person_located")
    async def person_located(self, event: PersonLocated) -> None:
        if self._v2:
            return self._receive(event)
        await self._legacy_located(event)

    @workflow.signal(name="left_uk")
    async def left_uk_signal(self, event: LeftUk) -> None:
        if self._v2:
            return self._receive(event)
        if await self._accept(event, "left the UK"):
            self.s.left_uk = True
            self.s.left_uk_by = event.actor

    @workflow.signal(name="certificate_received")
    async def certificate_received(self, event: CertificateReceived) -> None:
        if self._v2:
            return self._receive(event)
        await self._legacy_certificate(event)

    @workflow.signal(name="representations_received")
    async def representations_received(self, event: RepresentationsReceived) -> None:
        if self._v2:
            return self._receive(event)
        if await self._accept(event, "representations received"):
            if self.s.notice_served_at is not None and self.s.representations_at is None:
                self.s.representations_at = workflow.now()

    @workflow.update(name="deliver_event")
    async def deliver_event(self, delivery: EventDelivery) -> EventReceipt:
        """A message whose sender waits for the case's own answer: applied, already applied, or refused (why)."""
        if not self._v2:  # a run from before this update existed: apply as its signal would
            raise ApplicationError("this case is from an older release: send the message as a signal",
                                   type=UNSUPPORTED, non_retryable=True)
        ticket = self._ticket()
        self.s.inbox.append(Inbound.of(delivery.event, ticket=ticket))
        return await self._receipt(ticket)

    @deliver_event.validator
    def _validate_delivery(self, delivery: EventDelivery) -> None:
        if len(delivery.events()) != 1:
            raise ValueError("a delivery carries exactly one event")
        self._refuse_when_busy()

    @workflow.update(name="complete_task")
    async def complete_task(self, cmd: TaskCompletion) -> TaskCompleted:
        if self._v2:
            ticket = self._ticket()
            self.s.inbox.append(Inbound(completion=cmd, ticket=ticket))
            receipt = await self._receipt(ticket)
            if receipt.result is EventResult.REFUSED:  # the loser of a race is told who won
                raise ApplicationError(receipt.detail, type="TaskNotCompleted", non_retryable=True)
            return TaskCompleted(task_key=cmd.task_key, outcome=cmd.outcome, stage=self.s.stage)
        self._completing.add(cmd.task_key)
        task = self.s.open_tasks[cmd.task_key]
        # Dates were checked against the business date by the validator; not again here, so an
        # update accepted before that check existed replays as it ran (validators never replay).
        details = validate_outcome(task.kind, cmd.outcome, cmd.details, today=date.max).model_dump(mode="json")
        try:
            await self._act("complete_task", r.CompleteTask(
                case_id=self.s.case_id, at=workflow.now(), key=cmd.task_key, outcome=cmd.outcome,
                details=details, actor=cmd.actor,
            ))
        finally:
            self._completing.discard(cmd.task_key)
        self._finish_task(task, cmd.outcome, details, cmd.actor)
        return TaskCompleted(task_key=cmd.task_key, outcome=cmd.outcome, stage=self.s.stage)

    @complete_task.validator
    def _validate_completion(self, cmd: TaskCompletion) -> None:
        """Refuse before anything is written: unknown or finished task, illegal outcome, R30."""
        done = self._done_task(cmd.task_key)
        if done is not None:
            raise ValueError(f"task {cmd.task_key} is already done: {done}")
        task = self.s.open_tasks.get(cmd.task_key)
        if task is None:
            raise ValueError(f"case {self.s.case_id} has no open task {cmd.task_key}")
        if cmd.acting is not None and self._acting_checked:
            refusal = self._acting_refusal(task, cmd)
            if refusal is not None:
                raise ApplicationError(refusal, type=NOT_PERMITTED, non_retryable=True)
        if cmd.task_key in self._completing or any(
            i.completion is not None and i.completion.task_key == cmd.task_key for i in self.s.inbox
        ):
            raise ValueError(f"task {cmd.task_key} is being completed already")
        self._refuse_when_busy()
        encoded = json.dumps(cmd.details, default=str)
        if len(encoded) > MAX_DETAILS_BYTES:  # refused unread: a task's details are a few short fields
            raise ValueError(f"details are {len(encoded)} bytes; at most {MAX_DETAILS_BYTES} bytes are accepted")
        if _has_nul(cmd.details):  # PostgreSQL cannot store it: the completion would retry forever
            raise ValueError("details contain a NUL character (\\u0000), which cannot be recorded")
        refusal = self._refusal(task, cmd)
        if refusal is not None:
            raise ValueError(refusal)

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
        case = CaseRef(self.s.case_id, team=self.s.team, case_owner=self.s.case_owner)
        decision = decide(who, Action.COMPLETE_TASK, TaskRef(case, task.key, task.kind, task.team, overdue=task.overdue))
        return None if decision else f"{acting.subject} may not: {decision.reason}"

    def _refusal(self, task: OpenTask, cmd: TaskCompletion) -> str | None:
        """Why this outcome may not be recorded now (None: it may): the task table, then R30."""
        try:
            validate_outcome(task.kind, cmd.outcome, cmd.details, today=self._today())
        except OutcomeRefused as refused:
            return str(refused)
        if cmd.outcome in TASK_KINDS[task.kind].needs_disclosable and not rules.may_detain(self.s.convictions_disclosable):
            return convictions_refusal(task.kind, cmd.outcome)
        return None

    def _today(self) -> date:
        """The case's business date (a method, so the validator's property test can give one)."""
        return workflow.now().date()

    def _refuse_when_busy(self) -> None:
        if self.s.stage is Stage.CLOSED:  # closing: what is queued is answered, nothing new is taken
            raise ApplicationError(f"case {self.s.case_id} is closed", type="CaseClosed", non_retryable=True)
        if self._continuing:  # the sender retries against the next run (workflows/client.py)
            raise ApplicationError("the case is continuing as new; send again", type=CONTINUING_AS_NEW)

    def _done_task(self, key: str) -> str | None:
        """Who settled task ``key`` and how, when it was settled recently."""
        for done in reversed(self.s.recent_done):
            if done.key == key:
                return f"completed by {done.actor} at {done.at:%Y-%m-%d %H:%M} UTC ({done.outcome})"
        if key in self.s.results:  # runs before messages-v2 kept every result
            t = self.s.results[key]
            return f"completed by {t.actor} at {t.at:%Y-%m-%d %H:%M} UTC ({t.outcome})"
        return None

    # ---------------------------------------------------------------- the queue (v2)

    def _ticket(self) -> int:
        self._tickets += 1
        return self._tickets

    async def _receipt(self, ticket: int) -> EventReceipt:
        await workflow.wait_condition(lambda: ticket in self._receipts)
        return self._receipts.pop(ticket)

    def _receive(self, event: Event) -> None:
        """A signal: queue it unless it is an exact repeat of one applied or queued already."""
        key = message_key(kind_of(event), event.event_id)
        digest = content_hash(event)
        if self.s.recent_events.get(key) == digest:
            return
        if any(i.ticket is None and i.completion is None and message_key(kind_of(i.event), i.event.event_id) == key
               and content_hash(i.event) == digest for i in self.s.inbox):
            return
        self.s.inbox.append(Inbound.of(event))

    async def _apply_next(self) -> None:
        """Apply the oldest queued message or completion, and answer its sender if one waits."""
        item = self.s.inbox.pop(0)
        if item.completion is not None:
            result, detail = await self._apply_completion(item.completion)
            receipt = EventReceipt(kind=EventKind.LOCATED, event_id="", result=result, detail=detail, stage=self.s.stage)
        else:
            event = item.event
            result, detail = await self._apply_event(event)
            receipt = EventReceipt(kind=kind_of(event), event_id=event.event_id, result=result, detail=detail,
                                   stage=self.s.stage)
            self._count(metrics.MESSAGES, kind=receipt.kind.value, result=result.value)
        if item.ticket is not None:
            self._receipts[item.ticket] = receipt

    async def _apply_completion(self, cmd: TaskCompletion) -> tuple[EventResult, str]:
        done = self._done_task(cmd.task_key)
        if done is not None:
            return EventResult.REFUSED, f"task {cmd.task_key} was already {done}; your outcome was not recorded"
        task = self.s.open_tasks.get(cmd.task_key)
        if task is None:
            return EventResult.REFUSED, f"case {self.s.case_id} has no open task {cmd.task_key}"
        refusal = self._refusal(task, cmd)  # the case may have changed since the validator ran
        if refusal is not None:
            return EventResult.REFUSED, refusal
        details = validate_outcome(task.kind, cmd.outcome, cmd.details, today=date.max).model_dump(mode="json")
        await self._act("complete_task", r.CompleteTask(
            case_id=self.s.case_id, at=workflow.now(), key=cmd.task_key, outcome=cmd.outcome,
            details=details, actor=cmd.actor,
        ))
        self._finish_task(task, cmd.outcome, details, cmd.actor)
        if task.kind == "left_uk_review" and cmd.outcome == "left_uk":
            self.s.left_uk_confirmed = True  # R11: the stage in hand gives way to closure
        return EventResult.APPLIED, f"task {cmd.task_key} completed: {cmd.outcome}"

    async def _apply_event(self, event: Event) -> tuple[EventResult, str]:
        kind = kind_of(event)
        key = message_key(kind, event.event_id)
        digest = content_hash(event)
        known = self.s.recent_events.get(key)
        if known is not None:
            if known == digest:
                return EventResult.ALREADY_APPLIED, f"{kind.value} event {event.event_id} was applied before; nothing changed"
            return EventResult.REFUSED, _CONFLICT.format(kind=kind.value, id=event.event_id)
        self.s.messages_applied += 1
        status = await self._act("record_message", r.RecordMessage(
            case_id=self.s.case_id, at=workflow.now(), event_key=keys.event_key(kind.value, event.event_id), actor=event.actor,
            action=_RECEIVED[kind], content_hash=digest, delivery=self.s.messages_applied,
            legacy_action=_LEGACY_ACTION[kind] if event.event_id in self.s.seen_events else None,
            detail={"event_id": event.event_id, "kind": kind.value, **_detail_of(event)},
        ), result_type=r.MessageStatus)
        if status is r.MessageStatus.CONFLICT:
            return EventResult.REFUSED, _CONFLICT.format(kind=kind.value, id=event.event_id)
        self._remember(key, digest)
        if status is r.MessageStatus.REPEAT:  # applied in an earlier run, past the window
            return EventResult.ALREADY_APPLIED, f"{kind.value} event {event.event_id} was applied before; nothing changed"
        if self.s.stage is Stage.CLOSED:
            return EventResult.REFUSED, "the case is closed; the message is recorded and changes nothing"
        if isinstance(event, PersonLocated):
            return EventResult.APPLIED, await self._apply_located(event)
        if isinstance(event, LeftUk):
            return EventResult.APPLIED, await self._apply_left_uk(event)
        if isinstance(event, CertificateReceived):
            return await self._apply_certificate(event)
        assert isinstance(event, RepresentationsReceived)
        if self.s.notice_served_at is not None and self.s.representations_at is None:
            self.s.representations_at = workflow.now()
            return EventResult.APPLIED, "representations recorded; the Stage 1 response window ends (R43)"
        return EventResult.APPLIED, "representations recorded; no Stage 1 response window is open (R43)"

    def _remember(self, key: str, digest: str) -> None:
        self.s.recent_events[key] = digest
        while len(self.s.recent_events) > RECENT_EVENTS:  # oldest first: dicts keep insertion order
            del self.s.recent_events[next(iter(self.s.recent_events))]

    async def _apply_located(self, event: PersonLocated) -> str:
        was_located = self.s.located
        self.s.whereabouts = event.custody
        self.s.release_date = event.release_date
        self.s.located_by = event.actor
        self._mark_located(event.custody is WhereaboutsStatus.DETAINED)
        await self._set_stage(action="whereabouts recorded", custody=event.custody.value)
        if was_located:
            return f"whereabouts updated: {event.custody.value}"
        return f"person located ({event.custody.value}); the case goes on to the case owner (R20)"

    async def _apply_left_uk(self, event: LeftUk) -> str:
        """R11 per stage (README, "Left the UK"): before the case owner's stages it settles the
        NBTC or ICE task, or ends dormancy, and the case closes (R11/R12); from Stage C on the
        person has been located and action is under way, so the case owner is asked to decide."""
        self.s.left_uk = True
        self.s.left_uk_by = event.actor
        if self.s.stage in (Stage.INTAKE, Stage.AWAITING_CERTIFICATE, Stage.REGISTRATION):
            return "recorded; the case closes at the NBTC check (R10/R11) once it is registered"
        if self.s.stage in (Stage.FIRST_ACTIONS, Stage.DORMANT):
            return "the case closes: left the UK before deport action (R11)"
        if any(t.kind == "left_uk_review" for t in self.s.open_tasks.values()):
            return "recorded; the case owner's review of an earlier report is open"
        key = await self._side_task("left_uk_review")
        return f"recorded; the case owner decides whether the case closes under R11 (task {key})"

    async def _apply_certificate(self, event: CertificateReceived) -> tuple[EventResult, str]:
        self.s.certificates_received += 1
        seq = self.s.certificates_received
        facts = await self._act("record_certificate", r.RecordCertificate(
            case_id=self.s.case_id, at=workflow.now(), seq=seq, certificate_id=event.certificate_id,
            actor=event.actor, event_id=event.event_id,
        ), result_type=r.CertificateFacts)
        if facts.refused is not None:  # e.g. an unknown certificate: refused, recorded, the case goes on
            self.s.certificates_received -= 1
            await self._audit(keys.refused_event_key(EventKind.CERTIFICATE.value, event.event_id), "message refused",
                              {"kind": EventKind.CERTIFICATE.value, "event_id": event.event_id, "reason": facts.refused})
            return EventResult.REFUSED, facts.refused
        if not facts.disclosable:  # R02/R03 again: never kept, never used
            await self._act("apply_non_disclosable", r.DestroyCertificate(case_id=self.s.case_id, at=workflow.now(), seq=seq))
            return EventResult.APPLIED, "certificate not disclosable for immigration purposes: destroyed, ACRO asked again (R03)"
        self.s.most_serious = self.s.most_serious or facts.most_serious
        self.s.convictions_disclosable = True
        self.s.certificate_by = event.actor
        return EventResult.APPLIED, "disclosable certificate taken into the case (R02)"

    async def _side_task(self, kind: str) -> str:
        """A task the case does not wait on in line (its completion is applied from the queue)."""
        spec = TASK_KINDS[kind]
        seq = self.s.task_seq[kind] = self.s.task_seq.get(kind, 0) + 1
        key = f"{kind}-{seq}"
        team = self._team_for(spec.team)
        due_at = workflow.now() + self.settings.deadline(kind)
        await self._act("open_task", r.OpenInboxTask(
            case_id=self.s.case_id, at=workflow.now(), key=key, kind=kind, title=spec.title, team=team, due_at=due_at,
        ), result_type=int)
        self.s.open_tasks[key] = OpenTask(key=key, kind=kind, team=team, due_at=due_at)
        self._count(metrics.TASKS_OPENED, kind=kind)
        return key

    async def _answer_closed(self) -> None:
        """The case has closed: what is still queued is answered (and recorded), not dropped."""
        while self.s.inbox or not workflow.all_handlers_finished():
            if self.s.inbox:
                await self._apply_next()
            else:
                await workflow.wait_condition(lambda: bool(self.s.inbox) or workflow.all_handlers_finished())

    async def _legacy_located(self, event: PersonLocated) -> None:
        if await self._accept(event, "person located", {"custody": event.custody.value}):
            self.s.whereabouts = event.custody
            self.s.release_date = event.release_date
            self.s.located_by = event.actor
            self._mark_located(event.custody is WhereaboutsStatus.DETAINED)

    async def _legacy_certificate(self, event: CertificateReceived) -> None:
        if event.event_id in self.s.seen_events:
            return
        self.s.seen_events.append(event.event_id)
        self._last_actor = event.actor
        self.s.certificates_received += 1
        seq = self.s.certificates_received
        facts = await self._act("record_certificate", r.RecordCertificate(
            case_id=self.s.case_id, at=workflow.now(), seq=seq, certificate_id=event.certificate_id,
            actor=event.actor, event_id=event.event_id,
        ), result_type=r.CertificateFacts)
        if facts.refused is not None:  # an unknown certificate no longer wedges the case
            return
        if not facts.disclosable:  # R02/R03 again: never kept, never used
            await self._act("apply_non_disclosable", r.DestroyCertificate(case_id=self.s.case_id, at=workflow.now(), seq=seq))
            return
        self.s.most_serious = self.s.most_serious or facts.most_serious
        self.s.convictions_disclosable = True
        self.s.certificate_by = event.actor

    @workflow.query(name="view")
    def view(self) -> CaseView:
        return CaseView(
            case_id=self.s.case_id, stage=self.s.stage, waiting_on=self.s.waiting_on, team=self.s.team,
            case_owner=self.s.case_owner, outcome=self.s.outcome,
            open_tasks=sorted(self.s.open_tasks.values(), key=lambda t: t.due_at),
            notice_served_at=self.s.notice_served_at, respond_by=self.s.respond_by,
            overdue=any(t.overdue for t in self.s.open_tasks.values()), runs=self.s.runs,
        )

    # ================================================================= mechanics

    async def _task(self, kind: str, *, resolved_by: Resolver | None = None) -> TaskResult:
        """A human task: record it in the inbox, wait for its outcome or an event that
        resolves it; past the deadline escalate to a senior caseworker, mark the case
        overdue and keep waiting, reminding a bounded number of times.

        messages-v2: the nth task of a kind in a stage visit is remembered, so a stage
        re-entered after continue-as-new gets its result, or resumes waiting on it with its
        deadline and escalations, instead of opening it again.
        """
        spec = TASK_KINDS[kind]
        memo = f"{kind}#{self._visit_counts.setdefault(kind, 0) + 1}"
        self._visit_counts[kind] += 1
        key = self.s.visit_tasks.get(memo) if self._v2 else None
        if key is not None and key in self.s.results:
            return self.s.results[key]
        if key is None or key not in self.s.open_tasks:
            seq = self.s.task_seq[kind] = self.s.task_seq.get(kind, 0) + 1
            key = f"{kind}-{seq}"
            team = self._team_for(spec.team)
            due_at = workflow.now() + self.settings.deadline(kind)
            await self._act("open_task", r.OpenInboxTask(
                case_id=self.s.case_id, at=workflow.now(), key=key, kind=kind, title=spec.title, team=team, due_at=due_at,
            ), result_type=int)
            self.s.open_tasks[key] = OpenTask(key=key, kind=kind, team=team, due_at=due_at, next_deadline=due_at)
            self._count(metrics.TASKS_OPENED, kind=kind)
            if self._v2:
                self.s.visit_tasks[memo] = key
        task = self.s.open_tasks[key]
        if self._v2:
            return await self._await_task(task, resolved_by)

        def settled() -> bool:
            return key in self.s.results or (
                key not in self._completing and resolved_by is not None and resolved_by() is not None
            )

        deadline = task.due_at
        while not settled():
            self._waiting(f"{spec.title} – {task.team}",
                          deadline if task.escalations < self.settings.max_escalations else None, code=kind)
            if task.escalations >= self.settings.max_escalations:
                await workflow.wait_condition(settled)  # reminders are bounded; keep waiting
                break
            try:
                await workflow.wait_condition(
                    settled, timeout=max(deadline - workflow.now(), timedelta(seconds=1)),
                    timeout_summary=f"deadline: {kind}",
                )
            except asyncio.TimeoutError:
                await self._escalate(task)
                deadline = workflow.now() + timedelta(days=self.settings.reminder_interval_days)
        return await self._settled(task, resolved_by)

    async def _await_task(self, task: OpenTask, resolved_by: Resolver | None) -> TaskResult:
        """messages-v2: wait for a completion or a settling message, applied one at a time in order."""
        spec = TASK_KINDS[task.kind]
        key = task.key

        def settled() -> bool:
            return key in self.s.results or (resolved_by is not None and resolved_by() is not None)

        while not settled():
            bounded = task.escalations >= self.settings.max_escalations
            self._waiting(f"{spec.title} – {task.team}", None if bounded else task.next_deadline, code=task.kind)
            if await self._wait(settled, until=None if bounded else task.next_deadline, summary=f"deadline: {task.kind}"):
                break
            await self._escalate(task)
            task.next_deadline = workflow.now() + timedelta(days=self.settings.reminder_interval_days)
        return await self._settled(task, resolved_by)

    async def _settled(self, task: OpenTask, resolved_by: Resolver | None) -> TaskResult:
        """The outcome of a settled task: a person's, or the message's that settled it (recorded now)."""
        if task.key in self.s.results:
            return self.s.results[task.key]
        assert resolved_by is not None
        outcome, actor = resolved_by()  # type: ignore[misc]
        await self._act("complete_task", r.CompleteTask(
            case_id=self.s.case_id, at=workflow.now(), key=task.key, outcome=outcome, actor=actor,
        ))
        return self._finish_task(task, outcome, {}, actor)

    async def _wait(self, done: Callable[[], bool], *, until: datetime | None = None, summary: str | None = None) -> bool:
        """messages-v2: every long wait of a case. Applies queued messages in order, continues
        as new when the history grows long, and returns True when ``done()`` holds, False
        when ``until`` passes first. The case owner's R11 confirmation ends any wait."""
        while True:
            if self.s.left_uk_confirmed:
                self.s.left_uk_confirmed = False
                raise _LeftUkConfirmed()
            if done():
                return True
            if self._history_long():  # before the next message: a steady stream must not put it off
                await self._continue_as_new()
            if self.s.inbox:
                await self._apply_next()
                continue
            remaining = None if until is None else until - workflow.now()
            if remaining is not None and remaining <= timedelta(0):
                return False
            try:
                await workflow.wait_condition(
                    lambda: done() or bool(self.s.inbox) or self._history_long(),
                    timeout=None if remaining is None else max(remaining, timedelta(seconds=1)),
                    timeout_summary=summary,
                )
            except asyncio.TimeoutError:
                return done()

    def _history_long(self) -> bool:
        info = workflow.info()
        limit = self.settings.dormant_history_limit
        return info.is_continue_as_new_suggested() or (
            info.get_current_history_length() > limit - min(HISTORY_MARGIN, limit // 5)
        )

    async def _continue_as_new(self) -> None:
        """Carry the state into a new run: updates in flight are answered first, new ones are
        refused (their senders retry), signals not yet applied are carried in order."""
        if self._v2:
            self._continuing = True
            while not workflow.all_handlers_finished() or any(i.ticket is not None for i in self.s.inbox) \
                    or len(self.s.inbox) > MAX_CARRIED:
                if self.s.inbox and (any(i.ticket is not None for i in self.s.inbox) or len(self.s.inbox) > MAX_CARRIED):
                    await self._apply_next()
                else:
                    await workflow.wait_condition(
                        lambda: workflow.all_handlers_finished() or any(i.ticket is not None for i in self.s.inbox)
                    )
        else:
            await workflow.wait_condition(workflow.all_handlers_finished)
        self.s.runs += 1
        workflow.continue_as_new(CaseInput(state=self.s))

    def _team_for(self, team: str) -> str:
        return (self.s.case_owner or self.s.team or "unallocated") if team == CASE_OWNER else team

    def _finish_task(self, task: OpenTask, outcome: str, details: dict[str, Any], actor: str) -> TaskResult:
        result = TaskResult(key=task.key, kind=task.kind, outcome=outcome, details=details, actor=actor, at=workflow.now())
        self.s.results[task.key] = result
        self.s.open_tasks.pop(task.key, None)
        if self._v2_memo:
            if outcome == "not_pursue":
                self.s.not_pursue_task = task.key
            self.s.recent_done.append(DoneTask(key=task.key, outcome=outcome, actor=actor, at=result.at))
            del self.s.recent_done[:-RECENT_DONE]
        return result

    async def _escalate(self, task: OpenTask) -> None:
        task.escalations += 1
        task.overdue = True
        review_key = f"overdue_review-{task.key}-{task.escalations}"
        review_due = workflow.now() + self.settings.deadline("overdue_review")
        await self._act("escalate_task", r.EscalateTask(
            case_id=self.s.case_id, at=workflow.now(), key=task.key, number=task.escalations,
            review_key=review_key, review_team=SENIOR_CASEWORKER, review_due_at=review_due,
        ))
        self.s.open_tasks[review_key] = OpenTask(key=review_key, kind="overdue_review", team=SENIOR_CASEWORKER, due_at=review_due)
        self._count(metrics.TASKS_ESCALATED, kind=task.kind)

    # Resolvers: events from other systems that settle a task without an update, credited
    # to the sender of the message that settled it.

    def _certificate_arrived(self) -> tuple[str, str] | None:
        if self.s.convictions_disclosable:
            return ("disclosable_certificate_received", self.s.certificate_by or self._last_actor)
        return None

    def _left_or_located(self) -> tuple[str, str] | None:
        if self.s.located:
            return ("in_uk", self.s.located_by or self._last_actor)
        if self.s.left_uk:
            return ("left_uk", self.s.left_uk_by or self._last_actor)
        return None

    def _located(self) -> tuple[str, str] | None:
        return ("located", self.s.located_by or self._last_actor) if self.s.located else None

    def _located_or_left(self) -> tuple[str, str] | None:
        if self.s.located:
            return ("located", self.s.located_by or self._last_actor)
        if self.s.left_uk:
            return ("left_uk", self.s.left_uk_by or self._last_actor)
        return None

    def _mark_located(self, detained: bool) -> None:
        self.s.located = True
        if detained:
            self.s.detained = True
            self.s.whereabouts = WhereaboutsStatus.DETAINED

    async def _accept(self, event: Event, action: str, detail: dict[str, Any] | None = None) -> bool:
        """Runs before messages-v2: record a message once (by event ID) in the audit log; False for a repeat."""
        if event.event_id in self.s.seen_events:
            return False
        self.s.seen_events.append(event.event_id)
        self._last_actor = event.actor
        await self._act("record_event", r.AuditEvent(
            case_id=self.s.case_id, at=workflow.now(), event_key=keys.legacy_event_key(event.event_id),
            actor=event.actor, action=action, detail={"event_id": event.event_id, **(detail or {})},
        ))
        return True

    _last_actor: str = r.SYSTEM_ACTOR
    #: acting-checked-v1 (set in ``__init__``; False for an object the validator tests build by hand).
    _acting_checked: bool = False
    #: Set while a run continues as new: new updates are refused (their senders send again).
    _continuing: bool = False

    async def _enter(self, stage: Stage) -> None:
        if stage is self.s.stage:
            return
        leaving = self.s.stage
        self.s.stage = stage
        if self._v2:
            # A new stage visit: what the last one did is in the CID; the state keeps none of it.
            self.s.visit_tasks.clear()
            self.s.visit_steps.clear()
            self.s.results.clear()
        self._visit_counts.clear()
        self._count(metrics.STAGE_TRANSITIONS, stage=stage.value)
        if stage is Stage.CLOSED:
            self.s.open_tasks.clear()
            self._waiting(None)
            await self._act("close_case", r.CloseCase(case_id=self.s.case_id, at=workflow.now(), outcome=self.s.outcome or ""))
            self._count(metrics.CASES_CLOSED, closed_from=leaving.value)
        elif stage is Stage.DORMANT:
            self.s.dormant_periods += 1
            self.s.outcome = rules.OUTCOME_LIABLE_TO_DEPORT
            await self._set_stage(status="dormant", outcome=self.s.outcome)
        elif leaving is Stage.DORMANT:
            self.s.outcome = None  # open again: no longer "liable to deport – wanted/missing"
            await self._set_stage(status="open", clear_outcome=True)
        else:
            await self._set_stage()

    def _first_time(self, step: str | None) -> bool:
        """messages-v2: True the first time ``step`` is reached in this stage visit (a stage
        re-entered after continue-as-new skips what it did); always True for earlier runs."""
        if step is None or not self._v2:
            return True
        if step in self.s.visit_steps:
            return False
        self.s.visit_steps.append(step)
        return True

    async def _set_stage(self, *, step: str | None = None, action: str = r.STAGE_ENTERED, **fields: Any) -> None:
        if not self._first_time(step and f"stage:{step}"):
            return
        self.s.transitions += 1
        await self._act("set_stage", r.SetStage(
            case_id=self.s.case_id, at=workflow.now(), stage=self.s.stage, seq=self.s.transitions, action=action, **fields
        ))

    async def _message(self, key: str, recipient: str, form: str, body: dict[str, Any], *, step: str | None = None) -> None:
        if not self._first_time(f"message:{step or key}"):
            return
        await self._act("send_message", r.SendMessage(
            case_id=self.s.case_id, at=workflow.now(), key=key, recipient=recipient, form=form, body=body,
        ))

    async def _note(self, key: str, text: str) -> None:
        if not self._first_time(f"note:{key}"):
            return
        await self._act("add_note", r.AddNote(case_id=self.s.case_id, at=workflow.now(), key=key, text=text))

    async def _audit(self, key: str, action: str, detail: dict[str, Any], at: datetime | None = None) -> None:
        await self._act("record_event", r.AuditEvent(
            case_id=self.s.case_id, at=at or workflow.now(), event_key=key, actor=r.SYSTEM_ACTOR, action=action, detail=detail,
        ))

    async def _restricted(self, rule: str) -> None:
        """R05/R15/R53: a withheld section of the guidance; recorded as reached, nothing invented."""
        if not self._first_time(f"restricted:{rule}"):
            return
        await self._act("restricted_step", r.RestrictedStep(case_id=self.s.case_id, at=workflow.now(), rule=rule))

    def _waiting(self, what: str | None, until: datetime | None = None, code: str | None = None) -> None:
        """Say what the case waits on: in its query, the Web UI's current details, and
        the search attributes operators filter by."""
        self.s.waiting_on = what
        self._wait_code, self._wait_until = code, until
        text = "Closed" if what is None else f"Waiting on: {what}" + (f" – due {until:%Y-%m-%d %H:%M} UTC" if until else "")
        workflow.set_current_details(f"**{self.s.stage.value}** · {text}")
        self._publish()

    def _count(self, name: str, **labels: str) -> None:
        """Add one to our counter ``name`` (not counted again on replay)."""
        workflow.metric_meter().create_counter(name).add(1, labels or None)

    _wait_code: str | None = None
    _wait_until: datetime | None = None
    _published: tuple[Any, ...] | None = None

    def _publish(self) -> None:
        """Mirror stage, team, owner, wait, deadline and overdue mark into search attributes.

        No personal data: these are not encrypted. Added after the first histories were
        recorded, so old runs replay without it (the patch; see docs/changing-workflows.md).
        """
        if not workflow.patched(PATCH_SEARCH_ATTRIBUTES):
            return
        self._upsert_search_attributes()

    def _upsert_search_attributes(self) -> None:
        overdue = any(t.overdue for t in self.s.open_tasks.values() if t.kind != "overdue_review")
        values = (self.s.stage.value, self.s.team, self.s.case_owner, self._wait_code, self._wait_until, overdue)
        if values == self._published:
            return  # an upsert is a history event: only on change
        self._published = values
        stage, team, owner, code, until, overdue = values

        def put(key: Any, value: Any) -> Any:
            return key.value_unset() if value is None else key.value_set(value)

        workflow.upsert_search_attributes([
            put(search.CASE_STAGE, stage), put(search.TEAM, team), put(search.CASE_OWNER, owner),
            put(search.WAITING_ON, code), put(search.NEXT_DEADLINE, until), search.OVERDUE.value_set(overdue),
        ])

    async def _act(self, name: str, arg: Any, *, result_type: type | None = None, timeout: timedelta | None = None) -> Any:
        args = [] if arg is None else [arg]
        # The timeout is configuration (30 s unless set): a lost activity is retried after it.
        return await workflow.execute_activity(
            name, args=args, result_type=result_type,
            start_to_close_timeout=timeout or timedelta(seconds=self.settings.activity_timeout_seconds),
            retry_policy=ACTIVITY_RETRY, summary=name.replace("_", " "),
        )


#: How the audit log names each kind of message (one home: the CLI reads it from here).
_RECEIVED = {
    EventKind.LOCATED: "person located", EventKind.LEFT_UK: "left the UK",
    EventKind.CERTIFICATE: "certificate event received", EventKind.REPRESENTATIONS: "representations received",
}
#: ... and how releases before messages-v2 named them (certificates by record_certificate).
_LEGACY_ACTION = {**_RECEIVED, EventKind.CERTIFICATE: keys.CERTIFICATE_RECEIVED}
_CONFLICT = ("{kind} event {id} was applied before with different content: refused; "
             "send a new event ID for a new message")
#: The refusal of a conflicting repeat, as clients recognise it (workflows/client.py).
CONFLICTING_REPEAT = _CONFLICT


def _detail_of(event: Event) -> dict[str, Any]:
    """What a message's audit entry says of it beside its ID (no personal data)."""
    if isinstance(event, PersonLocated):
        return {"custody": event.custody.value}
    if isinstance(event, CertificateReceived):
        return {"certificate_id": event.certificate_id}
    return {}


def _days(window: timedelta) -> int | float:
    """A window in days as records show it: whole days as an int (fractions only in tests)."""
    return window.days if window == timedelta(days=window.days) else window / timedelta(days=1)


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    return False
