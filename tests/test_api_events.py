"""POST /cases/{case_id}/events/{kind} through the real API: each answered with the case's
own receipt (applied, already applied, a conflicting repeat 409, refused 422), the sender
recorded as the token's subject, and nothing written when the policy refuses."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg

from casework.case import case_id_for
from tests.api_support import ApiStack
from tests.support import referral_data, until


async def _registered(api: ApiStack, pool: asyncpg.Pool, stage: str | None = None, **overrides: Any) -> str:
    """A case submitted through the API and registered by the worker (its NBTC check open,
    or at ``stage``)."""
    data = referral_data(**overrides)
    answer = await api.call("POST", "/referrals", "acro", json=data)
    assert answer.status_code == 201, answer.text
    case_id = case_id_for(data["acro_reference"])
    if stage is not None:
        await _until(pool, "SELECT stage = $2 FROM cases WHERE id = $1", case_id, stage)
    else:
        await _until(pool, "SELECT 1 FROM tasks WHERE case_id = $1 AND kind = 'nbtc_check'", case_id)
    return case_id


async def _until(pool: asyncpg.Pool, sql: str, *args: Any, timeout: float = 20) -> None:
    await until(lambda: pool.fetchval(sql, *args), f"{sql} {args}", timeout, 0.05)


async def _received(pool: asyncpg.Pool, case_id: str) -> list[tuple[str, str]]:
    return [(r["actor"], r["action"]) for r in await pool.fetch(
        "SELECT actor, action FROM audit_log WHERE case_id = $1 AND detail ? 'event_id' ORDER BY id", case_id)]


async def test_located_applied_once_repeat_said_conflict_refused(api: ApiStack, pool: asyncpg.Pool) -> None:
    case_id = await _registered(api, pool)
    event_id = uuid.uuid4().hex
    path = f"/cases/{case_id}/events/located"
    first = await api.call("POST", path, "ice-system", json={"event_id": event_id, "custody": "confirmed_address"})
    assert first.status_code == 200, first.text
    assert first.json()["result"] == "applied" and "person located" in first.json()["detail"]
    assert await _received(pool, case_id) == [("ice-system", "person located")]  # the token's subject

    again = await api.call("POST", path, "ice-system", json={"event_id": event_id, "custody": "confirmed_address"})
    assert again.status_code == 200 and again.json()["result"] == "already applied"
    assert "applied before" in again.json()["detail"]

    different = await api.call("POST", path, "ice-system", json={"event_id": event_id, "custody": "detained"})
    assert different.status_code == 409 and "different content" in different.json()["detail"]
    assert await _received(pool, case_id) == [("ice-system", "person located")]


async def test_event_field_checks_and_the_actor_is_not_the_callers_to_name(api: ApiStack, pool: asyncpg.Pool) -> None:
    case_id = await _registered(api, pool)
    path = f"/cases/{case_id}/events/located"
    for body, field, words in (
        ({"custody": "in_prison"}, "body.event_id", "required"),
        ({"event_id": "e1", "custody": "in_prison"}, "body", "release_date is required when custody is 'in_prison' (R42"),
        ({"event_id": "e1", "actor": "director.hal"}, "body.actor", "not a field here"),
        ({"event_id": "e1", "custody": "on_the_moon"}, "body.custody", "should be one of"),
    ):
        answer = await api.call("POST", path, "ice-system", json=body)
        assert answer.status_code == 422, answer.text
        assert any(e["field"] == field and words in e["message"] for e in answer.json()["errors"]), answer.json()
    assert await _received(pool, case_id) == []


async def test_unknown_case_404_and_refused_senders_403_with_nothing_written(api: ApiStack, pool: asyncpg.Pool) -> None:
    missing = await api.call("POST", "/cases/acro-case-NO-SUCH-1/events/located", "ice-system", json={"event_id": "e"})
    assert missing.status_code == 404
    case_id = await _registered(api, pool)  # PL: the CC EEA Team's
    for who, kind in (("cw.cara", "located"), ("acro", "located"), ("ice-system", "left-uk"),
                      ("nbtc.finn", "certificate"), ("pnc-bureau", "representations")):
        body = {"event_id": uuid.uuid4().hex} | ({"certificate": referral_data()["certificate"]} if kind == "certificate" else {})
        answer = await api.call("POST", f"/cases/{case_id}/events/{kind}", who, json=body)
        assert answer.status_code == 403, (who, kind, answer.text)
    # A caseworker not of the case's team may not learn whether a case exists either.
    assert (await api.call("POST", "/cases/acro-case-NO-SUCH-2/events/located", "cw.cara", json={"event_id": "e"})).status_code == 403
    assert await _received(pool, case_id) == []
    assert not await pool.fetchval("SELECT 1 FROM intake_certificates WHERE case_id = $1", case_id)
    ok = await api.call("POST", f"/cases/{case_id}/events/located", "cw.ben", json={"event_id": uuid.uuid4().hex})
    assert ok.status_code == 200 and await _received(pool, case_id) == [("cw.ben", "person located")]


async def test_left_uk_closes_the_case_and_later_events_are_refused_R11(api: ApiStack, pool: asyncpg.Pool) -> None:
    case_id = await _registered(api, pool)
    left = await api.call("POST", f"/cases/{case_id}/events/left-uk", "nbtc-system", json={"event_id": "nbtc-1"})
    assert left.status_code == 200 and "R11" in left.json()["detail"], left.text
    await _until(pool, "SELECT status = 'closed' FROM cases WHERE id = $1", case_id)
    late = await api.call("POST", f"/cases/{case_id}/events/located", "ice-system", json={"event_id": "ice-1"})
    assert (late.status_code, late.json()["code"]) == (409, "case-closed")  # one status everywhere (issue 20)
    assert ("ice-system", "person located") not in await _received(pool, case_id)


async def test_certificate_is_held_then_given_to_the_case_R03(api: ApiStack, pool: asyncpg.Pool) -> None:
    data = referral_data()
    data["certificate"]["request_purpose"] = "Request for criminal proceedings"  # certificate 1: not disclosable
    case_id = await _registered(api, pool, "A-awaiting-certificate", **{k: v for k, v in data.items() if k != "acro_reference"})
    certificate = dict(referral_data()["certificate"])
    path = f"/cases/{case_id}/events/certificate"
    answer = await api.call("POST", path, "acro", json={"event_id": "cert-2", "certificate": certificate})
    assert answer.status_code == 200, answer.text
    assert answer.json()["result"] == "applied" and "R02" in answer.json()["detail"]
    held = await pool.fetchrow("SELECT submitted_by, taken_at FROM intake_certificates WHERE case_id = $1 AND event_id = 'cert-2'", case_id)
    assert held["submitted_by"] == "acro" and held["taken_at"] is not None
    assert await pool.fetchval("SELECT disclosable FROM cases WHERE id = $1", case_id) is True

    again = await api.call("POST", path, "acro", json={"event_id": "cert-2", "certificate": certificate})
    assert again.status_code == 200 and again.json()["result"] == "already applied"
    other = dict(certificate, offences_on_pnc=True)
    conflict = await api.call("POST", path, "acro", json={"event_id": "cert-2", "certificate": other})
    assert conflict.status_code == 409 and "different certificate" in conflict.json()["detail"]

    judged = await api.call("POST", path, "acro", json={"event_id": "cert-3", "certificate": dict(
        certificate, request_purpose="Request for criminal proceedings")})
    assert judged.status_code == 200 and "R03" in judged.json()["non_disclosable"]

    # What cannot be true is refused by the case's worker, where the date of birth is: the
    # API holds no read of it. Rolled back: the certificate is not taken, nothing recorded.
    certificates_before = await pool.fetchval("SELECT count(*) FROM certificates WHERE case_id = $1", case_id)
    before_birth = dict(certificate, convictions=[dict(certificate["convictions"][0], conviction_date="1970-01-01")])
    refused = await api.call("POST", path, "acro", json={"event_id": "cert-4", "certificate": before_birth})
    assert refused.status_code == 422, refused.text
    assert "conviction 1 is dated before the subject's date of birth" in refused.json()["detail"]
    assert "1980" not in refused.text and "1970" not in refused.text  # no date is told back
    assert await pool.fetchval("SELECT taken_at FROM intake_certificates WHERE case_id = $1 AND event_id = 'cert-4'",
                               case_id) is None
    assert await pool.fetchval("SELECT count(*) FROM certificates WHERE case_id = $1", case_id) == certificates_before


async def test_representations_from_the_case_owners_team(api: ApiStack, pool: asyncpg.Pool) -> None:
    case_id = await _registered(api, pool)
    answer = await api.call("POST", f"/cases/{case_id}/events/representations", "cw.ben", json={"event_id": "rep-1"})
    assert answer.status_code == 200 and "R43" in answer.json()["detail"]
    assert await _received(pool, case_id) == [("cw.ben", "representations received")]


ASYNC = {"Prefer": "respond-async"}


async def _audit_rows(pool: asyncpg.Pool, case_id: str, event_key: str) -> int:
    return await pool.fetchval("SELECT count(*) FROM audit_log WHERE case_id = $1 AND event_key = $2", case_id, event_key)


async def test_located_sent_async_202_then_read_back_applied_once(api: ApiStack, pool: asyncpg.Pool) -> None:
    from casework.keys import event_key

    case_id = await _registered(api, pool)
    event_id = f"pnc/{uuid.uuid4().hex}"  # a slash in an event ID survives the Location
    path = f"/cases/{case_id}/events/located"
    body = {"event_id": event_id, "custody": "confirmed_address"}
    sent = await api.call("POST", path, "ice-system", json=body, headers=ASYNC)
    assert sent.status_code == 202, sent.text
    assert sent.headers["Preference-Applied"] == "respond-async"
    assert sent.json()["result"] == "sent" and "applies it in order" in sent.json()["detail"]
    assert sent.json()["stage"] is None
    location = sent.headers["Location"]
    assert location.startswith(f"/cases/{case_id}/events/located/") and "/" not in location.rsplit("/", 1)[1]

    async def applied() -> Any:
        read = await api.call("GET", location, "ice-system")
        if read.status_code == 200:
            return read
        assert read.status_code == 404 and read.headers["Retry-After"] == "1", read.text
        assert read.json()["type"].endswith("not-applied-yet")
        return None

    read = await until(applied, "the event to be applied", 20)
    record = read.json()
    assert record["result"] == "applied" and record["action"] == "person located" and record["event_id"] == event_id
    assert record["applied_at"]
    assert await _received(pool, case_id) == [("ice-system", "person located")]  # the token's subject

    # A repeat, async or not, is harmless: applied once, one audit row.
    again = await api.call("POST", path, "ice-system", json=body, headers=ASYNC)
    assert again.status_code == 202 and again.headers["Location"] == location
    waited = await api.call("POST", path, "ice-system", json=body)  # after the async repeat: in order
    assert waited.status_code == 200 and waited.json()["result"] == "already applied", waited.text
    assert await _audit_rows(pool, case_id, event_key("located", event_id)) == 1
    assert await _received(pool, case_id) == [("ice-system", "person located")]

    # Never sent: 404 not applied yet; another kind's read is that kind's sender's to ask.
    never = await api.call("GET", f"/cases/{case_id}/events/located/never-sent", "ice-system")
    assert never.status_code == 404 and never.headers["Retry-After"] == "1"
    assert (await api.call("GET", location, "nbtc-system")).status_code == 403
    assert (await api.call("GET", f"/cases/acro-case-NO-SUCH-3/events/located/{event_id}", "ice-system")).status_code == 404


async def test_async_send_is_refused_as_the_waiting_one_is_and_sends_nothing(api: ApiStack, pool: asyncpg.Pool) -> None:
    case_id = await _registered(api, pool)
    path = f"/cases/{case_id}/events/located"
    refused = await api.call("POST", path, "cw.cara", json={"event_id": "e-1"}, headers=ASYNC)  # not the case's team
    assert refused.status_code == 403 and "Location" not in refused.headers
    unknown = await api.call("POST", "/cases/acro-case-NO-SUCH-4/events/located", "ice-system", json={"event_id": "e"},
                             headers=ASYNC)
    assert unknown.status_code == 404
    bad = await api.call("POST", path, "ice-system", json={"event_id": "e-2", "custody": "in_prison"}, headers=ASYNC)
    assert bad.status_code == 422 and "R42" in bad.json()["detail"]
    # Nothing reached the case: its history holds no signal, the CID no message.
    history = await api.services.cases.handle(case_id).fetch_history()
    assert not any(e.HasField("workflow_execution_signaled_event_attributes") for e in history.events)
    assert await _received(pool, case_id) == []

    left = await api.call("POST", f"/cases/{case_id}/events/left-uk", "nbtc-system", json={"event_id": "nbtc-9"})
    assert left.status_code == 200
    await _until(pool, "SELECT status = 'closed' FROM cases WHERE id = $1", case_id)
    late = await api.call("POST", path, "ice-system", json={"event_id": "ice-9"}, headers=ASYNC)
    assert (late.status_code, late.json()["code"]) == (409, "case-closed")  # one status everywhere (issue 20)
    assert ("ice-system", "person located") not in await _received(pool, case_id)


async def test_certificates_are_answered_with_the_receipt_even_when_async_is_asked(api: ApiStack, pool: asyncpg.Pool) -> None:
    case_id = await _registered(api, pool, "A-awaiting-certificate", **{
        "certificate": dict(referral_data()["certificate"], request_purpose="Request for criminal proceedings")})
    answer = await api.call("POST", f"/cases/{case_id}/events/certificate", "acro", headers=ASYNC,
                            json={"event_id": "cert-a", "certificate": referral_data()["certificate"]})
    assert answer.status_code == 200 and answer.json()["result"] == "applied", answer.text
    assert "Preference-Applied" not in answer.headers
