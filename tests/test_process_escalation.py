"""Every wait on a human team has a deadline; past it the case escalates to a senior
caseworker and is marked overdue, with a bounded number of reminders (process.md, "Time")."""

from __future__ import annotations

from datetime import timedelta


from casework.case import Stage, TaskCompletion
from casework.settings import ProcessSettings
from casework.tasks import SENIOR_CASEWORKER
from tests.support import days

SETTINGS = ProcessSettings()
SLACK = timedelta(minutes=1)  # real time passing on the server's clock while activities run


async def test_missed_deadline_escalates_reminds_a_bounded_number_of_times_and_clears_when_done_R10(start, ts_env):
    case = await start()
    key = await case.task("nbtc_check")
    [nbtc] = await case.rows("SELECT created_at, due_at FROM tasks WHERE case_id = $1 AND task_key = $2", key)
    assert nbtc["due_at"] - nbtc["created_at"] == SETTINGS.deadline("nbtc_check")

    await ts_env.sleep(SETTINGS.deadline("nbtc_check") - timedelta(hours=1))
    assert not (await case.view()).overdue and not (await case.case_row())["overdue"]

    await ts_env.sleep(timedelta(hours=2))  # the deadline passes
    view = await case.wait_for(lambda v: any(t.kind == "overdue_review" for t in v.open_tasks))
    assert view.overdue
    assert [(t.kind, t.team) for t in view.open_tasks if t.kind == "overdue_review"] == [("overdue_review", SENIOR_CASEWORKER)]
    assert (await case.case_row())["overdue"] is True
    [task] = await case.rows("SELECT overdue, status FROM tasks WHERE case_id = $1 AND task_key = $2", key)
    assert (task["overdue"], task["status"]) == (True, "open")
    audit = await case.rows("SELECT actor, action, detail, occurred_at FROM audit_log WHERE case_id = $1 AND action = 'task escalated'")
    assert [(a["actor"], a["detail"]) for a in audit] == [("system:case-workflow", {"task": key, "escalation": 1})]
    assert nbtc["due_at"] <= audit[0]["occurred_at"] < nbtc["due_at"] + SLACK

    # Far past every reminder: exactly max_escalations, a reminder_interval apart, then none.
    await ts_env.sleep(days(365))
    reviews = await case.rows(
        "SELECT task_key, team, escalates, created_at, status FROM tasks WHERE case_id = $1 AND kind = 'overdue_review' ORDER BY id")
    assert len(reviews) == SETTINGS.max_escalations == 3
    assert {(r["team"], r["escalates"], r["status"]) for r in reviews} == {(SENIOR_CASEWORKER, key, "open")}
    for n, review in enumerate(reviews):
        expected = nbtc["due_at"] + n * timedelta(days=SETTINGS.reminder_interval_days)
        assert expected <= review["created_at"] < expected + SLACK
    assert (await case.audit_actions()).count("task escalated") == 3
    view = await case.view()
    assert view.stage is Stage.FIRST_ACTIONS and view.overdue
    assert [t.escalations for t in view.open_tasks if t.key == key] == [3]

    # Completing the overdue task clears the case's overdue mark; the reviews stay for the SCW.
    await case.complete("nbtc_check", "in_uk", actor="nbtc.officer")
    await case.task("ice_tasking")
    assert (await case.case_row())["overdue"] is False
    assert not (await case.view()).overdue
    [task] = await case.rows("SELECT overdue, status, outcome FROM tasks WHERE case_id = $1 AND task_key = $2", key)
    assert (task["status"], task["outcome"]) == ("done", "in_uk")

    review = reviews[0]["task_key"]
    await case.cases.complete_task(case.id, TaskCompletion(task_key=review, outcome="reviewed", actor="scw.patel",
                                                           details={"reason": "NBTC chased"}))
    [done] = await case.rows("SELECT status, completed_by FROM tasks WHERE case_id = $1 AND task_key = $2", review)
    assert (done["status"], done["completed_by"]) == ("done", "scw.patel")


async def test_routed_team_task_escalates_to_a_senior_caseworker_before_allocation_R06_R20(start, ts_env):
    case = await start(whereabouts={"status": "confirmed_address"})
    await case.task("allocate_case_owner")
    await ts_env.sleep(SETTINGS.deadline("allocate_case_owner") + timedelta(hours=1))
    view = await case.wait_for(lambda v: any(t.kind == "overdue_review" for t in v.open_tasks))
    assert view.overdue
    assert [t.team for t in view.open_tasks if t.kind == "overdue_review"] == [SENIOR_CASEWORKER]
    row = await case.case_row()
    assert (row["overdue"], row["team"]) == (True, "CC EEA Team")
    await case.complete("allocate_case_owner", "allocated", case_owner="co.smith")
    await case.task("offending_history_check")
    assert (await case.case_row())["overdue"] is False
