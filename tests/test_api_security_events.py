"""Issue 25, item 4, through the real stack: every refused attempt is a security event
(who, what, on what, why, when, the request's ID; no token, no personal data) auditors
read at ``GET /audit/security-events``; refusals are counted by reason at ``/metrics``,
repeated ones raise their own metric; personal-data reads and token failures are limited
(429 with Retry-After). Eight refused personal-data reads (403, R60) left no trace before."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import asyncpg

from casework.case import case_id_for
from tests import token_forgery as forge
from tests.api_support import ApiStack
from tests.ops_support import total
from tests.support import referral_data

COLUMNS = "request_id, status, subject, action, resource, reason_code, reason"


async def _registered(api: ApiStack, pool: asyncpg.Pool, **overrides: Any) -> tuple[str, dict[str, Any]]:
    data = referral_data(**overrides)
    assert (await api.call("POST", "/referrals", "acro", json=data)).status_code == 201
    case_id = case_id_for(data["acro_reference"])
    for _ in range(400):
        if await pool.fetchval("SELECT 1 FROM tasks WHERE case_id = $1", case_id):
            return case_id, data
        await asyncio.sleep(0.05)
    raise AssertionError("the case was not registered")


async def _events(pool: asyncpg.Pool, request_ids: list[str]) -> list[asyncpg.Record]:
    return await pool.fetch(f"SELECT {COLUMNS} FROM security_events WHERE request_id = ANY($1::text[]) ORDER BY id",
                            request_ids)


def _metric(text: str, name: str, **labels: str) -> float:
    return total(text, name, **labels)


async def test_refused_personal_data_reads_are_recorded_without_personal_data_R60(api: ApiStack, pool: asyncpg.Pool) -> None:
    case_id, data = await _registered(api, pool)
    before = _metric((await api.http.get("/metrics")).text, "casework_api_refusals_total", status="403", reason="policy")
    ids = [f"pd-{uuid.uuid4().hex[:12]}" for _ in range(8)]
    for request_id in ids:  # another team's caseworker, eight times
        answer = await api.call("POST", f"/cases/{case_id}/personal-data", "cw.cara", headers={"X-Request-ID": request_id},
                                json={"purpose": "deportation", "reason": "curious"})
        assert answer.status_code == 403 and answer.headers["x-request-id"] == request_id
    events = await _events(pool, ids)
    assert [e["request_id"] for e in events] == ids
    for event in events:
        assert (event["status"], event["subject"], event["action"], event["reason_code"]) == \
            (403, "cw.cara", "read_personal_data", "policy")
        assert event["resource"] == f"personal data of {case_id} for deportation" and "R60" in event["reason"]
        text = " ".join(str(v) for v in event.values())
        for personal in (data["name"], data["date_of_birth"], "curious"):
            assert personal not in text  # no personal data, not even the reason given
    after = _metric((await api.http.get("/metrics")).text, "casework_api_refusals_total", status="403", reason="policy")
    assert after - before == 8


async def test_a_bad_token_is_recorded_with_its_reason_and_never_the_token(api: ApiStack, pool: asyncpg.Pool) -> None:
    token = forge.tampered_signature(api.tokens.of("acro"))
    request_id = f"tok-{uuid.uuid4().hex[:12]}"
    answer = await api.http.get("/cases", headers={"Authorization": f"Bearer {token}", "X-Request-ID": request_id})
    assert answer.status_code == 401
    [event] = await _events(pool, [request_id])
    assert (event["status"], event["subject"], event["action"], event["resource"], event["reason_code"]) == \
        (401, None, "authenticate", "/cases", "signature")
    assert not any(part in " ".join(str(v) for v in event.values()) for part in token.split("."))


async def test_auditors_read_the_security_events_and_others_are_refused_and_recorded(api: ApiStack, pool: asyncpg.Pool) -> None:
    request_id = f"aud-{uuid.uuid4().hex[:12]}"
    refused = await api.call("GET", "/audit/security-events", "cw.ben", headers={"X-Request-ID": request_id})
    assert refused.status_code == 403
    page = await api.call("GET", "/audit/security-events", "audit.jo", params={"subject": "cw.ben", "limit": 500})
    assert page.status_code == 200, page.text
    mine = [e for e in page.json()["events"] if e["request_id"] == request_id]
    assert len(mine) == 1 and mine[0]["action"] == "read_audit" and mine[0]["status"] == 403
    assert (await pool.fetchval("SELECT count(*) FROM security_events WHERE request_id = $1", request_id)) == 1
    # Append-only, for its owner too.
    for sql in ("UPDATE security_events SET subject = 'x'", "DELETE FROM security_events", "TRUNCATE security_events"):
        try:
            await pool.execute(sql)
        except asyncpg.PostgresError as err:
            assert "append-only" in str(err)
        else:
            raise AssertionError(f"{sql} changed the security events")


async def test_repeated_refusals_of_one_subject_raise_the_alerts_metric(api: ApiStack) -> None:
    metrics = (await api.http.get("/metrics")).text
    before = _metric(metrics, "casework_api_repeated_refusals_total")
    for _ in range(21):  # refusals_alert: 20 a minute
        assert (await api.call("GET", "/audit/security-events", "nbtc.finn")).status_code == 403
    assert _metric((await api.http.get("/metrics")).text, "casework_api_repeated_refusals_total") > before


async def test_a_subjects_reads_of_personal_data_are_limited_429_R60(api: ApiStack, pool: asyncpg.Pool) -> None:
    case_id, _ = await _registered(api, pool)
    body = {"purpose": "deportation", "reason": "review"}
    for _ in range(30):  # personal_data_reads: 30 a minute
        assert (await api.call("POST", f"/cases/{case_id}/personal-data", "scw.erin", json=body)).status_code == 200
    reads = await pool.fetchval("SELECT count(*) FROM audit_log WHERE case_id = $1 AND action = 'personal data read'", case_id)
    limited = await api.call("POST", f"/cases/{case_id}/personal-data", "scw.erin", json=body)
    assert limited.status_code == 429 and int(limited.headers["retry-after"]) >= 1, limited.text
    assert limited.json()["rule"] == "R60"
    assert await pool.fetchval("SELECT count(*) FROM audit_log WHERE case_id = $1 AND action = 'personal data read'",
                               case_id) == reads  # nothing read
    assert (await api.call("POST", f"/cases/{case_id}/personal-data", "scw.erin", json=body)).status_code == 429
    assert (await api.call("POST", f"/cases/{case_id}/personal-data", "cw.ben", json=body)).status_code == 200  # per subject


async def test_an_address_sending_bad_tokens_is_answered_429_before_any_is_checked(api: ApiStack) -> None:
    """Last in the module: this address is then limited for a minute."""
    bad = {"Authorization": "Bearer " + forge.tampered_signature(api.tokens.of("acro"))}
    statuses = [(await api.http.get("/cases", headers=bad)).status_code for _ in range(61)]  # token_failures: 60
    first = statuses.index(429)  # the module's earlier bad tokens count too
    assert 55 <= first <= 60 and set(statuses[:first]) == {401} and set(statuses[first:]) == {429}, statuses
    limited = await api.http.get("/cases", headers=api.headers("acro"))  # a good token too, for the minute
    assert limited.status_code == 429 and int(limited.headers["retry-after"]) >= 1
