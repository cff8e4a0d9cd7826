"""Every message is applied once, in order, truthfully, in any stage (messages-v2).

Each test here failed on the release before messages-v2; the defect it proves fixed is
named in its docstring. The messages go as the CLI and API send them (the
``deliver_event`` update, whose answer is the case's own) or as fire-and-forget signals.
"""

from __future__ import annotations

import asyncio
import uuid

import pytest
from temporalio.client import WorkflowFailureError, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError

from casework import keys, rules
from casework.case import (
    CaseInput, CaseState, CertificateReceived, EventKind, EventResult, LeftUk, PersonLocated,
    RepresentationsReceived, Stage, TaskCompletion,
)
from casework.referral import DISCLOSABLE_PURPOSE
from casework.referral import Certificate
from cid import intake
from workflows.case import CaseWorkflow
from tests.support import CASEWORKER, busy, days, eventually, through_stage_c, until

DISCLOSABLE = {
    "request_purpose": DISCLOSABLE_PURPOSE,
    "convictions": [{"country": "PL", "offence": "Robbery", "category": "robbery", "conviction_date": "2010-05-06"}],
}
MOST_SERIOUS = {  # R12
    "request_purpose": DISCLOSABLE_PURPOSE,
    "convictions": [{"country": "PL", "offence": "Murder", "category": "homicide", "conviction_date": "2010-05-06"}],
}


async def _hold(case, event_id: str, certificate: dict = DISCLOSABLE) -> int:  # noqa: ANN001
    held = await intake.hold_certificate(case.pool, case.id, Certificate.model_validate(certificate), event_id=event_id,
                                         actor="acro.system")
    assert held is not None
    return held


async def test_event_ids_are_deduplicated_by_kind_not_across_kinds_R03_R16(start):
    """[messages] 1: a certificate and a "located" with the same event ID are two messages."""
    case = await start()
    await case.task("nbtc_check")
    held = await _hold(case, "shared-7")
    certificate = await case.deliver(CertificateReceived(event_id="shared-7", actor="acro.system", certificate_id=held))
    located = await case.deliver(PersonLocated(event_id="shared-7", actor="ice.system"))
    assert (certificate.result, located.result) == (EventResult.APPLIED, EventResult.APPLIED), (certificate, located)
    await case.task("allocate_case_owner")  # the "located" was applied: the case is in Stage C
    # The certificate was taken: its personal data no longer waits in the intake table.
    assert await case.row("SELECT payload FROM intake_certificates WHERE case_id = $1 AND id = $2", held) == (None,)
    recorded = {r["event_key"] for r in await case.rows("SELECT event_key FROM audit_log WHERE case_id = $1")}
    assert {keys.event_key(EventKind.CERTIFICATE, "shared-7"), keys.event_key(EventKind.LOCATED, "shared-7")} <= recorded


async def test_identical_repeat_is_already_applied_a_conflicting_one_refused_R16(start):
    """[messages] 1: a repeat with the same content is answered as such; with other content refused, never silently dropped."""
    case = await start()
    await case.task("nbtc_check")
    first = await case.deliver(PersonLocated(event_id="ice-1", actor="ice.system", custody="detained"))
    again = await case.deliver(PersonLocated(event_id="ice-1", actor="ice.system", custody="detained"))
    other = await case.deliver(PersonLocated(event_id="ice-1", actor="ice.system", custody="confirmed_address"))
    assert [r.result for r in (first, again, other)] == [EventResult.APPLIED, EventResult.ALREADY_APPLIED, EventResult.REFUSED]
    assert "different content" in other.detail
    assert (await case.case_row())["custody"] == "detained"  # the refused one changed nothing
    # A certificate's event ID with another certificate is refused before anything is held.
    await _hold(case, "acro-9")
    assert await intake.hold_certificate(case.pool, case.id, Certificate.model_validate({**DISCLOSABLE, "convictions": [
        {"country": "PL", "offence": "Fraud", "category": "fraud", "conviction_date": "2011-05-06"}]}),
        event_id="acro-9", actor="acro.system") is None


