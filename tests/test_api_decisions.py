"""Issue 20: auditors read a case's trail of decisions through the API, from the CID; no
personal value of the referral is in it; others are refused (403) and the refusal recorded."""

from __future__ import annotations

import uuid

import asyncpg

from tests.api_support import ApiStack
from tests.support import eventually, not_pursued_to_closure, unique_ref

#: The decisions of a not-pursued case, referral to closure, in the order taken.
WALK = ["R01", "R02", "R12", "R04", "R06", "R10", "R21", "R23", "R33", "R41", "R43", "R47", "R50", "R51", "R52"]


async def test_an_auditor_reads_one_case_from_referral_to_closure_without_personal_data_R01_R06_R41_R43_R47_R52(
        start, api: ApiStack, pool: asyncpg.Pool) -> None:
    name, dob = f"Teodor Brandt {unique_ref()}", "1971-04-09"
    case = await start(name=name, date_of_birth=dob, nationalities=["NG"], whereabouts={"status": "confirmed_address"})
    await not_pursued_to_closure(case)
    await case.handle.result()

    pages, after = [], 0
    while True:  # paged: three at a time
        answer = await api.call("GET", "/audit/decisions", "audit.jo", params={"case_id": case.id, "after": after, "limit": 3})
        assert answer.status_code == 200, answer.text
        page = answer.json()
        if not page["decisions"]:
            break
        pages.append(answer.text)
        after = page["next_after"]
        for d in page["decisions"]:
            assert d["case_id"] == case.id and d["sentence"].startswith(f"{d['rule']}: ")
            WALK_SEEN.append(d["rule"])
    assert WALK_SEEN == WALK
    shown = "".join(pages)
    for value in (name, dob, '"NG"', "Robbery", "robbery", "Article 8"):  # R60: not one referral value
        assert value not in shown, value
    # The case's timeline (GET /cases/{id}/timeline): audit rows and decisions in one list, in
    # time order, an actor on every row, paged by cursor; the same decisions, no personal value.
    entries, texts, cursor = [], [], None
    while True:
        answer = await api.call("GET", f"/cases/{case.id}/timeline", "audit.jo",
                                params={"limit": 7, **({"cursor": cursor} if cursor else {})})
        assert answer.status_code == 200, answer.text
        texts.append(answer.text)
        entries += answer.json()["entries"]
        cursor = answer.json()["next_cursor"]
        if cursor is None:
            break
    assert [e["rule"] for e in entries if e["kind"] == "decision"] == WALK
    assert {e["kind"] for e in entries} == {"audit", "decision"} and all(e["actor"] for e in entries)
    assert [e["at"] for e in entries] == sorted(e["at"] for e in entries)
    assert len({(e["kind"], e["id"]) for e in entries}) == len(entries)  # no row twice across pages
    for value in (name, dob, '"NG"', "Robbery", "robbery", "Article 8"):
        assert value not in "".join(texts), value
    # By rule, across cases: every R43 window decision, this case's among them.
    r43 = (await api.call("GET", "/audit/decisions", "audit.jo", params={"rule": "R43", "limit": 500})).json()
    assert case.id in {d["case_id"] for d in r43["decisions"]} and {d["rule"] for d in r43["decisions"]} == {"R43"}


WALK_SEEN: list[str] = []


async def test_only_auditors_read_every_decision_a_refusal_is_403_and_recorded(api: ApiStack, pool: asyncpg.Pool) -> None:
    request_id = uuid.uuid4().hex
    refused = await api.call("GET", "/audit/decisions", "cw.ben", headers={"X-Request-ID": request_id})
    assert refused.status_code == 403 and refused.headers["content-type"] == "application/problem+json"
    recorded = await pool.fetchrow("SELECT status, subject, action FROM security_events WHERE request_id = $1", request_id)
    assert recorded is not None and (recorded["status"], recorded["subject"], recorded["action"]) == (403, "cw.ben", "read_audit")


async def test_a_case_outside_the_callers_scope_has_no_timeline_404(start, api: ApiStack) -> None:
    """As GET /cases/{id}: a case the caller may not see is answered as one that does not exist."""
    case = await start(nationalities=["NG"])  # not EEA: not cw.ben's team's case
    await eventually(case, "SELECT team IS NOT NULL FROM cases WHERE id = $1")  # routed (R06): cw.cara's team's now
    hidden = await api.call("GET", f"/cases/{case.id}/timeline", "cw.ben")
    missing = await api.call("GET", "/cases/acro-case-NO-SUCH-CASE/timeline", "cw.ben")
    assert (hidden.status_code, missing.status_code) == (404, 404), (hidden.text, missing.text)
    assert hidden.json()["title"] == missing.json()["title"]
    assert (await api.call("GET", f"/cases/{case.id}/timeline", "cw.cara")).status_code == 200
    bad = await api.call("GET", f"/cases/{case.id}/timeline", "audit.jo", params={"cursor": "nope"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "query.cursor", bad.text
