"""/tasks through the real API (tests/api_support.py): real tokens from the development
issuer, the API on uvicorn with its own database login, a worker on the time-skipping
server. What each answer says is checked against what was written: the task's row, the
audit log, the case's own view."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg

from tests.api_support import ApiStack
from tests.support import Case, eventually, through_stage_c

PROBLEM = "application/problem+json"


async def open_task_id(case: Case, kind: str) -> int:
    await case.task(kind)
    return int(await case.pool.fetchval(
        "SELECT id FROM tasks WHERE case_id = $1 AND kind = $2 AND status = 'open' ORDER BY id DESC LIMIT 1", case.id, kind))


async def audit(case: Case) -> list[tuple[str, str, dict[str, Any]]]:
    return [(r["actor"], r["action"], r["detail"]) for r in await case.rows(
        "SELECT actor, action, detail FROM audit_log WHERE case_id = $1 ORDER BY id")]


async def task_row(pool: asyncpg.Pool, task_id: int) -> asyncpg.Record:
    return await pool.fetchrow("SELECT * FROM tasks WHERE id = $1", task_id)


async def located_case(start, case_team: str = "CC EEA Team") -> Case:
    """A case at 'allocate a case owner' (the routed team's task): whereabouts known."""
    overrides = {} if case_team == "CC EEA Team" else {"nationalities": ["US"]}
    case = await start(whereabouts={"status": "confirmed_address"}, **overrides)
    await case.task("allocate_case_owner")
    assert (await case.case_row())["team"] == case_team
    return case


# ---------------------------------------------------------------------------- reading


async def test_a_task_is_shown_to_those_who_may_see_it_and_refused_to_others(api: ApiStack, start) -> None:
    case = await start()  # EEA, whereabouts unknown: an NBTC check, on a case of the CC EEA Team
    task_id = await open_task_id(case, "nbtc_check")
    for who in ("nbtc.finn", "cw.ben", "scw.erin", "director.hal", "audit.jo"):
        answer = await api.call("GET", f"/tasks/{task_id}", who)
        assert answer.status_code == 200, (who, answer.text)
        body = answer.json()
        assert (body["case_id"], body["kind"], body["team"], body["status"]) == (case.id, "nbtc_check", "NBTC", "open")
        assert body["outcomes"] == ["in_uk", "left_uk"] and "outcome_details" not in body
    # Issue 25: out of sight is the same 404 as no such task (403 against 404 told existence).
    for who in ("cw.cara", "ice.gita", "pnc-bureau", "removals-casework"):
        answer = await api.call("GET", f"/tasks/{task_id}", who)
        missing = await api.call("GET", "/tasks/999999999", who)
        assert answer.status_code == missing.status_code == 404, (who, answer.text)
        assert answer.headers["content-type"] == PROBLEM
        assert answer.json()["detail"].replace(str(task_id), "N") == missing.json()["detail"].replace("999999999", "N")
    bad = await api.call("GET", "/tasks/nope", "nbtc.finn")
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"].startswith("path")


async def test_the_list_shows_only_tasks_the_caller_may_see_with_filters_and_mine(api: ApiStack, start) -> None:
    eea = await start()
    non_eea = await start(nationalities=["US"])
    eea_task, non_eea_task = await open_task_id(eea, "nbtc_check"), await open_task_id(non_eea, "nbtc_check")

    async def ids(who: str, **params: Any) -> set[int]:
        answer = await api.call("GET", "/tasks", who, params={"limit": 200, **params})
        assert answer.status_code == 200, answer.text
        return {t["task_id"] for t in answer.json()["tasks"]}

    assert {eea_task, non_eea_task} <= await ids("nbtc.finn", kind="nbtc_check")
    assert eea_task in await ids("cw.ben") and non_eea_task not in await ids("cw.ben")  # their team's case only
    assert non_eea_task in await ids("cw.cara") and eea_task not in await ids("cw.cara")
    assert await ids("cw.ben", case_id=eea.id) == {eea_task}
    assert await ids("cw.ben", case_id=non_eea.id) == set()  # the filter never widens what may be seen
    assert await ids("pnc-bureau") == set()  # a system without cases:read
    # mine: my teams' tasks, my own as owner, assigned to me - not everything I may see.
    assert {eea_task, non_eea_task} <= await ids("nbtc.finn", mine="true")
    assert eea_task not in await ids("cw.ben", mine="true") and eea_task in await ids("cw.ben")
    assert await ids("nbtc.finn", team="NBTC", case_id=eea.id) == {eea_task}
    assert await ids("nbtc.finn", team="ICE Tasking and Detention Gatekeeper", case_id=eea.id) == set()
    assert await ids("nbtc.finn", assignee="nbtc.finn", case_id=eea.id) == set()
    claimed = await api.call("POST", f"/tasks/{eea_task}/claim", "nbtc.finn")
    assert claimed.status_code == 200, claimed.text
    assert await ids("nbtc.finn", assignee="nbtc.finn", case_id=eea.id) == {eea_task}


async def test_the_list_pages_by_cursor_soonest_due_first(api: ApiStack, start, pool) -> None:
    for _ in range(3):
        await open_task_id(await start(), "nbtc_check")
    expected = [r["id"] for r in await pool.fetch(
        "SELECT id FROM tasks WHERE status = 'open' AND kind = 'nbtc_check' ORDER BY due_at, id")]
    seen: list[int] = []
    cursor = None
    for _ in range(50):
        params = {"kind": "nbtc_check", "limit": 2} | ({"cursor": cursor} if cursor else {})
        page = (await api.call("GET", "/tasks", "nbtc.finn", params=params)).json()
        assert len(page["tasks"]) <= 2
        seen += [t["task_id"] for t in page["tasks"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == expected and len(seen) >= 3
    for params, field in (({"limit": 0}, "query.limit"), ({"limit": 201}, "query.limit"), ({"cursor": "!!"}, "query.cursor"),
                          ({"cursor": "WyIyMDI2LTAxLTAxVDAwOjAwOjAwIiwgMV0"}, "query.cursor"), ({"cursor": "WzEsMl0"}, "query.cursor"),
                          ({"team": "NBTC\x00"}, "query.team")):
        answer = await api.call("GET", "/tasks", "nbtc.finn", params=params)
        assert answer.status_code == 422 and answer.headers["content-type"] == PROBLEM, answer.text
        assert answer.json()["errors"][0]["field"] == field


# ---------------------------------------------------------------------------- completing


async def test_completion_goes_through_the_case_and_records_the_subject(api: ApiStack, start, pool) -> None:
    case = await start()
    task_id = await open_task_id(case, "nbtc_check")
    answer = await api.call("POST", f"/tasks/{task_id}/completion", "nbtc.finn", json={"outcome": "in_uk"})
    assert answer.status_code == 200, answer.text
    assert answer.json() | {"stage": None} == {"task_id": task_id, "case_id": case.id, "key": "nbtc_check-1",
                                               "outcome": "in_uk", "stage": None, "closed": False,
                                               "completed_by": "nbtc.finn"}
    row = await task_row(pool, task_id)
    assert (row["status"], row["outcome"], row["completed_by"]) == ("done", "in_uk", "nbtc.finn")
    assert ("nbtc.finn", "task completed", {"task": "nbtc_check-1", "outcome": "in_uk"}) in await audit(case)
    await case.task("ice_tasking")  # the case went on as the outcome says

    again = await api.call("POST", f"/tasks/{task_id}/completion", "nbtc.finn", json={"outcome": "left_uk"})
    assert again.status_code == 409 and "already done" in again.json()["detail"] and "nbtc.finn" in again.json()["detail"]
    assert (await task_row(pool, task_id))["outcome"] == "in_uk"
    unknown = await api.call("POST", "/tasks/999999999/completion", "nbtc.finn", json={"outcome": "in_uk"})
    assert unknown.status_code == 404


async def test_a_completion_that_closes_the_case_says_so(api: ApiStack, start) -> None:
    """Issue 24 item 8: R11, left the UK, closes the case; the answer said "E-consideration"."""
    case = await start()
    task_id = await open_task_id(case, "nbtc_check")
    answer = await api.call("POST", f"/tasks/{task_id}/completion", "nbtc.finn", json={"outcome": "left_uk"},
                            headers={"Prefer": "wait=5"})
    assert answer.status_code == 200, answer.text
    assert (answer.json()["stage"], answer.json()["closed"]) == ("closed", True), answer.text


async def test_the_cases_refusals_come_back_as_422_naming_the_rule_and_nothing_is_written(api: ApiStack, start, pool) -> None:
    case = await start(whereabouts={"status": "confirmed_address"})
    await case.complete("allocate_case_owner", "allocated", case_owner="cw.ben")
    await through_stage_c(case, history="not_available")  # R30: the convictions are not available
    task_id = await open_task_id(case, "detention_decision")
    before, view_before = await audit(case), await case.view()

    r30 = await api.call("POST", f"/tasks/{task_id}/completion", "cw.ben", json={"outcome": "detain"})
    assert r30.status_code == 422 and r30.headers["content-type"] == PROBLEM, r30.text
    assert r30.json()["rule"] == "R30" and "R30/R61" in r30.json()["detail"] and "Traceback" not in r30.text
    illegal = await api.call("POST", f"/tasks/{task_id}/completion", "cw.ben", json={"outcome": "escape"})
    assert illegal.status_code == 422 and "not an outcome of detention_decision" in illegal.json()["detail"]
    missing = await api.call("POST", f"/tasks/{task_id}/completion", "cw.ben", json={"outcome": "unsuitable"})
    assert missing.status_code == 422 and "reason" in missing.json()["detail"]
    bad_body = await api.call("POST", f"/tasks/{task_id}/completion", "cw.ben", json={"outcome": "detain", "extra": 1})
    assert bad_body.status_code == 422 and bad_body.json()["errors"][0]["field"] == "body.extra"

    assert (await task_row(pool, task_id))["status"] == "open"
    assert await audit(case) == before
    assert (await case.view()).open_tasks == view_before.open_tasks
    ok = await api.call("POST", f"/tasks/{task_id}/completion", "cw.ben",
                        json={"outcome": "unsuitable", "details": {"reason": "medical"}})
    assert ok.status_code == 200, ok.text
    assert (await task_row(pool, task_id))["completed_by"] == "cw.ben"


# ---------------------------------------------------------------------------- who holds it


async def test_two_claims_at_once_have_one_winner(api: ApiStack, start, pool) -> None:
    case = await located_case(start)
    task_id = await open_task_id(case, "allocate_case_owner")
    before = await audit(case)
    claimants = ("cw.ben", "cw.eve") * 3
    answers = await asyncio.gather(*(api.call("POST", f"/tasks/{task_id}/claim", who) for who in claimants))
    # One claim changes the task; the winner's own repeats are answered 200 "already yours"
    # (changed: false, nothing recorded); the other person's claims 409.
    changed = [a.json() for a in answers if a.status_code == 200 and a.json()["changed"]]
    assert len(changed) == 1, [a.text for a in answers]
    winner = changed[0]["assignee"]
    for who, answer in zip(claimants, answers):
        assert answer.status_code == (200 if who == winner else 409), answer.text
        if who == winner:
            assert answer.json()["assignee"] == winner
    assert (await task_row(pool, task_id))["assignee"] == winner
    added = (await audit(case))[len(before):]
    assert added == [(winner, "task claimed", {"task_key": "allocate_case_owner-1", "kind": "allocate_case_owner",
                                              "assignee": winner, "before": None})]
    assert all("claimed already" in a.json()["detail"] or "claimed by" in a.json()["detail"]
               for a in answers if a.status_code == 409)


async def test_a_settled_task_cannot_be_claimed_and_a_claim_survives_completion(api: ApiStack, start, pool) -> None:
    case = await start()
    task_id = await open_task_id(case, "nbtc_check")
    claimed = await api.call("POST", f"/tasks/{task_id}/claim", "nbtc.finn")
    assert claimed.status_code == 200 and claimed.json()["assignee"] == "nbtc.finn"
    done = await api.call("POST", f"/tasks/{task_id}/completion", "nbtc.finn", json={"outcome": "in_uk"})
    assert done.status_code == 200, done.text
    row = await task_row(pool, task_id)  # the worker's completion kept the claim, and the claim the outcome
    assert (row["status"], row["assignee"], row["completed_by"]) == ("done", "nbtc.finn", "nbtc.finn")
    released = await api.call("POST", f"/tasks/{task_id}/unclaim", "nbtc.finn")
    assert released.status_code == 409 and "already done" in released.json()["detail"]

    ice = await open_task_id(case, "ice_tasking")
    await case.located()  # the event settles the ICE task in the case: the worker writes it done
    await case.task("allocate_case_owner")
    before = await audit(case)
    late = await api.call("POST", f"/tasks/{ice}/claim", "ice.gita")
    assert late.status_code == 409 and "already done" in late.json()["detail"], late.text
    assert (await task_row(pool, ice))["assignee"] is None and await audit(case) == before


async def test_unclaim_by_the_assignee_or_a_senior_caseworker_only(api: ApiStack, start, pool) -> None:
    case = await located_case(start)
    task_id = await open_task_id(case, "allocate_case_owner")
    assert (await api.call("POST", f"/tasks/{task_id}/unclaim", "cw.ben")).status_code == 409  # not claimed
    assert (await api.call("POST", f"/tasks/{task_id}/claim", "cw.eve")).status_code == 200
    before = await audit(case)
    refused = await api.call("POST", f"/tasks/{task_id}/unclaim", "cw.ben")
    assert refused.status_code == 403 and "cw.eve" not in refused.json()["detail"]  # no names in refusals (issue 25)
    assert await audit(case) == before and (await task_row(pool, task_id))["assignee"] == "cw.eve"
    released = await api.call("POST", f"/tasks/{task_id}/unclaim", "scw.erin")
    assert released.status_code == 200 and released.json()["assignee"] is None
    assert (await audit(case))[len(before):] == [("scw.erin", "task unclaimed", {
        "task_key": "allocate_case_owner-1", "kind": "allocate_case_owner", "assignee": None, "before": "cw.eve"})]


async def test_assign_to_a_member_of_the_tasks_team_from_the_directory(api: ApiStack, start, pool) -> None:
    case = await located_case(start)
    task_id = await open_task_id(case, "allocate_case_owner")
    before = await audit(case)
    unknown = await api.call("POST", f"/tasks/{task_id}/assignment", "cw.ben", json={"assignee": "nobody.here"})
    assert unknown.status_code == 422 and unknown.json()["errors"][0]["field"] == "body.assignee"
    for to in ("cw.cara", "ops.ivy", "nbtc.finn"):  # another team; no role for it
        outside = await api.call("POST", f"/tasks/{task_id}/assignment", "cw.ben", json={"assignee": to})
        assert outside.status_code == 403 and to in outside.json()["detail"], outside.text
    stranger = await api.call("POST", f"/tasks/{task_id}/assignment", "cw.cara", json={"assignee": "cw.eve"})
    assert stranger.status_code == 404  # another team's task: out of sight (issue 25)
    assert await audit(case) == before and (await task_row(pool, task_id))["assignee"] is None

    given = await api.call("POST", f"/tasks/{task_id}/assignment", "cw.ben", json={"assignee": "cw.eve"})
    assert given.status_code == 200 and given.json()["assignee"] == "cw.eve", given.text
    assert (await task_row(pool, task_id))["assignee"] == "cw.eve"
    assert (await audit(case))[len(before):] == [("cw.ben", "task assigned", {
        "task_key": "allocate_case_owner-1", "kind": "allocate_case_owner", "assignee": "cw.eve", "before": None})]
    # Now it is cw.eve's: cw.ben may no longer hand it on; a senior caseworker may.
    assert (await api.call("POST", f"/tasks/{task_id}/assignment", "cw.ben", json={"assignee": "cw.ben"})).status_code == 403
    back = await api.call("POST", f"/tasks/{task_id}/assignment", "scw.erin", json={"assignee": "cw.ben"})
    assert back.status_code == 200 and (await task_row(pool, task_id))["assignee"] == "cw.ben"
    # The assignee completes it; the subject is recorded.
    done = await api.call("POST", f"/tasks/{task_id}/completion", "cw.ben",
                          json={"outcome": "allocated", "details": {"case_owner": "cw.ben"}})
    assert done.status_code == 200, done.text
    await eventually(case, "SELECT case_owner = 'cw.ben' FROM cases WHERE id = $1")  # the case's activity records it


async def test_a_claim_racing_the_cases_completion_ends_in_one_consistent_state(api: ApiStack, start, pool) -> None:
    """The claim's conditional update and the worker's completion touch the same row: the
    claim either lands while the task is open (and is kept on the done task) or finds it
    done (409, nothing written) - never a claim recorded on a task it did not hold."""
    for _ in range(3):
        case = await start()
        task_id = await open_task_id(case, "nbtc_check")
        done, claim = await asyncio.gather(
            api.call("POST", f"/tasks/{task_id}/completion", "nbtc.finn", json={"outcome": "in_uk"}),
            api.call("POST", f"/tasks/{task_id}/claim", "nbtc.finn"))
        assert done.status_code == 200, done.text
        row = await task_row(pool, task_id)
        claims = [a for a in await audit(case) if a[1] == "task claimed"]
        assert (row["status"], row["completed_by"]) == ("done", "nbtc.finn")
        if claim.status_code == 200:
            assert row["assignee"] == "nbtc.finn" and len(claims) == 1
        else:
            assert claim.status_code == 409 and row["assignee"] is None and claims == [], claim.text


async def test_a_task_says_what_completing_it_needs(api: ApiStack, start) -> None:
    """GET /tasks/{id}: each legal outcome with its detail fields, types and whether each is
    required, from the task table (casework/tasks.py), so nobody guesses an outcome."""
    case = await located_case(start)
    task_id = await open_task_id(case, "allocate_case_owner")
    answer = await api.call("GET", f"/tasks/{task_id}", "cw.ben")
    assert answer.status_code == 200, answer.text
    assert answer.json()["legal_outcomes"] == [
        {"outcome": "allocated", "fields": [{"name": "case_owner", "type": "text", "required": True}],
         "needs_disclosable": None}]
    # The table is the one source: every kind's outcomes and fields, R30/R61's too.
    from api.schemas import legal_outcomes
    from casework.tasks import TASK_KINDS

    detention = {o.outcome: o for o in legal_outcomes("detention_decision")}
    assert set(detention) == {str(o) for o in TASK_KINDS["detention_decision"].details}
    assert detention["detain"].needs_disclosable and detention["not_detained"].fields[0].required
    departed = legal_outcomes("deportation_enforcement")
    assert {(f.name, f.type) for o in departed for f in o.fields} == {("departed_on", "date")}