async def test_parallel_senders_of_one_event_are_each_told_the_truth_R16(start):
    """[messages] 1: two senders of the same event at once: one "applied", the other "already applied"."""
    case = await start()
    await case.task("nbtc_check")
    event = PersonLocated(event_id="dup-1", actor="ice.system")
    receipts = await asyncio.gather(*(case.deliver(event) for _ in range(4)))
    assert sorted(r.result for r in receipts) == [EventResult.ALREADY_APPLIED] * 3 + [EventResult.APPLIED]
    assert await case.row("SELECT count(*) FROM audit_log WHERE case_id = $1 AND event_key = $2",
                          keys.event_key(EventKind.LOCATED, "dup-1")) == (1,)


async def test_completion_racing_a_settling_message_is_refused_and_told_who_won_R14_R16(start):
    """[messages] 2: a person completes the ICE task just after ICE's "located" settled it: they
    are told it was completed by ICE; the CID, the audit log and the answer agree."""
    case = await start()
    await case.complete("nbtc_check", "in_uk")
    ice = await case.task("ice_tasking")
    await case.located(actor="ice.system", event_id="ice-race")
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await case.cases.complete_task(case.id, TaskCompletion(
            task_key=ice, outcome="unable_to_locate", actor=CASEWORKER, details={"reason": "not found"}))
    assert isinstance(refused.value.cause, ApplicationError)
    assert "completed by ice.system" in refused.value.cause.message
    [task] = await case.rows("SELECT outcome, completed_by FROM tasks WHERE case_id = $1 AND task_key = $2", ice)
    assert (task["outcome"], task["completed_by"]) == ("located", "ice.system")
    completed = await case.rows("SELECT actor FROM audit_log WHERE case_id = $1 AND event_key = $2", f"task-{ice}-completed")
    assert [a["actor"] for a in completed] == ["ice.system"]
    await case.task("allocate_case_owner")


async def test_unknown_certificate_is_refused_recorded_and_the_case_goes_on_R03(start):
    """[messages] 3: a certificate message naming no held certificate no longer freezes the case."""
    case = await start()
    await case.task("nbtc_check")
    receipt = await case.deliver(CertificateReceived(event_id="ghost-1", actor="acro.system", certificate_id=999_999_999))
    assert receipt.result is EventResult.REFUSED and "no certificate 999999999" in receipt.detail
    # Sent as a signal too (no one to answer): recorded on the case, and the case still moves.
    await case.handle.signal(CaseWorkflow.certificate_received,
                             CertificateReceived(event_id="ghost-2", actor="acro.system", certificate_id=999_999_998))
    await eventually(case, "SELECT count(*) = 2 FROM audit_log WHERE case_id = $1 AND action = 'message refused'")
    await case.complete("nbtc_check", "in_uk")
    await case.task("ice_tasking")


async def test_task_is_credited_to_the_sender_of_the_message_that_settled_it_R14_R16(start):
    """[integrity] 7: not to whoever sent the last message of any kind."""
    case = await start()
    await case.complete("nbtc_check", "in_uk")
    ice = await case.task("ice_tasking")
    await case.located(actor="ice.system", event_id="ice-loc")
    await case.representations(actor="cw.unrelated", event_id="reps-early")
    await case.task("allocate_case_owner")
    [task] = await case.rows("SELECT completed_by FROM tasks WHERE case_id = $1 AND task_key = $2", ice)
    assert task["completed_by"] == "ice.system"


async def test_left_uk_while_ice_is_tasked_closes_the_case_R11_R12(start):
    """[integrity] 4: applied and acted on: R11's outcome, R12's exclusion task for the most serious."""
    case = await start(certificate=MOST_SERIOUS)
    await case.complete("nbtc_check", "in_uk")
    ice = await case.task("ice_tasking")
    receipt = await case.deliver(LeftUk(event_id="nbtc-late", actor="nbtc.system"))
    assert receipt.result is EventResult.APPLIED and "R11" in receipt.detail
    await case.complete("exclusion_consideration", "no_exclusion", actor="scw.patel", reason="no grounds")
    assert await case.handle.result() == rules.OUTCOME_LEFT_UK
    [task] = await case.rows("SELECT outcome, completed_by FROM tasks WHERE case_id = $1 AND task_key = $2", ice)
    assert (task["outcome"], task["completed_by"]) == ("left_uk", "nbtc.system")
    assert ((await case.case_row())["outcome"]) == rules.OUTCOME_LEFT_UK


