"""Truthful receipts (issue 25 item 3): what the case tells a sender is what it then did.

Each receipt the case gives in the three situations the issue found is asserted word for
word against the state the case is in afterwards (its query, its tasks, the CID).
"""

from __future__ import annotations

import pytest
from temporalio.client import WorkflowUpdateFailedError

from casework.case import EventResult, PersonLocated, RepresentationsReceived, Stage, TaskCompletion
from starter.exits import Exit
from tests.cli_support import Casework, cw_api  # noqa: F401 - cw_api is a fixture
from tests.support import CASEWORKER, Case, days, eventually, to_consideration
from tests.test_process_dormancy import to_dormant
from workflows.human_task import DORMANT_REFUSAL
from workflows.messages import LOCATED_AWAITING_CERTIFICATE, RECORDED_AFTER_WINDOW

POLICE_ROBBERY = {  # R61: for criminal proceedings, so not disclosable for immigration purposes (R03)
    "request_purpose": "Request for criminal proceedings", "issued_on": "2020-01-02",
    "convictions": [{"country": "PL", "offence": "Robbery", "category": "robbery", "conviction_date": "2010-05-06"}],
}
WINDOW_ENDS = "representations recorded; the Stage 1 response window ends (R43)"


async def _representations_audited(case: Case) -> list[str]:
    return [r["detail"]["event_id"] for r in await case.rows(
        "SELECT detail FROM audit_log WHERE case_id = $1 AND action = 'representations received' ORDER BY id")]


async def test_representations_after_the_window_ended_are_recorded_and_reopen_nothing_R43(start, ts_env):
    case = await start(nationalities=["NG"], whereabouts={"status": "detained"})
    await to_consideration(case, detention="detain")
    await ts_env.sleep(days(11))  # the 10-day window (R42) ends with no representations
    decision = await case.task("consideration_decision")

    receipt = await case.deliver(RepresentationsReceived(event_id="reps-late", actor="solicitor.brown"))

    assert (receipt.result, receipt.detail) == (EventResult.APPLIED, RECORDED_AFTER_WINDOW)
    view = await case.view()
    assert view.stage is Stage.CONSIDERATION and [t.key for t in view.open_tasks] == [decision]  # not reopened
    [ended] = await case.rows("SELECT detail FROM audit_log WHERE case_id = $1 AND action = 'response window ended'")
    assert ended["detail"]["result"] == "no representations"  # the window's record stands
    assert await _representations_audited(case) == ["reps-late"]  # recorded all the same


async def test_representations_after_earlier_ones_ended_the_window_are_told_so_R43(start, ts_env):
    case = await start(nationalities=["NG"], whereabouts={"status": "detained"})
    await to_consideration(case, detention="detain")
    first = await case.deliver(RepresentationsReceived(event_id="reps-1", actor="solicitor.brown"))
    assert first.detail == WINDOW_ENDS
    await case.task("consideration_decision")  # the first ended the window: the decision is open

    second = await case.deliver(RepresentationsReceived(event_id="reps-2", actor="solicitor.brown"))

    assert (second.result, second.detail) == (EventResult.APPLIED, RECORDED_AFTER_WINDOW)
    view = await case.view()
    assert view.stage is Stage.CONSIDERATION and [t.kind for t in view.open_tasks] == ["consideration_decision"]
    assert await _representations_audited(case) == ["reps-1", "reps-2"]


async def test_located_while_awaiting_a_certificate_waits_for_one_and_keeps_the_whereabouts_R03_R20(start):
    case = await start(certificate=POLICE_ROBBERY)
    await case.task("await_certificate")

    receipt = await case.deliver(PersonLocated(event_id="ice-early", actor="ice.system", custody="detained"))

    assert (receipt.result, receipt.detail) == (EventResult.APPLIED, LOCATED_AWAITING_CERTIFICATE.format(custody="detained"))
    view = await case.view()
    assert view.stage is Stage.AWAITING_CERTIFICATE  # it waits (R03): nothing goes to a case owner
    assert [t.kind for t in view.open_tasks] == ["await_certificate"]
    # The whereabouts were recorded in the CID.
    await eventually(case, "SELECT count(*) = 1 FROM audit_log WHERE case_id = $1 AND action = 'whereabouts recorded' "
                           "AND detail->>'custody' = 'detained'")


async def test_a_decision_on_a_dormant_case_is_refused_citing_R40_and_dormancy_R16(start):
    case = await start()
    await to_dormant(case)

    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await case.cases.complete_task(case.id, TaskCompletion(
            task_key="consideration_decision-1", outcome="deport", actor=CASEWORKER, details={}))

    text = str(getattr(refused.value.cause, "message", refused.value.cause))
    assert text == DORMANT_REFUSAL.format(case_id=case.id, key="consideration_decision-1")
    assert "R40" in text and "dormant" in text
    view = await case.view()
    assert (view.stage, view.open_tasks) == (Stage.DORMANT, [])  # and nothing changed


async def test_a_decision_on_a_dormant_case_at_the_terminal_is_refused_citing_R40(cw_api: Casework, start) -> None:
    case = await start()  # a PL national: the CC EEA Team's case (R06), which cw.ben sees
    await to_dormant(case)

    ran = await cw_api("complete", f"{case.id}:consideration_decision-1", "--outcome", "deport", who="cw.ben")

    assert ran.code == Exit.REFUSED, str(ran)
    assert ran.one_error_line() == (
        f"casework: R40: {case.id} is dormant (the person has not been located): no decision is made "
        "and no task consideration_decision-1 is open on it until a 'person located' message")
    assert (await case.view()).stage is Stage.DORMANT
