"""The web inbox over HTTP (issue 21), on the real stack of tests/api_support.py: the
development issuer's sign-in, the API service with the inbox mounted, a worker on the
time-skipping server, PostgreSQL. The browser tests (tests/test_inbox_browser.py) walk
the pages; these check the security properties and the generated task pages directly,
against what the CID recorded."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import re

import pytest

from casework import tasks as task_table
from casework.tasks import NoDetails, TaskKind, WithReason
from tests.api_support import ApiStack
from tests.inbox_support import assert_secure_headers, csrf_of, signed_in
from tests.test_api_tasks import open_task_id


async def _audit_count(pool, case_id: str) -> int:
    return int(await pool.fetchval("SELECT count(*) FROM audit_log WHERE case_id = $1", case_id))


async def test_sign_in_by_the_issuer_and_every_page_carries_the_security_headers(api: ApiStack, start) -> None:
    case = await start()
    task_id = await open_task_id(case, "nbtc_check")
    async with signed_in(api, "nbtc.finn") as http:
        cookie = next(c for c in http.cookies.jar if c.name == "casework_inbox")
        assert cookie.path == "/inbox" and "httponly" in cookie._rest and cookie._rest.get("samesite") == "lax"
        # The suite shares one CID: the case's filter finds this test's task on the first page.
        queue = await http.get("/inbox/tasks", params={"queue": "team", "case": case.id})
        assert queue.status_code == 200 and f'id="task-{task_id}"' in queue.text
        assert "Signed in as nbtc.finn" in queue.text and "Sorted by due date, soonest first" in queue.text
        for path in ("/inbox/tasks", f"/inbox/tasks/{task_id}", f"/inbox/cases/{case.id}"):
            answer = await http.get(path)
            assert answer.status_code == 200, (path, answer.text[:500])
            assert_secure_headers(answer)
            assert "<title>" in answer.text and case.referral.name not in answer.text.split("</title>")[0]
        # The cookie as the server set it: HttpOnly, SameSite=Lax, scoped to the inbox.
    fresh = await api.http.get("/inbox/sign-in")
    set_cookie = fresh.headers["set-cookie"].lower()
    assert "httponly" in set_cookie and "samesite=lax" in set_cookie and "path=/inbox" in set_cookie


async def test_a_form_without_its_csrf_token_is_refused_and_nothing_is_written(api: ApiStack, start, pool) -> None:
    case = await start()
    task_id = await open_task_id(case, "nbtc_check")
    before = await _audit_count(pool, case.id)
    async with signed_in(api, "nbtc.finn") as http:
        for form in ({}, {"csrf_token": "forged"}):
            refused = await http.post(f"/inbox/tasks/{task_id}/claim", data=form)
            assert refused.status_code == 403 and "Nothing was changed" in refused.text
        assert await pool.fetchval("SELECT assignee FROM tasks WHERE id = $1", task_id) is None
        assert await _audit_count(pool, case.id) == before
        # With the page's token the same form claims it, recorded under the signed-in person.
        page = await http.get("/inbox/tasks", params={"queue": "team"})
        done = await http.post(f"/inbox/tasks/{task_id}/claim", data={"csrf_token": csrf_of(page.text)})
        assert done.status_code == 303
        assert await pool.fetchval("SELECT assignee FROM tasks WHERE id = $1", task_id) == "nbtc.finn"
        assert await pool.fetchval("SELECT actor FROM audit_log WHERE case_id = $1 AND action = 'task claimed'",
                                   case.id) == "nbtc.finn"


async def test_a_session_cookie_is_refused_after_sign_out_and_after_the_idle_timeout(api: ApiStack, start, pool) -> None:
    case = await start()
    task_id = await open_task_id(case, "nbtc_check")
    async with signed_in(api, "nbtc.finn") as http:
        page = await http.get("/inbox/tasks")
        token = csrf_of(page.text)
        kept = dict(http.cookies)
        out = await http.post("/inbox/sign-out", data={"csrf_token": token})
        assert out.status_code == 200 and "You have signed out" in out.text
    async with __import__("httpx").AsyncClient(base_url=api.url, cookies=kept) as replay:
        again = await replay.get("/inbox/tasks")
        assert again.status_code == 303 and again.headers["location"] == "/inbox/sign-in"
        claim = await replay.post(f"/inbox/tasks/{task_id}/claim", data={"csrf_token": token})
        assert claim.status_code == 401
    assert await pool.fetchval("SELECT assignee FROM tasks WHERE id = $1", task_id) is None
    # Idle: a session not used for longer than the idle timeout is over.
    async with signed_in(api, "nbtc.finn") as http:
        assert (await http.get("/inbox/tasks")).status_code == 200
        await pool.execute("UPDATE inbox_sessions SET last_seen_at = last_seen_at - interval '31 minutes'"
                           " WHERE subject = 'nbtc.finn' AND ended_at IS NULL")
        assert (await http.get("/inbox/tasks")).status_code == 303
    # Absolute: however busy, a session ends 8 hours after sign-in.
    async with signed_in(api, "nbtc.finn") as http:
        await pool.execute("UPDATE inbox_sessions SET created_at = created_at - interval '8 hours 1 minute'"
                           " WHERE subject = 'nbtc.finn' AND ended_at IS NULL")
        assert (await http.get("/inbox/tasks")).status_code == 303


async def test_only_the_inbox_client_may_come_back_on_any_loopback_port_of_its_own_path(api: ApiStack) -> None:
    """The development issuer lets the inbox's confidential client return to its callback on
    whichever port the API runs (loopback_any_port), and nowhere else."""
    import httpx

    base = {"response_type": "code", "client_id": "casework-inbox", "state": "s", "code_challenge": "c" * 43,
            "code_challenge_method": "S256"}
    async with httpx.AsyncClient() as http:
        ok = await http.get(f"{api.issuer.url}/authorize", params=base | {"redirect_uri": "http://127.0.0.1:5999/inbox/auth/callback"})
        assert ok.status_code == 200
        for elsewhere in ("http://127.0.0.1:5999/other", "http://example.org:5999/inbox/auth/callback",
                          "http://127.0.0.1:5999/inbox/auth/callback?x=1"):
            refused = await http.get(f"{api.issuer.url}/authorize", params=base | {"redirect_uri": elsewhere})
            assert refused.status_code == 400 and "location" not in refused.headers, elsewhere


async def test_each_person_sees_only_what_the_policy_lets_them_see(api: ApiStack, start) -> None:
    eea = await start(whereabouts={"status": "confirmed_address"})
    task_id = await open_task_id(eea, "allocate_case_owner")
    async with signed_in(api, "cw.ben") as http:  # the CC EEA Team's case
        page = await http.get("/inbox/tasks", params={"queue": "unassigned", "case": eea.id})
        assert f'id="task-{task_id}"' in page.text
    async with signed_in(api, "cw.cara") as http:  # the Non-EEA team: not theirs
        for queue in ("mine", "team", "unassigned"):
            page = await http.get("/inbox/tasks", params={"queue": queue, "case": eea.id})
            assert page.status_code == 200 and f'id="task-{task_id}"' not in page.text and 'id="no-tasks"' in page.text
        # As the API answers the same person (403 today; trust's generic 404 would be the same here).
        as_api = (await api.call("GET", f"/tasks/{task_id}", "cw.cara")).status_code
        assert as_api in (403, 404) and (await http.get(f"/inbox/tasks/{task_id}")).status_code == as_api
        assert (await http.get(f"/inbox/cases/{eea.id}")).status_code == 404


async def test_a_new_task_kind_in_the_table_gets_a_working_page_with_no_template(api: ApiStack, start, pool,
                                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """A configuration with a kind the product does not have: its page is generated from the
    table (radios from the outcomes, fields from the details models), and its form's own
    checks answer in the page before anything is sent to the case."""
    from enum import StrEnum

    class Reviewed(StrEnum):
        CONFIRMED = "confirmed"
        QUERIED = "queried"

    kind = TaskKind("quality_check", "Quality check of the case file", task_table.NBTC, Reviewed,
                    {Reviewed.CONFIRMED: NoDetails, Reviewed.QUERIED: WithReason}, 3, rules=("R60",))
    monkeypatch.setitem(task_table.TASK_KINDS, kind.name, kind)
    case = await start()
    await open_task_id(case, "nbtc_check")
    task_id = await pool.fetchval(
        "INSERT INTO tasks (case_id, task_key, kind, title, team, due_at, created_at) VALUES ($1, 'quality_check-1',"
        " 'quality_check', $2, $3, $4, now()) RETURNING id",
        case.id, kind.title, kind.team, datetime.now(timezone.utc) + timedelta(days=3))
    async with signed_in(api, "nbtc.finn") as http:
        page = await http.get(f"/inbox/tasks/{task_id}")
        assert page.status_code == 200, page.text[:400]
        assert "Quality check of the case file" in page.text and "R60" in page.text
        assert 'value="confirmed"' in page.text and 'value="queried"' in page.text
        assert 'name="queried-reason"' in page.text  # the reason of the outcome that records one
        refused = await http.post(f"/inbox/tasks/{task_id}", data={"csrf_token": csrf_of(page.text), "outcome": "queried"})
        assert refused.status_code == 422
        assert 'href="#queried-reason"' in refused.text and "govuk-error-summary" in refused.text
        assert 'value="queried" checked' in refused.text  # the form as typed


async def test_queues_page_by_cursor_sorted_by_due_date_with_removable_filter_tags(api: ApiStack, start, pool) -> None:
    case = await start()
    await open_task_id(case, "nbtc_check")
    now = datetime.now(timezone.utc)
    made = [await pool.fetchval(
        "INSERT INTO tasks (case_id, task_key, kind, title, team, due_at, created_at) VALUES ($1, $2, 'nbtc_check',"
        " 'NBTC check: has the person left the UK?', 'NBTC', $3, now()) RETURNING id",
        case.id, f"paging-{i}", now + timedelta(days=400 + i)) for i in range(30)]
    try:
        async with signed_in(api, "nbtc.finn") as http:
            seen: list[int] = []
            page = await http.get("/inbox/tasks", params={"queue": "team", "case": case.referral.acro_reference})
            assert page.status_code == 200
            assert f"Case: {case.id}" in page.text and "Remove filter" in page.text  # the active filter as a tag
            pages = 0
            while True:
                pages += 1
                seen += [int(i) for i in re.findall(r'<tr class="govuk-table__row" data-task="(\d+)"', page.text)]
                nxt = re.search(r'href="([^"]+)" rel="next"', page.text)
                if not nxt:
                    break
                assert "OFFSET" not in nxt.group(1) and "cursor=" in nxt.group(1)
                page = await http.get(nxt.group(1).replace("&amp;", "&"))
            assert pages == 2 and len(seen) == 31 and len(set(seen)) == 31  # every task once, soonest due first
            assert seen[1:] == made
            # Removing the tag is a link without that filter.
            tag = re.search(r'<a class="govuk-link" href="([^"]+)"><span class="govuk-visually-hidden">Remove filter', page.text)
            assert tag and "case=" not in tag.group(1)
            # A filter the form cannot take is named in the page, not a traceback.
            bad = await http.get("/inbox/tasks", params={"queue": "team", "due_before-day": "31", "due_before-month": "2",
                                                          "due_before-year": "2026", "kind": "nonsense"})
            assert bad.status_code == 200 and 'href="#due_before-day"' in bad.text and 'href="#kind"' in bad.text
    finally:
        await pool.execute("DELETE FROM tasks WHERE id = ANY($1::bigint[])", made)


async def test_bulk_reassign_is_answered_per_task_and_unclaim_releases(api: ApiStack, start, pool) -> None:
    first = await start(whereabouts={"status": "confirmed_address"})
    second = await start(whereabouts={"status": "confirmed_address"})
    other = await start()
    a, b = await open_task_id(first, "allocate_case_owner"), await open_task_id(second, "allocate_case_owner")
    nbtc = await open_task_id(other, "nbtc_check")
    async with signed_in(api, "scw.erin") as http:
        page = await http.get("/inbox/tasks", params={"queue": "escalated"})
        answer = await http.post("/inbox/tasks/bulk-assign", data={
            "csrf_token": csrf_of(page.text), "task": [str(a), str(b), str(nbtc)], "assignee": "cw.eve",
            "back": "/inbox/tasks?queue=escalated"})
        assert answer.status_code == 200
        results = answer.text.split('id="bulk-results"')[1].split("</ul>")[0]
        assert f"Task {a}:" in results and f"Task {b}:" in results and "assigned to cw.eve" in results
        assert f"Task {nbtc}:" in results and "Not done" in results  # not casework: refused for that one only
    assert [await pool.fetchval("SELECT assignee FROM tasks WHERE id = $1", t) for t in (a, b, nbtc)] == ["cw.eve", "cw.eve", None]
    async with signed_in(api, "cw.eve") as http:
        page = await http.get("/inbox/tasks", params={"queue": "mine", "case": first.id})
        assert f'id="unclaim-{a}"' in page.text
        released = await http.post(f"/inbox/tasks/{a}/unclaim", data={"csrf_token": csrf_of(page.text)})
        assert released.status_code == 303
    assert await pool.fetchval("SELECT assignee FROM tasks WHERE id = $1", a) is None
    assert await pool.fetchval("SELECT actor FROM audit_log WHERE case_id = $1 AND action = 'task unclaimed'", first.id) == "cw.eve"


async def test_the_dashboard_counts_what_the_cid_holds_for_senior_caseworkers_only(api: ApiStack, start, pool) -> None:
    case = await start(whereabouts={"status": "confirmed_address"})
    await open_task_id(case, "allocate_case_owner")
    async with signed_in(api, "scw.erin") as http:
        page = await http.get("/inbox/dashboard")
        assert page.status_code == 200
        assert_secure_headers(page)
        expected = await pool.fetchval("SELECT count(*) FROM tasks WHERE status = 'open'")
        totals = page.text.split('id="totals"')[1]
        assert f'govuk-heading-xl govuk-!-margin-bottom-1">{expected}</span>Open' in totals
    before = await pool.fetchval("SELECT coalesce(max(id), 0) FROM security_events")
    async with signed_in(api, "cw.ben") as http:
        assert (await http.get("/inbox/dashboard")).status_code == 403
    # The inbox's refusal is a security event like the API's, under the signed-in subject.
    assert await pool.fetchval("SELECT count(*) FROM security_events WHERE id > $1 AND status = 403"
                               " AND subject = 'cw.ben' AND resource = '/inbox/dashboard'", before) == 1


async def test_a_task_is_handed_to_a_team_member_from_its_page(api: ApiStack, start, pool) -> None:
    case = await start(whereabouts={"status": "confirmed_address"})
    task_id = await open_task_id(case, "allocate_case_owner")
    async with signed_in(api, "cw.ben") as http:
        page = await http.get(f"/inbox/tasks/{task_id}")
        people = re.findall(r'<option value="([^"]+)"', page.text.split('id="assignee"')[1].split("</select>")[0])
        assert people == ["cw.ben", "cw.eve"]  # the CC EEA Team's caseworkers, as the policy allows
        handed = await http.post(f"/inbox/tasks/{task_id}/assign", data={
            "csrf_token": csrf_of(page.text), "assignee": "cw.eve", "back": f"/inbox/tasks/{task_id}"})
        assert handed.status_code == 303 and handed.headers["location"] == f"/inbox/tasks/{task_id}"
        assert await pool.fetchval("SELECT assignee FROM tasks WHERE id = $1", task_id) == "cw.eve"
        # Now cw.eve's: cw.ben may not hand it on, and the page says why, by the field.
        refused = await http.post(f"/inbox/tasks/{task_id}/assign", data={
            "csrf_token": csrf_of(page.text), "assignee": "cw.ben", "back": f"/inbox/tasks/{task_id}"})
        assert refused.status_code == 403 and 'href="#assignee"' in refused.text
    assert await pool.fetchval("SELECT assignee FROM tasks WHERE id = $1", task_id) == "cw.eve"