async def test_left_uk_while_dormant_closes_the_case_not_wanted_missing_for_good_R11_R16(start):
    """[integrity] 4: a dormant case told the person has left is closed under R11."""
    case = await start(certificate={**DISCLOSABLE, "convictions": [
        {"country": "PL", "offence": "Theft", "category": "theft", "conviction_date": "2010-05-06"}]})
    await case.complete("nbtc_check", "in_uk")
    await case.complete("ice_tasking", "unable_to_locate", reason="no trace")
    await case.wait_for(lambda v: v.stage is Stage.DORMANT)
    receipt = await case.deliver(LeftUk(event_id="nbtc-dormant", actor="nbtc.system"))
    assert receipt.result is EventResult.APPLIED
    assert await case.handle.result() == rules.OUTCOME_LEFT_UK
    row = await case.case_row()
    assert (row["status"], row["outcome"]) == ("closed", rules.OUTCOME_LEFT_UK)


async def test_left_uk_in_stage_c_asks_the_case_owner_who_may_close_under_R11(start):
    """[integrity] 4: once located, a report of leaving is the case owner's to judge, and says so."""
    case = await start(whereabouts={"status": "confirmed_address"}, certificate=MOST_SERIOUS)
    await case.complete("allocate_case_owner", "allocated", case_owner="co.smith")
    await case.task("offending_history_check")
    receipt = await case.deliver(LeftUk(event_id="nbtc-c", actor="nbtc.system"))
    assert receipt.result is EventResult.APPLIED and "left_uk_review-1" in receipt.detail
    review = await case.task("left_uk_review")
    [row] = await case.rows("SELECT team FROM tasks WHERE case_id = $1 AND task_key = $2", review)
    assert row["team"] == "co.smith"
    await case.complete("left_uk_review", "left_uk", actor="co.smith", reason="NBTC record of departure")
    await case.complete("exclusion_consideration", "no_exclusion", actor="scw.patel", reason="no grounds")
    assert await case.handle.result() == rules.OUTCOME_LEFT_UK
    tasks = {t["kind"]: t["status"] for t in await case.tasks()}
    assert tasks["offending_history_check"] == "cancelled"  # no open task on a closed case


async def test_left_uk_report_the_case_owner_rejects_changes_nothing_R11(start):
    case = await start(whereabouts={"status": "confirmed_address"})
    await case.complete("allocate_case_owner", "allocated", case_owner="co.smith")
    await case.deliver(LeftUk(event_id="nbtc-wrong", actor="nbtc.system"))
    await case.complete("left_uk_review", "not_left", actor="co.smith", reason="seen at his address yesterday")
    await case.complete("offending_history_check", "full_history_on_pnc")
    await case.task("police_contact")
    assert (await case.view()).stage is Stage.LOCATED


async def test_case_header_follows_the_case_R10_R16_R33(start):
    """[integrity] 8: custody after "located" and after not detained; the outcome of a dormant case
    cleared when it opens again; one "stage entered" per transition."""
    case = await start(certificate={**DISCLOSABLE, "convictions": [
        {"country": "PL", "offence": "Theft", "category": "theft", "conviction_date": "2010-05-06"}]})
    await case.complete("nbtc_check", "in_uk")
    await case.complete("ice_tasking", "unable_to_locate", reason="no trace")
    await case.wait_for(lambda v: v.stage is Stage.DORMANT)
    # The query says dormant as soon as the workflow enters it, before its activity has written the CID.
    await eventually(case, "SELECT outcome = $2 FROM cases WHERE id = $1", rules.OUTCOME_LIABLE_TO_DEPORT)
    await case.located(actor="police.pnc", event_id="found-1", custody="confirmed_address")
    await case.task("allocate_case_owner")
    row = await case.case_row()
    assert (row["status"], row["custody"], row["outcome"]) == ("open", "confirmed_address", None)
    await through_stage_c(case)
    await case.complete("detention_decision", "not_detained", reason="lives with family")
    await case.task("pursuit_decision")
    assert (await case.case_row())["custody"] == "not detained"
    entered = [r["detail"]["stage"] for r in await case.rows(
        "SELECT detail FROM audit_log WHERE case_id = $1 AND action = 'stage entered' ORDER BY id")]
    assert len(entered) == len(set(entered)) or all(a != b for a, b in zip(entered, entered[1:])), entered


