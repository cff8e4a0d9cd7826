"""The case workflow: one durable workflow per ACRO referral, from intake to closure.

``run`` reads like the guidance's contents: each stage is a method below it whose body
follows that section's bullets, with rule IDs beside the lines that enforce them. The
mechanics each live in a module of their own beside this one: what the case writes to
the CID (``record``), its human tasks (``human_task``), its inbox of messages (``inbox``,
``messages``), its long waits (``waits``), continue-as-new (``continuing``), what it
shows operators (``status``), and the paths kept only for old histories (``legacy``).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Awaitable, Callable

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.contract import CaseActivityContract as A
    from casework import keys, metrics, refusals, rules
    from casework.decisions import REQUESTED
    from casework import records as r
    from casework.case import (
        CaseInput, CaseState, CaseView, CertificateReceived, EventDelivery, EventReceipt, EventResult, LeftUk,
        PersonLocated, RepresentationsReceived, Stage, TaskCompleted, TaskCompletion,
    )
    from casework.keys import Recipient
    from casework.refusals import Refusal, RefusalCode
    from casework.referral import WhereaboutsStatus
    from casework.tasks import (
        ConsiderationOutcome, DetentionOutcome, DirectorOutcome, HistoryCheckOutcome, IceTaskingOutcome,
        NbtcCheckOutcome, PoliceContactOutcome, ProsecutionDecisionOutcome, PursuitOutcome, RemovalsOutcome,
    )

    # The mechanics too: one copy per worker, not one per run. They hold no module state
    # (tests/test_shared_code.py checks) - each run makes its own objects of their classes
    # below - and a run re-executing ten modules held ~80 KB per cached case, not ~16 KB.
    import workflows.legacy as legacy
    from workflows.context import CaseRun
    from workflows.continuing import Continuing
    from workflows.human_task import HumanTasks, Settlers
    from workflows.inbox import Inbox
    from workflows.legacy import LegacyHandlers
    from workflows.messages import MessageEffects
    from workflows.record import CaseRecord
    from workflows.status import CaseStatus
    from workflows.waits import LeftUkConfirmed, Waits


@workflow.defn(name=keys.WORKFLOW_TYPE)
class CaseWorkflow:
    @workflow.init
    def __init__(self, input: CaseInput) -> None:
        # State exists before the first signal or update can arrive (they may come first).
        self.this_run = run = CaseRun(input.state or CaseState(case_id=workflow.info().workflow_id), input.submitted_by)
        self.s = run.s
        self.status = CaseStatus(run)
        self.record = CaseRecord(run, self.status)
        self.inbox = Inbox(run)
        self.continuing = Continuing(run, self.inbox)
        self.waits = Waits(run, self.inbox, self.continuing)
        self.tasks = HumanTasks(run, self.record, self.status, self.waits, self.inbox, self.continuing)
        self.settlers = Settlers(run)
        self.messages = MessageEffects(run, self.record, self.tasks)
        self.inbox.applies_with(self.messages.apply, self.tasks.apply_completion)
        self.legacy = LegacyHandlers(run, self.record)

    @workflow.run
    async def run(self, input: CaseInput) -> str:
        if input.state is not None and workflow.info().continued_run_id is None:
            # Only continue-as-new may carry a state: a crafted one could claim, say, disclosable
            # convictions (R30). Refused before anything is recorded.
            raise ApplicationError("a new case cannot carry a state: only continue-as-new may", non_retryable=True)
        self.this_run.v2  # decided at the start of every run, before anything else is recorded
        # No I/O behind it: a short timeout, so one lost with its worker is soon retried.
        self.this_run.settings = await self.record.act(A.load_settings, timeout=timedelta(seconds=5))
        if input.state is None:
            self.this_run.count(metrics.CASES_STARTED)
        while self.s.stage is not Stage.CLOSED:
            before = self.s.stage
            try:
                after = await self._stages[before](self)
            except LeftUkConfirmed:
                after = await self.left_uk()
            if await self.record.enter(after):
                self.tasks.new_visit()  # the nth task of a kind counts from the stage's start
            if self.continuing.after_stage(before, after):  # R16
                await self.continuing.now()
        if self.this_run.v2:
            await self.inbox.answer_all()
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.s.outcome or ""

    # ---------------------------------------------------------------- Stage A (CC Workflow)

    async def intake(self) -> Stage:
        """R01-R03: record the referral; a non-disclosable certificate stops the case."""
        facts = await self.record.act(A.record_referral, r.RecordReferral(
            case_id=self.s.case_id, at=workflow.now(), actor=self.this_run.submitted_by,
        ))
        self.s.eea = facts.eea
        self.s.most_serious = facts.most_serious
        if not self.s.located:  # a "person located" message that came first is newer than the referral
            self.s.whereabouts = facts.whereabouts
            self.s.release_date = facts.release_date
        if facts.disclosable:  # R02
            self.s.convictions_disclosable = True
            return Stage.REGISTRATION
        # R03/R61: never act on it; note, ask ACRO again for immigration purposes, destroy it.
        await self.record.act(A.apply_non_disclosable, r.DestroyCertificate(case_id=self.s.case_id, at=workflow.now(), seq=1))
        return Stage.AWAITING_CERTIFICATE

    async def awaiting_certificate(self) -> Stage:
        """R03: wait (with a deadline, escalating) for a disclosable certificate."""
        await self.tasks.done("await_certificate", settled_by=self.settlers.certificate)
        return Stage.REGISTRATION

    async def registration(self) -> Stage:
        """R04-R06: subject, case details, convictions, calendar, PNC check, paper file; route."""
        await self.record.act(A.register_case, r.RegisterCase(case_id=self.s.case_id, at=workflow.now()))
        await self.record.restricted("R05")
        self.s.team = await self.record.act(A.route_case, r.RouteCase(
            case_id=self.s.case_id, at=workflow.now(), eea=self.s.eea, whereabouts=self.s.whereabouts.value,
        ))
        await self.record.decide("whereabouts", rules.whereabouts_decision(self.s.whereabouts))  # R10
        if self.s.whereabouts.known:  # R10: a confirmed location goes straight to Stage C
            self.s.located = True
        return Stage.LOCATED if self.s.located else Stage.FIRST_ACTIONS

    # ---------------------------------------------------------------- Stage B (casework team)

    async def first_actions(self) -> Stage:
        """R10-R16: NBTC check; left -> close (R11/R12); in the UK -> PNC marker and ICE."""
        nbtc_result = None
        if not self.s.located:
            nbtc = nbtc_result = await self.tasks.done("nbtc_check", settled_by=self.settlers.nbtc)  # R10
            if nbtc.outcome == NbtcCheckOutcome.LEFT_UK:
                return await self.left_uk()
        if self.s.located:
            return Stage.LOCATED
        # R13: ICD.5079 to the PNC Bureau for a wanted/missing marker.
        if nbtc_result is not None:
            await self.record.decide("marker", rules.marker_decision(nbtc_result.outcome, nbtc_result.actor))
        await self.record.message("icd5079", Recipient.PNC_BUREAU, "ICD.5079", {"marker": "wanted/missing", "action": "add"})
        self.s.marker_added = True
        # R14: refer to ICE through ICE Tasking and the Detention Gatekeeper.
        await self.record.message("ice-tasking", Recipient.ICE, "ICE tasking referral", {"purpose": "locate and detain"})
        await self.record.restricted("R15")
        # R11 holds while ICE looks too: the person left before any deport action.
        ice = await self.tasks.done("ice_tasking", settled_by=self.settlers.ice if self.this_run.v2 else self.settlers.ice_located)
        if ice.outcome == IceTaskingOutcome.LOCATED:
            self.s.mark_located(ice.details.get("detained", False))
            return Stage.LOCATED
        if ice.outcome == IceTaskingOutcome.LEFT_UK:
            return await self.left_uk()
        await self.record.decide("dormant", rules.dormant_decision(ice.outcome, ice.actor))
        return Stage.DORMANT  # R16

    async def left_uk(self) -> Stage:
        """R11/R12: close with the left-UK outcome; most serious offences -> exclusion (SCW)."""
        self.s.outcome = rules.OUTCOME_LEFT_UK
        await self.record.decide("left-uk", rules.left_uk_decision("left_uk", self.s.left_uk_by))
        await self.record.set_stage(step="left-uk-outcome", action="case updated", outcome=self.s.outcome)
        if self.s.most_serious:
            await self.tasks.done("exclusion_consideration")
        return Stage.CLOSED

    async def dormant(self) -> Stage:
        """R16: closed until the person is located, however long that takes."""
        self.status.waiting("a 'person located' message (R16)", code="person_located")
        if not self.this_run.v2:
            return await legacy.dormant(self.this_run)
        # R11 holds while dormant: a person who has left is closed, not kept "wanted/missing".
        await self.waits.until(lambda: self.s.located or self.s.left_uk)
        return Stage.LOCATED if self.s.located else await self.left_uk()

    # ---------------------------------------------------------------- Stage C (case owner)

    async def located_stage(self) -> Stage:
        """R20-R27: allocate, remove the marker, check the history, contact the police."""
        if self.s.case_owner is None:
            allocation = await self.tasks.done("allocate_case_owner")  # R20
            self.s.case_owner = allocation.details["case_owner"]
            await self.record.set_stage(step="allocated", action="case owner allocated", case_owner=self.s.case_owner)
        await self.record.decide("marker-removal", rules.marker_removal_decision(self.s.marker_added))  # R21
        if self.s.marker_added:  # R21: only a marker we added is removed
            await self.record.message("icd5080", Recipient.PNC_BUREAU, "ICD5080", {"marker": "wanted/missing", "action": "remove"})
            self.s.marker_added = False
        history = await self.tasks.done("offending_history_check")  # R23
        if history.outcome == HistoryCheckOutcome.NOT_AVAILABLE:
            # R30: not available to the deciding officer until a disclosable certificate comes.
            self.s.convictions_disclosable = False
            await self.record.decide("detention-basis", rules.detention_decision(False))
            await self.record.set_stage(step="not-available", action="convictions not available (R30)", disclosable=False)
            await self.record.message("acro-request-r23", Recipient.ACRO, "ACRO certificate request",
                                      {"purpose": rules.DISCLOSABLE_PURPOSE})
        elif (await self.record.decide("further-check", rules.further_check_decision(
                history.details.get("evidence_left_and_offended", False), by=history.actor))).outcome == REQUESTED:
            await self.record.message("acro-further-check", Recipient.ACRO, "ACRO further overseas check",
                                      {"reason": "evidence of leaving the UK and offending since the referral"})
        police = await self.tasks.done("police_contact")  # R24/R25
        if police.outcome in (PoliceContactOutcome.NOT_PURSUED, PoliceContactOutcome.ACQUITTAL_LIKELY):
            # R26: detention under immigration powers must be arranged where appropriate.
            await self.record.note("r26", "R26: prosecution not pursued or acquittal likely – arrange detention "
                                          "under immigration powers where appropriate")
        elif police.outcome == PoliceContactOutcome.CONTINUING:
            # R27: the case owner decides, case by case, whether to decide now or wait.
            decision = await self.tasks.done("prosecution_decision")
            if decision.outcome == ProsecutionDecisionOutcome.AWAIT_PROSECUTION:
                await self.tasks.done("prosecution_outcome")
        return Stage.DETENTION

    # ---------------------------------------------------------------- Stage D (detention)

    async def detention(self) -> Stage:
        """R22, R30-R33, then the decision to pursue (R28)."""
        decision = await self.tasks.done("detention_decision")
        # The decision settles detention either way (someone found detained may be released,
        # R33): R45 later asks ICE to detain only a person who is not detained.
        self.s.detained = decision.outcome == DetentionOutcome.DETAIN
        if decision.outcome == DetentionOutcome.DETAIN:  # R30 was enforced by the update's validator
            await self.record.decide("detention-basis", rules.detention_decision(self.s.convictions_disclosable))
            power = (await self.record.decide("power", rules.power_decision(self.s.eea))).subject  # R31/R32
            self.s.whereabouts = WhereaboutsStatus.DETAINED
            await self.record.set_stage(step="custody", action="detained", detention_power=power, custody="detained")
        elif decision.outcome == DetentionOutcome.UNSUITABLE:  # R33
            await self.record.decide("non-detained", rules.non_detained_decision(decision.outcome, decision.actor))
            await self.record.set_stage(step="custody", action="custody changed", custody="managed non-detained")
        elif self.this_run.v2:  # not detained: the header must not go on saying "detained"
            if self.s.whereabouts is WhereaboutsStatus.DETAINED:
                self.s.whereabouts = WhereaboutsStatus.CONFIRMED_ADDRESS
            await self.record.set_stage(step="custody", action="custody changed", custody="not detained")
        pursuit = await self.tasks.done("pursuit_decision")  # R28: the three factors are its details
        return Stage.CONSIDERATION if pursuit.outcome == PursuitOutcome.PURSUE else Stage.NOT_PURSUED

    # ---------------------------------------------------------------- Stage E (consideration)

    async def consideration(self) -> Stage:
        """R40-R47: Stage 1 notice, the response window, the decision, enforcement."""
        if not self.s.located:  # R40
            raise ApplicationError("R40: deportation consideration begins only once the person is located")
        if self.s.notice_served_at is None or self.s.window_ended is False:
            await self._serve_notice()
        decision = await self.tasks.done("consideration_decision")  # R44
        if decision.outcome == ConsiderationOutcome.NOT_PURSUE:
            await self.record.decide("not-pursued", rules.not_pursued_decision(decision.outcome, decision.actor))
            return Stage.NOT_PURSUED  # R47
        ice = await self.record.decide("ice-detention", rules.ice_detention_decision(  # R45
            detained=self.s.detained,
            decided_to_deport=True,
            address_known=decision.details["address_known"],
            in_country_right_of_appeal=decision.details["in_country_right_of_appeal"],
            by=decision.actor,
        ))
        if ice.outcome == REQUESTED:
            await self.record.message("ice-detention-request", Recipient.ICE, "ICE detention request",
                                      {"reason": "decision to deport; address known; no in-country right of appeal"})
        await self.tasks.done("deportation_enforcement")
        # R46: post-deportation action.
        await self.record.message("post-deportation", Recipient.RELEVANT_DEPARTMENTS, "Post-deportation notification", {})
        self.s.outcome = rules.OUTCOME_DEPORTED
        return Stage.CLOSED

    async def _serve_notice(self) -> None:
        """R41-R43: serve the notice; wait 10 or 20 days, or until representations arrive.

        A run that continued as new inside the window resumes it: the notice is not served again.
        """
        if self.s.notice_served_at is None:
            served = workflow.now()
            long, short = self.this_run.settings.response_windows()
            timing = rules.window_decision(self.s.whereabouts, self.s.release_date, served, long=long, short=short)
            window = long if timing.rule == "R42" else short
            self.s.notice_served_at = served
            self.s.respond_by = served + window
            if self.this_run.v2:
                self.s.window_ended = False
            await self.record.message(keys.STAGE1_NOTICE, Recipient.SUBJECT, rules.notice_for(self.s.eea), {
                "served_at": served.isoformat(), keys.RESPOND_BY: self.s.respond_by.isoformat(),
                "window_days": _days(window),
            })
            # Recorded after the notice: the notice is sent at the time of service.
            await self.record.decide("notice", rules.notice_decision(self.s.eea))  # R41
            await self.record.decide("window", timing)  # R42/R43
        assert self.s.respond_by is not None
        window = self.s.respond_by - self.s.notice_served_at
        self.status.waiting("representations on the Stage 1 notice (R42/R43)", self.s.respond_by, code="representations")
        # The window runs from service (R43), not from when the notice was recorded.
        if self.this_run.v2:
            received = await self.waits.until(lambda: self.s.representations_at is not None, until=self.s.respond_by,
                                              summary=f"Stage 1 response window ({window.days} days)")
            self.s.window_ended = True
        else:
            received = await legacy.response_window(self.this_run, window)
        # Recorded at the business time the window ended, not when the worker got to it.
        await self.record.audit("stage1-window-ended", "response window ended",
                                {"result": "representations received" if received else "no representations",
                                 "window_days": _days(window)},
                                at=self.s.representations_at or self.s.respond_by)

    # ---------------------------------------------------------------- Stage F (not pursued)

    async def not_pursued(self) -> Stage:
        """R50-R53: submission to the Director; removals; advise ACRO."""
        n = self.s.task_seq.get("director_decision", 0) + 1
        # R50: the submission points at the reasons, recorded with the latest decision not to pursue
        # (by reference: free text stays in tasks.outcome_details, which the retention purge clears).
        if self.this_run.v2:
            decided = [self.s.not_pursue_task] if self.s.not_pursue_task else []
        else:
            decided = legacy.not_pursue_decided(self.this_run)
        await self.record.decide("submission", rules.submission_decision(decided[0] if decided else None))  # R50
        await self.record.message(f"director-submission-{n}", Recipient.DIRECTOR, "Submission: deportation not appropriate",
                                  {"reasons_recorded_with": decided[0]} if decided else {}, step="director-submission")
        director = await self.tasks.done("director_decision")  # R50
        await self.record.decide("director", rules.director_decision(
            director.outcome != DirectorOutcome.DISAGREE, director.outcome, director.actor))
        if director.outcome == DirectorOutcome.DISAGREE:
            return Stage.CONSIDERATION  # R51 (interpretation): back to Stage E
        removals = await self.tasks.done("removals_consideration")  # R51
        if removals.outcome == RemovalsOutcome.REFERRED_TO_REMOVALS:
            await self.record.message("removals-referral", Recipient.REMOVALS_CASEWORK, "Referral for administrative removal", {})
        else:
            await self.record.note("lawful-residence", "R51: satisfied the person resides lawfully in the UK")
        await self.record.decide("acro-advice", rules.acro_advised_decision())  # R52
        await self.record.message("acro-advice", Recipient.ACRO, "Advice: deportation not being pursued", {})  # R52
        await self.record.restricted("R53")
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

    # ================================================================= messages and queries
    #
    # The names the server records stay as they are: recorded histories depend on them.
    # messages-v2: a handler only checks and queues (workflows/inbox.py); runs started
    # before it keep the handlers' old bodies (workflows/legacy.py).

    @workflow.signal(name="person_located")
    async def person_located(self, event: PersonLocated) -> None:
        if self.this_run.v2:
            return self.inbox.receive(event)
        await self.legacy.located(event)

    @workflow.signal(name="left_uk")
    async def left_uk_signal(self, event: LeftUk) -> None:
        if self.this_run.v2:
            return self.inbox.receive(event)
        await self.legacy.left_uk(event)

    @workflow.signal(name="certificate_received")
    async def certificate_received(self, event: CertificateReceived) -> None:
        if self.this_run.v2:
            return self.inbox.receive(event)
        await self.legacy.certificate(event)

    @workflow.signal(name="representations_received")
    async def representations_received(self, event: RepresentationsReceived) -> None:
        if self.this_run.v2:
            return self.inbox.receive(event)
        await self.legacy.representations(event)

    @workflow.update(name="deliver_event")
    async def deliver_event(self, delivery: EventDelivery) -> EventReceipt:
        """A message whose sender waits for the case's own answer: applied, already applied, or refused (why)."""
        if not self.this_run.v2:  # a run from before this update existed: the sender signals instead
            raise refusals.error(Refusal(RefusalCode.OLDER_RELEASE,
                                         "this case is from an older release: send the message as a signal"))
        return await self.inbox.deliver(delivery.event)

    @deliver_event.validator
    def _validate_delivery(self, delivery: EventDelivery) -> None:
        if len(delivery.events()) != 1:
            raise refusals.error(Refusal(RefusalCode.INVALID_DELIVERY, "a delivery carries exactly one event"))
        self.continuing.refuse_when_busy()

    @workflow.update(name="complete_task")
    async def complete_task(self, cmd: TaskCompletion) -> TaskCompleted:
        if not self.this_run.v2:
            return await self.legacy.complete_task(self.tasks, cmd)
        receipt = await self.inbox.complete(cmd)
        if receipt.result is EventResult.REFUSED:  # the loser of a race is told who won
            raise refusals.error(receipt.refusal or Refusal(RefusalCode.REFUSED, receipt.detail))
        return TaskCompleted(task_key=cmd.task_key, outcome=cmd.outcome, stage=self.s.stage)

    @complete_task.validator
    def _validate_completion(self, cmd: TaskCompletion) -> None:
        """Refuse before anything is written (workflows/human_task.py ``check``)."""
        self.tasks.check(cmd)

    @workflow.query(name="view")
    def view(self) -> CaseView:
        return CaseView.of(self.s)


def _days(window: timedelta) -> int | float:
    """A window in days as records show it: whole days as an int (fractions only in tests)."""
    return window.days if window == timedelta(days=window.days) else window / timedelta(days=1)
