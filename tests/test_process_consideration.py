"""Stage E, deportation consideration (R40-R46): the notice, the 10/20-day window on the
workflow's own clock, the ICE detention request, enforcement."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from casework import rules
from casework.case import Stage
from tests.support import Case, days, to_consideration


#: Real time that passes on the server's clock while the worker runs a few activities.
SLACK = timedelta(minutes=1)


async def in_prison_until(ts_env, after: timedelta) -> dict:
    """Whereabouts of someone serving a sentence, released ``after`` from the server's (virtual) now."""
    now = await ts_env.get_current_time()
    return {"status": "in_prison", "release_date": (now + after).date().isoformat()}


async def notice(case: Case) -> dict:
    [row] = await case.rows(
        "SELECT recipient, form, body, sent_at FROM outbound_messages WHERE case_id = $1 AND message_key = 'stage1-notice'")
    return dict(row)


async def opened_at(case: Case, kind: str) -> datetime:
    [row] = await case.rows("SELECT created_at FROM tasks WHERE case_id = $1 AND kind = $2", kind)
    return row["created_at"]


async def window_ended(case: Case) -> dict:
    [row] = await case.rows(
        "SELECT actor, detail, occurred_at FROM audit_log WHERE case_id = $1 AND action = 'response window ended'")
    return dict(row)


@pytest.mark.parametrize(("nationality", "form"), [("PL", rules.NOTICE_EEA), ("NG", rules.NOTICE_NON_EEA)])
async def test_serving_a_sentence_gets_the_stage_1_notice_and_20_days_R40_R41_R42(start, ts_env, nationality, form):
    case = await start(nationalities=[nationality], whereabouts=await in_prison_until(ts_env, days(200)))
    await to_consideration(case)  # R40: located (in prison) before consideration begins

    served = await notice(case)
    assert (served["recipient"], served["form"]) == ("subject", form)  # R41
    assert served["body"]["window_days"] == 20  # R42
    assert datetime.fromisoformat(served["body"]["respond_by"]) - served["sent_at"] == days(20)
    view = await case.view()
    assert view.stage is Stage.CONSIDERATION and view.respond_by - view.notice_served_at == days(20)
    assert not any(t.kind == "consideration_decision" for t in view.open_tasks)

    await ts_env.sleep(days(19))  # still inside the window: no decision task yet
    assert not any(t.kind == "consideration_decision" for t in (await case.view()).open_tasks)
    await ts_env.sleep(days(2))
    await case.task("consideration_decision")  # R44
    # On the workflow's (simulated) clock the window ended exactly 20 days after service,
    # and the decision task opened then (the few activities between take real milliseconds).
    ended = await window_ended(case)
    assert ended["occurred_at"] - served["sent_at"] == days(20)
    assert ended["detail"] == {"result": "no representations", "window_days": 20}
    assert ended["actor"] == "system:case-workflow"
    assert days(20) <= await opened_at(case, "consideration_decision") - served["sent_at"] < days(20) + SLACK


async def test_release_inside_the_window_gets_10_days_R42_R43(start, ts_env):
    case = await start(whereabouts=await in_prison_until(ts_env, days(15)))
    await to_consideration(case)
    served = await notice(case)
    assert (served["form"], served["body"]["window_days"]) == (rules.NOTICE_EEA, 10)
    await ts_env.sleep(days(11))
    await case.task("consideration_decision")
    ended = await window_ended(case)
    assert ended["occurred_at"] - served["sent_at"] == days(10)
    assert ended["detail"] == {"result": "no representations", "window_days": 10}
    assert days(10) <= await opened_at(case, "consideration_decision") - served["sent_at"] < days(10) + SLACK


async def test_detained_gets_10_days_and_representations_on_day_3_end_the_wait_R43(start, ts_env):
    case = await start(nationalities=["NG"], whereabouts={"status": "detained"})
    await to_consideration(case, detention="detain")
    served = await notice(case)
    assert (served["form"], served["body"]["window_days"]) == (rules.NOTICE_NON_EEA, 10)

    await ts_env.sleep(days(3))
    await case.representations(actor="solicitor.brown", event_id="reps-1")
    await case.task("consideration_decision")
    assert days(3) <= await opened_at(case, "consideration_decision") - served["sent_at"] < days(3) + SLACK  # not day 10
    ended = await window_ended(case)
    assert days(3) <= ended["occurred_at"] - served["sent_at"] < days(3) + SLACK
    assert ended["detail"] == {"result": "representations received", "window_days": 10}
    audit = await case.rows("SELECT actor, action, detail FROM audit_log WHERE case_id = $1 AND action = 'representations received'")
    assert [(a["actor"], a["detail"]["event_id"]) for a in audit] == [("solicitor.brown", "reps-1")]


