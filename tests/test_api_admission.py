"""Issue 25 item 9 at the API: no burst freezes a case. Messages are admitted per case (from
all senders) and per sender (to all cases) up to a cap a minute; beyond it the answer is
429 with Retry-After saying which cap, and the message is not sent - so the case never
receives what the API refused, and every message it was told it has, it applies.

The caps are set small for this module (the API reads them as configuration)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest

from tests.api_support import ApiStack, serving_api
from tests.test_api_events import _registered, _until

PER_CASE = 5
PER_SENDER = 8
ASYNC = {"Prefer": "respond-async"}


@pytest.fixture(scope="module")
async def api(ts_env: Any, queue: str, database_url: str, pool: asyncpg.Pool) -> AsyncIterator[ApiStack]:
    with pytest.MonkeyPatch.context() as env:
        env.setenv("CASEWORK_API_MESSAGES_PER_CASE_PER_MINUTE", str(PER_CASE))
        env.setenv("CASEWORK_API_MESSAGES_PER_SENDER_PER_MINUTE", str(PER_SENDER))
        async with serving_api(ts_env.client, queue, database_url) as stack:
            yield stack


async def _located(api: ApiStack, case_id: str, who: str) -> tuple[str, Any]:
    event_id = uuid.uuid4().hex
    answer = await api.call("POST", f"/cases/{case_id}/events/located", who, headers=ASYNC,
                            json={"event_id": event_id, "custody": "confirmed_address"})
    return event_id, answer


async def _applied(pool: asyncpg.Pool, case_id: str) -> set[str]:
    return {r["event_id"] for r in await pool.fetch(
        "SELECT detail->>'event_id' AS event_id FROM audit_log WHERE case_id = $1 AND detail ? 'event_id'", case_id)}


async def test_a_burst_to_one_case_is_refused_429_beyond_its_cap_and_what_was_taken_is_applied(
        api: ApiStack, pool: asyncpg.Pool) -> None:
    case_id = await _registered(api, pool)
    taken = []
    for _ in range(PER_CASE):
        event_id, answer = await _located(api, case_id, "ice-system")
        assert answer.status_code == 202, answer.text
        taken.append(event_id)

    refused_id, refused = await _located(api, case_id, "pnc-bureau")  # any sender: the cap is the case's
    assert refused.status_code == 429, refused.text
    assert int(refused.headers["retry-after"]) >= 1
    problem = refused.json()
    assert problem["type"].endswith("too-many-requests")
    assert problem["detail"].startswith(f"case {case_id} has been sent {PER_CASE} messages in the last minute")
    assert "was not sent" in problem["detail"] and f"{refused.headers['retry-after']} s" in problem["detail"]

    # What was taken is applied, once each; what was refused never reached the case.
    await _until(pool, "SELECT count(*) >= $2 FROM audit_log WHERE case_id = $1 AND detail ? 'event_id'", case_id, PER_CASE)
    assert await _applied(pool, case_id) == set(taken)
    assert refused_id not in await _applied(pool, case_id)


async def test_one_sender_is_capped_across_cases_and_others_still_get_through(api: ApiStack, pool: asyncpg.Pool) -> None:
    cases = [await _registered(api, pool) for _ in range(2)]
    statuses = []
    for n in range(PER_SENDER + 1):
        _, answer = await _located(api, cases[n % 2], "pnc-bureau")  # never past one case's cap
        statuses.append(answer.status_code)
    assert statuses == [202] * PER_SENDER + [429], statuses
    _, limited = await _located(api, cases[0], "pnc-bureau")
    assert limited.status_code == 429 and limited.json()["detail"].startswith(f"you have sent {PER_SENDER} messages")

    _, other = await _located(api, cases[1], "ice-system")  # another sender, a case under its cap
    assert other.status_code == 202, other.text
