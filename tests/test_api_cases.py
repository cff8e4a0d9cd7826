"""GET /cases, GET /cases/{case_id} and POST /cases/{case_id}/personal-data through the
real API: only the cases the policy lets the caller see (in SQL, so paging is honest), no
personal data outside the audited read, and that read recorded (R60) under the subject."""

from __future__ import annotations

from typing import Any

import asyncpg
import pytest

from casework.case import case_id_for
from tests.api_support import ApiStack
from tests.support import referral_data, until

EEA, NON_EEA = "CC EEA Team", "CC Non-EEA Team"


async def _case(api: ApiStack, pool: asyncpg.Pool, **overrides: Any) -> str:
    data = referral_data(**overrides)
    assert (await api.call("POST", "/referrals", "acro", json=data)).status_code == 201
    case_id = case_id_for(data["acro_reference"])
    await until(lambda: pool.fetchval("SELECT 1 FROM tasks WHERE case_id = $1 AND kind = 'nbtc_check'", case_id),
                "the case to be registered", 20, 0.05)
    return case_id


@pytest.fixture(scope="module")
async def two_cases(api: ApiStack, pool: asyncpg.Pool) -> tuple[str, str]:
    """One case routed to the EEA team (PL), one to the non-EEA team (US)."""
    return await _case(api, pool), await _case(api, pool, nationalities=["US"],
                                                certificate=dict(referral_data()["certificate"], convictions=[
                                                    dict(referral_data()["certificate"]["convictions"][0], country="US")]))


async def _all_pages(api: ApiStack, who: str, limit: int, **filters: Any) -> list[dict[str, Any]]:
    seen: list[dict[str, Any]] = []
    cursor = None
    while True:
        params = {"limit": limit, **filters} | ({"cursor": cursor} if cursor else {})
        answer = await api.call("GET", "/cases", who, params=params)
        assert answer.status_code == 200, answer.text
        page = answer.json()
        assert len(page["cases"]) <= limit
        seen += page["cases"]
        cursor = page["next_cursor"]
        if cursor is None:
            return seen


async def test_the_list_shows_only_the_cases_the_caller_may_see_paged_by_cursor(
        api: ApiStack, pool: asyncpg.Pool, two_cases: tuple[str, str]) -> None:
    eea, non_eea = two_cases
    assert await pool.fetchval("SELECT team FROM cases WHERE id = $1", eea) == EEA
    assert await pool.fetchval("SELECT team FROM cases WHERE id = $1", non_eea) == NON_EEA
    bens = await _all_pages(api, "cw.ben", limit=2)
    ids = [c["case_id"] for c in bens]
    assert len(ids) == len(set(ids)), "a case on two pages"
    assert eea in ids and non_eea not in ids
    assert all(c["team"] == EEA or c["case_owner"] == "cw.ben" for c in bens)
    keys = [(c["opened_at"], c["case_id"]) for c in bens]
    assert keys == sorted(keys, reverse=True)
    # Every case the policy lets him see, and no other: the same count as the CID's.
    assert len(ids) == await pool.fetchval("SELECT count(*) FROM cases WHERE team = $1 OR case_owner = 'cw.ben'", EEA)
    assert "name" not in bens[0] and "Kowalski" not in str(bens)

    seniors = {c["case_id"] for c in await _all_pages(api, "scw.erin", limit=200, team=NON_EEA)}
    assert non_eea in seniors and eea not in seniors  # sees all, filtered by team
    nbtc = {c["case_id"] for c in await _all_pages(api, "nbtc.finn", limit=200, stage="B-first-actions")}
    assert {eea, non_eea} <= nbtc  # cases with an NBTC task


