"""Stage D, detention (R30-R33), and the update validator: a refused completion writes nothing."""

from __future__ import annotations

from datetime import date

import pytest
from temporalio.client import WorkflowUpdateFailedError

from casework import rules
from casework.case import Stage, TaskCompletion
from casework.referral import DISCLOSABLE_PURPOSE, Certificate
from tests.support import CASEWORKER, PURSUIT_FACTORS, Case, eventually, through_stage_c
from casework.refusals import RefusalCode
from workflows.human_task import outcome_refusal


CONVICTIONS = [{"country": "PL", "offence": "Robbery", "category": "robbery", "conviction_date": "2010-05-06"}]
IMMIGRATION_CERTIFICATE = {"request_purpose": DISCLOSABLE_PURPOSE, "convictions": CONVICTIONS}
POLICE_CERTIFICATE = {"request_purpose": "Request for criminal proceedings", "convictions": CONVICTIONS}


async def refusal(case: Case, key: str, outcome: str, **details: object) -> str:
    """Try to complete a task; return the validator's reason (the update must be refused)."""
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await case.cases.complete_task(case.id, TaskCompletion(
            task_key=key, outcome=outcome, actor="co.smith", details=details))
    return refused.value.cause.message  # type: ignore[attr-defined]


async def snapshot(case: Case) -> tuple:
    """Everything a completion would write: tasks, the case row, notes, messages, audit."""
    return (
        [dict(t) for t in await case.tasks()],
        dict(await case.case_row()),
        await case.rows("SELECT * FROM notes WHERE case_id = $1 ORDER BY id"),
        await case.rows("SELECT * FROM outbound_messages WHERE case_id = $1 ORDER BY id"),
        await case.rows("SELECT * FROM audit_log WHERE case_id = $1 ORDER BY id"),
    )


@pytest.mark.parametrize(("nationality", "power"), [("PL", rules.POWER_EEA), ("NG", rules.POWER_NON_EEA)])
async def test_detention_refused_without_disclosable_convictions_until_a_usable_certificate_R30_R31_R32_R61(
    start, nationality, power
):
    case = await start(nationalities=[nationality], whereabouts={"status": "confirmed_address"})
    await through_stage_c(case, history="not_available")
    assert ("ACRO", "ACRO certificate request") in await case.messages()  # R23: ask ACRO for one
    key = await case.task("detention_decision")
    assert (await case.case_row())["disclosable"] is False
    before = await snapshot(case)

    reason = await refusal(case, key, "detain")
    assert reason.startswith("R30/R61: refused")
    assert "never detain on non-disclosable information" in reason
    assert await snapshot(case) == before  # nothing written: task open, no audit row, no power
    assert [t.key for t in (await case.view()).open_tasks] == [key]

    # R61: a certificate the police asked for criminal proceedings does not make it disclosable.
    await case.certificate(POLICE_CERTIFICATE, actor="acro.system")
    await eventually(case, "SELECT destroyed_at IS NOT NULL FROM certificates WHERE case_id = $1 AND seq = 2")
    assert (await refusal(case, key, "detain")).startswith("R30/R61: refused")

    await case.certificate(IMMIGRATION_CERTIFICATE, actor="acro.system")
    await eventually(case, "SELECT disclosable FROM cases WHERE id = $1")
    done = await case.complete("detention_decision", "detain", actor="co.smith")
    assert done.outcome == "detain"
    await case.task("pursuit_decision")
    row = await case.case_row()
    assert (row["detention_power"], row["custody"]) == (power, "detained")  # R31 (EEA) / R32 (non-EEA)
    certificates = await case.rows("SELECT seq, disclosable, destroyed_at FROM certificates WHERE case_id = $1 ORDER BY seq")
    assert [(c["seq"], c["disclosable"], c["destroyed_at"] is not None) for c in certificates] == [
        (1, True, False), (2, False, True), (3, True, False)]
    audit = await case.rows("SELECT actor, action, detail FROM audit_log WHERE case_id = $1 AND action = 'task completed'")
    assert ("co.smith", "detain") in [(a["actor"], a["detail"]["outcome"]) for a in audit]


async def test_unsuitable_for_detention_is_managed_non_detained_R33(start):
    case = await start(nationalities=["NG"], whereabouts={"status": "confirmed_address"})
    await through_stage_c(case)
    await case.complete("detention_decision", "unsuitable", reason="serious medical condition (EIG 55.10)")
    await case.task("pursuit_decision")
    row = await case.case_row()
    assert (row["custody"], row["detention_power"]) == ("managed non-detained", None)
    [task] = await case.rows("SELECT outcome_details FROM tasks WHERE case_id = $1 AND kind = 'detention_decision'")
    assert task["outcome_details"] == {"reason": "serious medical condition (EIG 55.10)"}


def test_a_criminal_proceedings_certificate_is_never_a_basis_for_deportation_R61():
    police = Certificate.model_validate(POLICE_CERTIFICATE)
    assert not rules.is_disclosable(police)
    assert not rules.may_detain(rules.is_disclosable(police))
    assert rules.is_disclosable(Certificate.model_validate(IMMIGRATION_CERTIFICATE))


