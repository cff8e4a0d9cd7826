"""A caseworker at a terminal learns what a task needs without reading personal data
(issue 24 items 5, 6, 8), through the real API with real tokens (``cw_api``):

- ``casework task TASK`` shows the task, its legal outcomes with their fields, and its case,
  with no personal data and no R60 read recorded;
- ``casework complete TASK`` without ``--outcome`` lists them, completes nothing, exits 2;
- ``casework show CASE`` without ``--purpose`` shows the case without personal data (R60);
- claiming what you hold answers "already yours", exit 0, and records nothing;
- at 80 columns the task list breaks no word; ``--csv`` and ``--json`` say the API's names.
"""

from __future__ import annotations

import csv
import io

from api.schemas import TaskOut
from starter.exits import Exit
from tests.cli_support import Casework, cw_api  # noqa: F401 - cw_api is a fixture
from tests.support import until

NBTC = "nbtc.finn"
OWNER = "cw.ben"  # caseworker, CC EEA Team (a PL national's case is routed there, R06)


async def _reads(pool, case_id: str) -> int:  # noqa: ANN001
    return await pool.fetchval("SELECT count(*) FROM audit_log WHERE case_id = $1 AND action = 'personal data read'",
                               case_id)


async def test_a_task_says_what_it_needs_and_show_needs_no_purpose_R60(cw_api: Casework, start, pool):
    case = await start(whereabouts={"status": "confirmed_address"})
    await case.task("allocate_case_owner")
    task_id = await cw_api.task_id(case.id, "allocate_case_owner", who=OWNER)
    name = case.referral.name

    shown, as_json, bare, summary = await cw_api.each(
        ("task", task_id), ("task", task_id, "--json"), ("complete", task_id), ("show", case.id), who=OWNER)
    assert shown.code == 0, str(shown)
    assert "allocated" in shown.out and "case_owner=…" in shown.out, shown.out
    assert f"Case {case.id}" in shown.out and "C-located" in shown.out, shown.out
    detail = as_json.json()
    assert detail["task"]["legal_outcomes"] == [
        {"outcome": "allocated", "fields": [{"name": "case_owner", "type": "text", "required": True}],
         "needs_disclosable": None}]
    assert detail["case"]["case_id"] == case.id
    # Without --outcome: the legal ones listed, nothing completed, one line and 2.
    assert bare.code == Exit.BAD_INPUT, str(bare)
    assert bare.one_error_line() == "casework: nothing completed: give --outcome, one of allocated"
    assert "case_owner=…" in bare.out
    assert await pool.fetchval("SELECT status FROM tasks WHERE id = $1", int(task_id)) == "open"
    # show without --purpose: the case, its tasks, and no personal data (R60), no read recorded.
    assert summary.code == 0, str(summary)
    assert f"Case {case.id}" in summary.out and "allocate_case_owner-1" in summary.out, summary.out
    for ran in (shown, as_json, bare, summary):
        assert name not in ran.out and case.referral.date_of_birth.isoformat() not in ran.out
    assert await _reads(pool, case.id) == 0

    # Claiming what you hold: "already yours", 0, nothing recorded the second time.
    first = await cw_api.ok("claim", task_id, who=OWNER)
    assert f"Task {task_id} (allocate_case_owner-1 of {case.id}) claimed; assignee {OWNER}." in first.out
    claims = await pool.fetchval("SELECT count(*) FROM audit_log WHERE case_id = $1 AND action = 'task claimed'", case.id)
    again = await cw_api.ok("claim", task_id, who=OWNER)
    assert "is already yours; nothing changed" in again.out, str(again)
    assert await pool.fetchval("SELECT count(*) FROM audit_log WHERE case_id = $1 AND action = 'task claimed'",
                               case.id) == claims == 1


async def test_the_task_list_fits_80_columns_and_speaks_the_apis_names(cw_api: Casework, start):
    case = await start()
    await case.task("nbtc_check")
    as_csv, as_json = await cw_api.each(("tasks", "--case", case.id, "--csv"), ("tasks", "--case", case.id, "--json"),
                                        who=NBTC)
    [task] = as_json.json()["tasks"]
    assert set(task) == set(TaskOut.model_fields)  # the API's document, as it is
    for columns in (80, 120):
        ran = await cw_api("tasks", "--case", case.id, who=NBTC, env={"COLUMNS": str(columns)})
        assert ran.code == 0, str(ran)
        assert max(len(line) for line in ran.out.splitlines()) <= columns, ran.out
        for value in (task["case_id"], task["key"], task["title"], task["kind"], task["team"]):
            for word in value.split():
                assert word in ran.out, (columns, word, ran.out)  # whole: no cell broken into pieces
    rows = list(csv.DictReader(io.StringIO(as_csv.out)))
    assert [(r["task_id"], r["case_id"], r["key"], r["overdue"]) for r in rows] == [
        (str(task["task_id"]), case.id, task["key"], "false")]


async def test_a_feed_is_a_listing_too(cw_api: Casework, start, pool):
    """``casework feed``: the API's feed page, at 80 columns with no word broken, as CSV under
    the API's names; a feed that does not exist is typer's refusal (2)."""
    since = await pool.fetchval("SELECT coalesce(max(id), 0) FROM outbound_messages")
    case = await start()
    message = await until(lambda: pool.fetchval(
        "SELECT id FROM outbound_messages WHERE case_id = $1 AND recipient = 'PNC Bureau'", case.id), "a PNC message", 30)
    narrow = await cw_api("feed", "pnc-bureau", "--after", str(since), who="pnc-bureau", env={"COLUMNS": "80"})
    as_csv, wrong = await cw_api.each(("feed", "pnc-bureau", "--after", str(since), "--csv"), ("feed", "pnc-burrow"),
                                      who="pnc-bureau")
    assert narrow.code == 0 and max(len(line) for line in narrow.out.splitlines()) <= 80, str(narrow)
    for word in (str(message), case.id, "PNC", "check", "request"):
        assert word in narrow.out, (word, narrow.out)
    rows = {r["message_id"]: r for r in csv.DictReader(io.StringIO(as_csv.out))}
    assert (rows[str(message)]["case_id"], rows[str(message)]["form"]) == (case.id, "PNC check request")
    assert wrong.code == Exit.BAD_INPUT and "Invalid value for 'RECIPIENT'" in wrong.one_error_line(), str(wrong)