async def test_list_filters_and_refusals(api: ApiStack, two_cases: tuple[str, str]) -> None:
    for params, field in (({"limit": 0}, "query.limit"), ({"limit": 201}, "query.limit"), ({"stage": "Z"}, "query.stage")):
        answer = await api.call("GET", "/cases", "scw.erin", params=params)
        assert answer.status_code == 422 and answer.json()["errors"][0]["field"] == field
    bad = await api.call("GET", "/cases", "scw.erin", params={"cursor": "not-ours"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "query.cursor"
    assert (await api.call("GET", "/cases", "pnc-bureau")).status_code == 403  # no cases:read scope
    assert (await api.call("GET", "/cases", None)).status_code == 401


async def test_one_case_without_personal_data_and_404_for_one_not_yours(
        api: ApiStack, pool: asyncpg.Pool, two_cases: tuple[str, str]) -> None:
    eea, non_eea = two_cases
    answer = await api.call("GET", f"/cases/{eea}", "cw.ben")
    assert answer.status_code == 200, answer.text
    case = answer.json()
    assert case["stage"] == "B-first-actions" and case["team"] == EEA and case["status"] == "open"
    assert [t["kind"] for t in case["open_tasks"]] == ["nbtc_check"] and case["next_due"] is not None
    assert "Kowalski" not in answer.text and "1980-02-03" not in answer.text
    hidden = await api.call("GET", f"/cases/{non_eea}", "cw.ben")
    missing = await api.call("GET", "/cases/acro-case-NO-SUCH-CASE", "cw.ben")
    assert hidden.status_code == missing.status_code == 404
    assert hidden.json()["title"] == missing.json()["title"]  # nothing tells one from the other
    assert (await api.call("GET", f"/cases/{non_eea}", "cw.cara")).status_code == 200
    assert (await api.call("GET", f"/cases/{eea}", "acro")).status_code == 200  # cases:read
    assert (await api.call("GET", f"/cases/{eea}", "pnc-bureau")).status_code == 403  # no cases:read


async def _reads(pool: asyncpg.Pool, case_id: str) -> list[tuple[str, dict[str, Any]]]:
    return [(r["actor"], r["detail"]) for r in await pool.fetch(
        "SELECT actor, detail FROM audit_log WHERE case_id = $1 AND action = 'personal data read' ORDER BY id", case_id)]


async def test_personal_data_read_for_a_purpose_is_recorded_under_the_subject_R60(
        api: ApiStack, pool: asyncpg.Pool, two_cases: tuple[str, str]) -> None:
    eea, non_eea = two_cases
    before = await _reads(pool, eea)
    answer = await api.call("POST", f"/cases/{eea}/personal-data", "cw.ben",
                            json={"purpose": "deportation", "reason": "deportation consideration, stage E"})
    assert answer.status_code == 200, answer.text
    assert answer.headers["cache-control"] == "no-store"
    data = answer.json()
    assert data["referral"]["name"] == "Jan Kowalski" and data["convictions"][0]["offence"] == "Robbery"
    reads = await _reads(pool, eea)
    assert reads[:-1] == before
    actor, detail = reads[-1]
    assert actor == "cw.ben" and detail["purpose"] == "deportation" and detail["rule"] == "R60"
    assert detail["reason"] == "deportation consideration, stage E"
    assert await pool.fetchval("SELECT event_key FROM audit_log WHERE case_id = $1 AND action = 'personal data read'"
                               " ORDER BY id DESC LIMIT 1", eea) == data["audit_event"]


@pytest.mark.parametrize("who, purpose, status", [
    ("cw.ben", "locating", 403),  # not a caseworker's purpose
    ("cw.cara", "deportation", 403),  # not her team's case
    ("nbtc.finn", "deportation", 403),
    ("director.hal", "deportation", 403),  # not submitted to the Director (R50)
    ("ice-system", "locating", 403),  # systems read no personal data
    ("audit.jo", "deportation", 403),
])
async def test_personal_data_refused_reads_record_nothing(
        api: ApiStack, pool: asyncpg.Pool, two_cases: tuple[str, str], who: str, purpose: str, status: int) -> None:
    eea, _ = two_cases
    before = await _reads(pool, eea)
    answer = await api.call("POST", f"/cases/{eea}/personal-data", who, json={"purpose": purpose, "reason": "checking"})
    assert answer.status_code == status, answer.text
    assert "R60" in answer.json()["detail"] or "scope" in answer.json()["detail"]
    assert "Kowalski" not in answer.text
    assert await _reads(pool, eea) == before


async def test_personal_data_request_checks(api: ApiStack, pool: asyncpg.Pool, two_cases: tuple[str, str]) -> None:
    eea, _ = two_cases
    before = await _reads(pool, eea)
    for body, field in (({"purpose": "deportation"}, "body.reason"), ({"purpose": "curiosity", "reason": "x"}, "body.purpose"),
                        ({"purpose": "deportation", "reason": "x" * 501}, "body.reason"),
                        ({"purpose": "deportation", "reason": "   "}, "body.reason")):
        answer = await api.call("POST", f"/cases/{eea}/personal-data", "cw.ben", json=body)
        assert answer.status_code == 422 and answer.json()["errors"][0]["field"] == field, answer.text
    missing = await api.call("POST", "/cases/acro-case-NO-SUCH-CASE/personal-data", "scw.erin",
                             json={"purpose": "deportation", "reason": "checking"})
    assert missing.status_code == 404
    assert await _reads(pool, eea) == before
