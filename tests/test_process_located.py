"""Stage C, person located (R20-R28): allocation, the history check, the police, pending
prosecutions and the recorded decision to pursue."""

from __future__ import annotations


import pytest
from temporalio.client import WorkflowUpdateFailedError

from casework.case import Stage, TaskCompletion
from tests.support import PURSUIT_FACTORS, Case, through_stage_c


async def located_case(start) -> Case:
    case = await start(whereabouts={"status": "confirmed_address"})
    await case.wait_for(lambda v: v.stage is Stage.LOCATED)
    return case


async def test_allocation_gives_the_case_owner_the_case_owner_tasks_then_detention_R20_R22_R24(start):
    case = await located_case(start)
    await case.task("allocate_case_owner")
    [allocation] = (await case.view()).open_tasks
    assert (allocation.kind, allocation.team) == ("allocate_case_owner", "CC EEA Team")  # the routed team, until allocated

    await case.complete("allocate_case_owner", "allocated", actor="tl.khan", case_owner="co.smith")
    await case.task("offending_history_check")
    assert (await case.case_row())["case_owner"] == "co.smith"
    assert [t.team for t in (await case.view()).open_tasks] == ["co.smith"]
    await case.complete("offending_history_check", "full_history_on_pnc", actor="co.smith")
    # R24: the police officer is contacted; what they hold is recorded with the outcome.
    await case.complete("police_contact", "no_pending_prosecution", actor="co.smith",
                        charges="none", information_held="passport copy held by police")
    await case.task("detention_decision")
    [police] = await case.rows("SELECT team, outcome, outcome_details, completed_by FROM tasks WHERE case_id = $1 AND kind = 'police_contact'")
    assert dict(police) == {"team": "co.smith", "outcome": "no_pending_prosecution", "completed_by": "co.smith",
                            "outcome_details": {"charges": "none", "information_held": "passport copy held by police"}}
    audit = await case.rows("SELECT actor, action, detail FROM audit_log WHERE case_id = $1 AND action = 'task completed'")
    assert [(a["actor"], a["detail"]["outcome"]) for a in audit] == [
        ("tl.khan", "allocated"), ("co.smith", "full_history_on_pnc"), ("co.smith", "no_pending_prosecution")]
    assert not await case.rows("SELECT 1 FROM notes WHERE case_id = $1 AND note_key = 'r26'")


@pytest.mark.parametrize("evidence", [True, False])
async def test_further_acro_check_only_on_evidence_of_leaving_and_offending_R23(start, evidence):
    case = await located_case(start)
    await case.complete("allocate_case_owner", "allocated", case_owner="co.smith")
    await case.complete("offending_history_check", "acro_certificate_held", evidence_left_and_offended=evidence)
    await case.task("police_contact")
    further = ("ACRO", "ACRO further overseas check") in await case.messages()
    assert further is evidence
    assert (await case.case_row())["disclosable"] is True


@pytest.mark.parametrize("police", ["not_pursued", "acquittal_likely"])
async def test_prosecution_dropped_or_acquittal_likely_notes_detention_to_be_arranged_R25_R26(start, police):
    case = await located_case(start)
    await through_stage_c(case, police=police)
    await case.task("detention_decision")  # R26 -> R22: the detention decision comes next
    [note] = await case.rows("SELECT text FROM notes WHERE case_id = $1 AND note_key = 'r26'")
    assert note["text"].startswith("R26: prosecution not pursued or acquittal likely")
    assert "detention under immigration powers" in note["text"]


async def test_prosecution_continuing_case_owner_waits_for_it_then_continues_R25_R27(start):
    case = await located_case(start)
    await through_stage_c(case, police="continuing")
    await case.complete("prosecution_decision", "await_prosecution", actor="co.smith",
                        reason="serious charge, trial listed in 3 months")
    outcome = await case.task("prosecution_outcome")
    assert [t.kind for t in (await case.view()).open_tasks] == ["prosecution_outcome"]
    await case.complete("prosecution_outcome", "convicted", actor="co.smith", reason="convicted at Crown Court")
    await case.task("detention_decision")
    kinds = [(t["kind"], t["outcome"]) for t in await case.tasks()]
    assert kinds[-3:] == [("prosecution_decision", "await_prosecution"), ("prosecution_outcome", "convicted"), ("detention_decision", None)]
    assert outcome == "prosecution_outcome-1"
    assert not await case.rows("SELECT 1 FROM notes WHERE case_id = $1 AND note_key = 'r26'")


async def test_prosecution_continuing_case_owner_decides_now_R27(start):
    case = await located_case(start)
    await through_stage_c(case, police="continuing")
    await case.complete("prosecution_decision", "proceed_now", reason="minor charge; deportation decision now")
    await case.task("detention_decision")
    assert "prosecution_outcome" not in [t["kind"] for t in await case.tasks()]


async def test_pursuit_decision_records_its_three_factors_and_refuses_one_missing_R28(start):
    case = await located_case(start)
    await through_stage_c(case)
    await case.complete("detention_decision", "not_detained", reason="address known, reports weekly")
    key = await case.task("pursuit_decision")
    audit_before = await case.audit_actions()

    missing = {k: v for k, v in PURSUIT_FACTORS.items() if k != "uk_convictions"}
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await case.cases.complete_task(case.id, TaskCompletion(
            task_key=key, outcome="pursue", actor="co.smith", details=missing))
    assert refused.value.cause.message == "pursuit_decision pursue: uk_convictions: required, and missing"
    [task] = await case.rows("SELECT status, outcome FROM tasks WHERE case_id = $1 AND task_key = $2", key)
    assert (task["status"], task["outcome"]) == ("open", None)
    assert await case.audit_actions() == audit_before

    await case.complete("pursuit_decision", "pursue", actor="co.smith", **PURSUIT_FACTORS)
    await case.wait_for(lambda v: v.stage is Stage.CONSIDERATION)
    [task] = await case.rows("SELECT outcome, outcome_details FROM tasks WHERE case_id = $1 AND task_key = $2", key)
    assert (task["outcome"], task["outcome_details"]) == ("pursue", PURSUIT_FACTORS)