# R45: ask the local ICE team to detain exactly when all four conditions hold.
R45_CASES = [
    # (how found, detention decision, address known, in-country appeal, request expected)
    pytest.param("address", "detain", True, False, False, id="detained-no-request"),
    pytest.param("address", "not_detained", False, False, False, id="address-unknown-no-request"),
    pytest.param("address", "not_detained", True, True, False, id="in-country-appeal-no-request"),
    pytest.param("address", "not_detained", True, False, True, id="all-four-request"),
    # Located in detention, then found unsuitable (R33): no longer detained, so ICE is asked.
    pytest.param("detained", "unsuitable", True, False, True, id="released-unsuitable-request"),
]


@pytest.mark.parametrize(("found", "detention", "address_known", "appeal", "expected"), R45_CASES)
async def test_ice_detention_request_only_when_its_four_conditions_hold_R45(
    start, found, detention, address_known, appeal, expected
):
    if found == "address":
        case = await start(whereabouts={"status": "confirmed_address"})
    else:  # found by ICE while the NBTC check is open
        case = await start()
        await case.task("nbtc_check")
        await case.located(custody="detained")
    await to_consideration(case, detention=detention)
    await case.representations()  # end the window at once: the decision is what this test is about
    await case.complete("consideration_decision", "deport", address_known=address_known, in_country_right_of_appeal=appeal)
    await case.task("deportation_enforcement")
    requests = [m for m in await case.messages() if m == ("ICE", "ICE detention request")]
    assert requests == ([("ICE", "ICE detention request")] if expected else [])
    [task] = await case.rows("SELECT outcome_details FROM tasks WHERE case_id = $1 AND kind = 'consideration_decision'")
    assert task["outcome_details"] == {"address_known": address_known, "in_country_right_of_appeal": appeal}


async def test_deportation_enforced_informs_relevant_departments_and_closes_R44_R46(start):
    case = await start(nationalities=["NG"], whereabouts={"status": "confirmed_address"})
    await to_consideration(case)
    await case.representations()
    await case.complete("consideration_decision", "deport", actor="co.smith", address_known=True, in_country_right_of_appeal=False)
    await case.complete("deportation_enforcement", "enforced", actor="co.smith", departed_on="2024-03-01")
    assert await case.handle.result() == rules.OUTCOME_DEPORTED

    messages = await case.messages()
    assert messages[-1] == ("relevant departments", "Post-deportation notification")
    assert messages.index(("ICE", "ICE detention request")) < messages.index(("relevant departments", "Post-deportation notification"))
    row = await case.case_row()
    assert (row["status"], row["stage"], row["outcome"]) == ("closed", "closed", rules.OUTCOME_DEPORTED)
    assert not [t for t in await case.tasks() if t["status"] == "open"]
    [enforced] = await case.rows("SELECT outcome_details, completed_by FROM tasks WHERE case_id = $1 AND kind = 'deportation_enforcement'")
    assert (enforced["outcome_details"], enforced["completed_by"]) == ({"departed_on": "2024-03-01"}, "co.smith")
    audit = await case.rows("SELECT actor, action FROM audit_log WHERE case_id = $1 ORDER BY id")
    assert [(a["actor"], a["action"]) for a in audit][-1] == ("system:case-workflow", "case closed")
    assert ("co.smith", "task completed") in [(a["actor"], a["action"]) for a in audit]


async def test_a_deportation_departed_on_in_the_future_is_refused_naming_the_field_R46(start):
    """Input that cannot be true (issue 12, defect 5): a deportation recorded as enforced on a
    date after the case's business date. Refused before anything is written; a past date is taken."""
    from temporalio.client import WorkflowUpdateFailedError

    from casework.case import TaskCompletion
    from workflows.case import CaseWorkflow

    case = await start(whereabouts={"status": "confirmed_address"})
    await to_consideration(case)
    await case.representations()
    await case.complete("consideration_decision", "deport", address_known=True, in_country_right_of_appeal=False)
    key = await case.task("deportation_enforcement")
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await case.handle.execute_update(CaseWorkflow.complete_task, TaskCompletion(
            task_key=key, outcome="enforced", actor="co.smith", details={"departed_on": "2999-01-01"}))
    reason = refused.value.cause.message  # type: ignore[attr-defined]
    assert reason.startswith("deportation_enforcement enforced: departed_on: ") and "2999-01-01 is in the future" in reason
    assert [t["status"] for t in await case.tasks() if t["task_key"] == key] == ["open"]
    await case.complete("deportation_enforcement", "enforced", departed_on="2024-03-01")
    assert await case.handle.result() == rules.OUTCOME_DEPORTED
