"""Stage B, first actions (R10-R15), against the time-skipping server and a real CID."""

from __future__ import annotations



from casework import rules
from casework.case import Stage
from casework.tasks import ICE, NBTC, SENIOR_CASEWORKER
from casework.referral import DISCLOSABLE_PURPOSE
from tests.support import through_stage_c


MOST_SERIOUS_CERTIFICATE = {
    "request_purpose": DISCLOSABLE_PURPOSE,
    "convictions": [{"country": "PL", "offence": "Murder", "category": "homicide", "conviction_date": "2009-01-02"}],
}


async def test_left_uk_closes_with_the_left_uk_outcome_R10_R11(start):
    case = await start()
    await case.wait_for(lambda v: v.stage is Stage.FIRST_ACTIONS)
    nbtc = await case.task("nbtc_check")
    view = await case.view()
    assert [t.team for t in view.open_tasks] == [NBTC]  # R10: NBTC establishes whether they left

    await case.complete("nbtc_check", "left_uk", actor="nbtc.officer")
    assert await case.handle.result() == rules.OUTCOME_LEFT_UK

    row = await case.case_row()
    assert (row["status"], row["stage"], row["outcome"]) == ("closed", "closed", rules.OUTCOME_LEFT_UK)
    assert row["closed_at"] is not None
    [task] = [t for t in await case.tasks() if t["task_key"] == nbtc]
    assert (task["team"], task["status"], task["outcome"], task["completed_by"]) == (NBTC, "done", "left_uk", "nbtc.officer")
    # No exclusion consideration (not most serious), no PNC marker, no ICE referral.
    assert {t["kind"] for t in await case.tasks()} == {"nbtc_check"}
    assert ("PNC Bureau", "ICD.5079") not in await case.messages()
    audit = await case.rows("SELECT actor, action, detail FROM audit_log WHERE case_id = $1 ORDER BY id")
    assert ("nbtc.officer", "task completed") in [(a["actor"], a["action"]) for a in audit]
    assert audit[-1]["action"] == "case closed" and audit[-1]["detail"]["outcome"] == rules.OUTCOME_LEFT_UK


async def test_left_uk_with_most_serious_offences_needs_an_exclusion_consideration_R12(start):
    case = await start(certificate=MOST_SERIOUS_CERTIFICATE)
    await case.complete("nbtc_check", "left_uk", actor="nbtc.officer")

    key = await case.task("exclusion_consideration")
    view = await case.view()
    assert [(t.kind, t.team) for t in view.open_tasks] == [("exclusion_consideration", SENIOR_CASEWORKER)]
    row = await case.case_row()
    # R11's outcome is recorded; the case stays open until the senior caseworker has considered exclusion.
    assert (row["status"], row["outcome"], row["most_serious"]) == ("open", rules.OUTCOME_LEFT_UK, True)

    await case.complete("exclusion_consideration", "exclusion_order_sought", actor="scw.patel",
                        reason="homicide conviction; exclusion order sought")
    assert await case.handle.result() == rules.OUTCOME_LEFT_UK
    row = await case.case_row()
    assert (row["status"], row["outcome"]) == ("closed", rules.OUTCOME_LEFT_UK)
    [task] = [t for t in await case.tasks() if t["task_key"] == key]
    assert (task["team"], task["outcome"], task["completed_by"]) == (SENIOR_CASEWORKER, "exclusion_order_sought", "scw.patel")
    assert task["outcome_details"] == {"reason": "homicide conviction; exclusion order sought"}


async def test_in_uk_marker_ice_referral_then_located_and_marker_removed_R13_R14_R15_R21(start):
    case = await start()
    await case.complete("nbtc_check", "in_uk", actor="nbtc.officer")
    ice_key = await case.task("ice_tasking")

    messages = await case.rows("SELECT recipient, form, body FROM outbound_messages WHERE case_id = $1 ORDER BY id")
    sent = [(m["recipient"], m["form"]) for m in messages]
    assert sent == [("PNC Bureau", "PNC check request"), ("PNC Bureau", "ICD.5079"), ("ICE", "ICE tasking referral")]
    assert messages[1]["body"] == {"marker": "wanted/missing", "action": "add"}  # R13
    audit = await case.rows("SELECT action, detail FROM audit_log WHERE case_id = $1 ORDER BY id")
    assert [a["detail"]["rule"] for a in audit if a["action"] == "restricted step reached"] == ["R05", "R15"]
    view = await case.view()
    assert [(t.kind, t.team) for t in view.open_tasks] == [("ice_tasking", ICE)]  # R14

    await case.complete("ice_tasking", "located", actor="ice.officer", location="Leeds", detained=False)
    await case.task("allocate_case_owner")
    assert (await case.view()).stage is Stage.LOCATED
    assert (await case.case_row())["stage"] == Stage.LOCATED.value
    # R20 first, then R21: the marker this case added is removed with ICD5080.
    await case.complete("allocate_case_owner", "allocated", case_owner="co.smith")
    await case.task("offending_history_check")
    messages = await case.rows("SELECT recipient, form, body FROM outbound_messages WHERE case_id = $1 ORDER BY id")
    assert [(m["recipient"], m["form"]) for m in messages][-1] == ("PNC Bureau", "ICD5080")
    assert messages[-1]["body"] == {"marker": "wanted/missing", "action": "remove"}
    row = await case.case_row()
    assert row["case_owner"] == "co.smith"
    [ice] = [t for t in await case.tasks() if t["task_key"] == ice_key]
    assert (ice["outcome"], ice["completed_by"], ice["outcome_details"]) == (
        "located", "ice.officer", {"location": "Leeds", "detained": False})


async def test_located_from_the_start_skips_nbtc_and_never_sends_icd5080_R10_R21(start):
    case = await start(whereabouts={"status": "confirmed_address"})
    await case.task("allocate_case_owner")
    assert (await case.view()).stage is Stage.LOCATED  # R10: whereabouts known -> Stage C
    await through_stage_c(case)
    await case.task("detention_decision")
    forms = [form for _, form in await case.messages()]
    assert "ICD5080" not in forms and "ICD.5079" not in forms
    assert {t["kind"] for t in await case.tasks()} == {"allocate_case_owner", "offending_history_check", "police_contact", "detention_decision"}