async def test_update_validator_refuses_unknown_task_done_task_and_illegal_outcome(start):
    """R30 aside, the validator refuses what the task table or the case does not allow, before anything is written."""
    case = await start(whereabouts={"status": "confirmed_address"})
    allocation = await case.task("allocate_case_owner")
    before = await snapshot(case)

    assert await refusal(case, "pursuit_decision-7", "pursue", **PURSUIT_FACTORS) == (
        f"case {case.id} has no open task pursuit_decision-7")
    reason = await refusal(case, allocation, "deport")
    assert reason == "'deport' is not an outcome of allocate_case_owner; legal outcomes: allocated"
    reason = await refusal(case, allocation, "allocated", case_owner="no spaces allowed")
    assert reason.startswith("allocate_case_owner allocated: case_owner:")
    assert await snapshot(case) == before

    await case.complete("allocate_case_owner", "allocated", case_owner="co.smith")
    await case.task("offending_history_check")
    before = await snapshot(case)
    reason = await refusal(case, allocation, "allocated", case_owner="co.other")
    assert reason.startswith(f"task {allocation} is already done: completed by {CASEWORKER} at ")
    assert reason.endswith(" UTC (allocated)")
    assert await snapshot(case) == before
    assert (await case.case_row())["case_owner"] == "co.smith"
    assert (await case.view()).stage is Stage.LOCATED


# --- R30/R61: no deportation decision on convictions that are not available (issue 12, defect 2)


def assert_refused_citing_the_rules(reason: str, outcome: str) -> None:
    assert reason.startswith(f"R30/R61: refused – '{outcome}' "), reason
    assert "not disclosable for immigration purposes or not available" in reason
    assert "waits for a usable ACRO certificate" in reason and "casework event certificate" in reason


async def test_pursue_refused_without_disclosable_convictions_until_a_usable_certificate_R28_R30_R61(start):
    """The decision to pursue (R28) leads to the Stage 1 notice and the decision to deport:
    refused while the convictions are not available; the case waits, and once a disclosable
    certificate arrives it is accepted and the notice is served."""
    case = await start(nationalities=["NG"], whereabouts={"status": "confirmed_address"})
    await through_stage_c(case, history="not_available")
    await case.complete("detention_decision", "not_detained", reason="managed in the community")
    key = await case.task("pursuit_decision")
    before = await snapshot(case)

    assert_refused_citing_the_rules(await refusal(case, key, "pursue", **PURSUIT_FACTORS), "pursue")
    assert await snapshot(case) == before  # nothing written, no notice served
    assert (await case.view()).notice_served_at is None
    assert ("ACRO", "ACRO certificate request") in await case.messages()  # what the case waits for was asked

    await case.certificate(POLICE_CERTIFICATE)  # R61: still not usable
    await eventually(case, "SELECT destroyed_at IS NOT NULL FROM certificates WHERE case_id = $1 AND seq = 2")
    assert_refused_citing_the_rules(await refusal(case, key, "pursue", **PURSUIT_FACTORS), "pursue")

    await case.certificate(IMMIGRATION_CERTIFICATE)
    await eventually(case, "SELECT disclosable FROM cases WHERE id = $1")
    await case.complete("pursuit_decision", "pursue", actor="co.smith", **PURSUIT_FACTORS)
    await case.wait_for(lambda v: v.notice_served_at is not None)
    await case.representations()
    await case.complete("consideration_decision", "deport", actor="co.smith", address_known=True,
                        in_country_right_of_appeal=False)
    await case.task("deportation_enforcement")
    assert ("ICE", "ICE detention request") in await case.messages()  # R45, now on usable convictions


async def test_director_disagreeing_refused_without_disclosable_convictions_until_a_usable_certificate_R30_R51_R61(start):
    """"Disagree" sends the case back to the decision to deport (R51, Stage E): refused while
    the convictions are not available; not pursuing stays possible. Accepted once a usable
    certificate is held, and the decision to deport then is too."""
    case = await start(nationalities=["NG"], whereabouts={"status": "confirmed_address"})
    await through_stage_c(case, history="not_available")
    await case.complete("detention_decision", "not_detained", reason="managed in the community")
    await case.complete("pursuit_decision", "not_pursue", **PURSUIT_FACTORS)  # not a deportation decision
    key = await case.task("director_decision")
    before = await snapshot(case)

    assert_refused_citing_the_rules(await refusal(case, key, "disagree", reason="deport"), "disagree")
    assert await snapshot(case) == before
    assert (await case.view()).stage is Stage.NOT_PURSUED

    await case.certificate(IMMIGRATION_CERTIFICATE)
    await eventually(case, "SELECT disclosable FROM cases WHERE id = $1")
    await case.complete("director_decision", "disagree", actor="director.cc", reason="deportation is conducive")
    await case.wait_for(lambda v: v.stage is Stage.CONSIDERATION and v.notice_served_at is not None)
    await case.representations()
    await case.complete("consideration_decision", "deport", actor="co.smith", address_known=False,
                        in_country_right_of_appeal=False)
    await case.task("deportation_enforcement")


@pytest.mark.parametrize(("kind", "outcome", "details"), [
    ("detention_decision", "detain", {}),
    ("pursuit_decision", "pursue", PURSUIT_FACTORS),
    ("consideration_decision", "deport", {"address_known": True, "in_country_right_of_appeal": False}),
    ("director_decision", "disagree", {"reason": "deport"}),
])
def test_every_step_to_a_deportation_decision_or_detention_needs_disclosable_convictions_R30_R61(kind, outcome, details):
    """The validator's judgement (workflows/human_task.py ``outcome_refusal``) on convictions
    not available, and available. The three tests above prove it through the real update;
    a new case can no longer reach the decision to deport so (pursuing is refused first),
    but a live case that accepted "pursue" before this rule was enforced can: it waits too."""
    assert outcome_refusal(kind, outcome, details, disclosable=True, today=date(2030, 1, 1)) is None
    refused = outcome_refusal(kind, outcome, details, disclosable=False, today=date(2030, 1, 1))
    assert refused is not None
    assert (refused.code, refused.rule) == (RefusalCode.CONVICTIONS_NOT_DISCLOSABLE, "R30")  # typed (issue 20)
    assert_refused_citing_the_rules(refused.message, outcome)
