"""Stage F, deportation not pursued (R47, R50-R53), and the Director's disagreement (back to Stage E)."""

from __future__ import annotations


import pytest

from casework import rules
from casework.case import Stage
from casework.tasks import DIRECTOR
from tests.support import PURSUIT_FACTORS, through_stage_c, to_consideration


NOT_PURSUED_REASON = "Article 8: long residence, British children"


@pytest.mark.parametrize("removals", ["referred_to_removals", "resides_lawfully"])
async def test_not_pursued_director_agrees_removals_considered_acro_advised_R47_R50_R51_R52_R53(start, removals):
    case = await start(nationalities=["NG"], whereabouts={"status": "confirmed_address"})
    await to_consideration(case)
    await case.representations()
    decision = await case.task("consideration_decision")
    await case.complete("consideration_decision", "not_pursue", actor="co.smith", reason=NOT_PURSUED_REASON)  # R47

    director = await case.task("director_decision")
    view = await case.view()
    assert view.stage is Stage.NOT_PURSUED
    assert [(t.kind, t.team) for t in view.open_tasks] == [("director_decision", DIRECTOR)]
    [submission] = await case.rows(
        "SELECT recipient, form, body FROM outbound_messages WHERE case_id = $1 AND form LIKE 'Submission%'")
    assert (submission["recipient"], submission["form"]) == ("CC Director (SCS PB1)", "Submission: deportation not appropriate")
    # R50: the submission gives the reasons, by reference to the decision they are recorded with.
    assert submission["body"] == {"reasons_recorded_with": decision}
    [decided] = await case.rows("SELECT outcome_details FROM tasks WHERE case_id = $1 AND task_key = $2", decision)
    assert decided["outcome_details"] == {"reason": NOT_PURSUED_REASON}

    await case.complete("director_decision", "agree", actor="director.cc", reason="agree: not conducive to pursue")
    await case.task("removals_consideration")  # R51: the case owner considers removals
    await case.complete("removals_consideration", removals, actor="co.smith", reason="considered")
    assert await case.handle.result() == rules.OUTCOME_NOT_PURSUED

    messages = await case.messages()
    assert (("Removals Casework", "Referral for administrative removal") in messages) is (removals == "referred_to_removals")
    notes = [n["text"] for n in await case.rows("SELECT text FROM notes WHERE case_id = $1")]
    assert ("R51: satisfied the person resides lawfully in the UK" in notes) is (removals == "resides_lawfully")
    assert messages[-1] == ("ACRO", "Advice: deportation not being pursued")  # R52
    audit = await case.rows("SELECT actor, action, detail FROM audit_log WHERE case_id = $1 ORDER BY id")
    restricted = [a["detail"]["rule"] for a in audit if a["action"] == "restricted step reached"]
    assert restricted == ["R05", "R53"]  # R53: reached, recorded, nothing invented
    assert ("director.cc", "task completed") in [(a["actor"], a["action"]) for a in audit]
    assert (audit[-1]["action"], audit[-1]["detail"]["outcome"]) == ("case closed", rules.OUTCOME_NOT_PURSUED)
    row = await case.case_row()
    assert (row["status"], row["outcome"]) == ("closed", rules.OUTCOME_NOT_PURSUED)
    [done] = await case.rows("SELECT outcome, completed_by FROM tasks WHERE case_id = $1 AND task_key = $2", director)
    assert (done["outcome"], done["completed_by"]) == ("agree", "director.cc")
    assert ("subject", rules.NOTICE_NON_EEA) in messages  # the notice was served before the decision


async def test_director_disagrees_case_returns_to_stage_e_and_is_deported_R28_R51(start):
    case = await start(whereabouts={"status": "confirmed_address"})
    await through_stage_c(case)
    await case.complete("detention_decision", "detain")
    await case.complete("pursuit_decision", "not_pursue", actor="co.smith", **PURSUIT_FACTORS)
    director = await case.task("director_decision")
    [submission] = await case.rows("SELECT body FROM outbound_messages WHERE case_id = $1 AND form LIKE 'Submission%'")
    assert submission["body"] == {"reasons_recorded_with": "pursuit_decision-1"}
    assert not any(f.startswith("Stage 1") for _, f in await case.messages())

    await case.complete("director_decision", "disagree", actor="director.cc", reason="deportation is conducive")
    # R51 (interpretation): back to Stage E, which serves its notice now.
    view = await case.wait_for(lambda v: v.stage is Stage.CONSIDERATION and v.notice_served_at is not None)
    assert view.respond_by - view.notice_served_at == rules.SHORT_WINDOW  # detained: 10 days (R43)
    await case.representations()
    await case.complete("consideration_decision", "deport", address_known=True, in_country_right_of_appeal=False)
    await case.complete("deportation_enforcement", "enforced", departed_on="2024-06-01")
    assert await case.handle.result() == rules.OUTCOME_DEPORTED

    stages = [a["detail"].get("stage") for a in await case.rows(
        "SELECT detail FROM audit_log WHERE case_id = $1 AND action = 'stage entered' ORDER BY id")]
    assert stages.index(Stage.NOT_PURSUED.value) < stages.index(Stage.CONSIDERATION.value)
    messages = await case.messages()
    assert ("ACRO", "Advice: deportation not being pursued") not in messages
    assert ("ICE", "ICE detention request") not in messages  # detained (R45)
    assert messages[-1] == ("relevant departments", "Post-deportation notification")
    [done] = await case.rows("SELECT outcome FROM tasks WHERE case_id = $1 AND task_key = $2", director)
    assert done["outcome"] == "disagree"
    assert (await case.case_row())["outcome"] == rules.OUTCOME_DEPORTED