async def test_a_first_run_cannot_carry_a_state_R30(ts_env, queue):
    """[api] 5: only continue-as-new may carry a state; a crafted one (disclosable, say) is refused."""
    crafted = CaseState(case_id="acro-case-CRAFTED1", stage=Stage.DETENTION, convictions_disclosable=True)
    handle = await ts_env.client.start_workflow(
        CaseWorkflow.run, CaseInput(state=crafted), id=f"acro-case-CRAFTED-{uuid.uuid4().hex[:8]}", task_queue=queue)
    with pytest.raises(WorkflowFailureError) as failed:
        await handle.result()
    assert "cannot carry a state" in str(failed.value.cause)


async def test_many_messages_in_a_long_wait_continue_as_new_carrying_the_task_exactly_R16(own_ts_env, pool):
    """[messages] 4/5: a burst in the NBTC wait and in the Stage 1 window: the case continues as new
    inside the wait (history bounded), the same task and deadline, escalations and window carried."""
    ts_env = own_ts_env  # a server of its own: no time lock left by an earlier test stalls its sleeps
    from casework.settings import ProcessSettings
    from tests.support import case_starter, running_worker

    limit = 300
    queue = f"burst-{uuid.uuid4().hex[:8]}"
    async with running_worker(ts_env.client, pool, queue, ProcessSettings(dormant_history_limit=limit)), \
            case_starter(ts_env.client, pool, queue) as start:
        case = await start(whereabouts={"status": "unknown"})
        nbtc = await case.task("nbtc_check")
        due = next(t.due_at for t in (await case.view()).open_tasks if t.key == nbtc)
        await ts_env.sleep(days(6))  # past NBTC's 5 days: escalated once
        await case.wait_for(lambda v: any(t.kind == "overdue_review" for t in v.open_tasks))
        for n in range(120):
            await case.deliver(RepresentationsReceived(event_id=f"noise-{n}", actor="cw.noise"))
        # Watched through the history, not the query, while it continues as new (see to_dormant
        # in tests/test_process_dormancy.py: the time-skipping server can lose a run's first task).
        await until(lambda: _settled_after(case, 3), "three runs, the last one settled")
        view = await case.view()
        [task] = [t for t in view.open_tasks if t.key == nbtc]
        assert (task.due_at, task.escalations, task.overdue) == (due, 1, True)
        assert (await case.row("SELECT count(*) FROM tasks WHERE case_id = $1 AND kind = 'nbtc_check'")) == (1,)
        lengths = await _run_lengths(case)
        assert max(lengths) <= limit, lengths
        await case.complete("nbtc_check", "in_uk")
        await case.task("ice_tasking")
        noise = await case.row("SELECT count(*) FROM audit_log WHERE case_id = $1 AND action = 'representations received'")
        assert noise == (120,)


async def _settled_after(case, runs: int) -> bool:  # noqa: ANN001
    return len(await _run_lengths(case)) >= runs and not await busy(case.handle)


async def _run_lengths(case) -> list[int]:  # noqa: ANN001
    """The length of every run of the case, oldest first."""
    lengths = []
    run_id = None
    handle = case.client.get_workflow_handle(case.id)
    while True:
        history = await case.client.get_workflow_handle(case.id, run_id=run_id).fetch_history()
        lengths.append(len(history.events))
        started = history.events[0].workflow_execution_started_event_attributes
        if not started.continued_execution_run_id:
            break
        run_id = started.continued_execution_run_id
    del handle
    return lengths[::-1]
