"""Issue 25, item 2 (the API's side): a state of the case that passes by itself is 503 with
``Retry-After`` and says what Temporal said, never 422; and a sender who follows it loses
nothing. Through the real stack: a dev server that admits one update in flight per case
(``history.maxInFlightUpdates=1``), its worker stopped as in a deploy."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta

import asyncpg
import pytest
from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment

import workflows.client
from api.failures import transient
from casework import search
from casework.binaries import temporal_cli
from casework.case import case_id_for
from casework.temporal import data_converter
from local_stack.polling import until
from tests.api_support import ApiStack, serving_api
from tests.support import referral_data, running_worker
from workflows.continuing import CONTINUING_AS_NEW


@pytest.fixture(scope="module")
async def one_update_env() -> AsyncIterator[WorkflowEnvironment]:
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=temporal_cli(), data_converter=data_converter(), search_attributes=search.ALL,
        dev_server_extra_args=["--dynamic-config-value", "history.maxInFlightUpdates=1"])
    yield env
    await env.shutdown()


async def _case_at_its_nbtc_check(api: ApiStack, client: Client, worker_pool: asyncpg.Pool, pool: asyncpg.Pool,
                                  queue: str) -> str:
    """A referral through the API, its case waiting on the NBTC check (R10); then no worker."""
    data = referral_data()
    case_id = case_id_for(data["acro_reference"])
    async with running_worker(client, worker_pool, queue):
        assert (await api.call("POST", "/referrals", "acro", json=data)).status_code == 201
        await until(lambda: pool.fetchval("SELECT 1 FROM tasks WHERE case_id = $1 AND kind = 'nbtc_check'", case_id),
                    "the case's NBTC check", 60, 0.1)
    return case_id


async def test_updates_in_flight_at_the_limit_are_503_with_retry_after_and_nothing_is_lost(
        one_update_env: WorkflowEnvironment, worker_pool: asyncpg.Pool, pool: asyncpg.Pool, database_url: str,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(workflows.client, "BUSY_RETRY_FOR", timedelta(seconds=1))  # the client's patience, not Temporal
    client = one_update_env.client
    queue = f"statuses-{uuid.uuid4().hex[:8]}"
    async with serving_api(client, queue, database_url) as api:
        case_id = await _case_at_its_nbtc_check(api, client, worker_pool, pool, queue)
        # The worker is down (a deploy): the first message waits in flight, the second meets the limit.
        path = f"/cases/{case_id}/events/located"
        first = asyncio.create_task(api.call("POST", path, "ice-system", json={"event_id": "first", "custody": "confirmed_address"}))
        await asyncio.sleep(1.0)
        second = await api.call("POST", path, "ice-system", json={"event_id": "second", "custody": "confirmed_address"})
        assert second.status_code == 503, second.text
        assert second.headers["content-type"] == "application/problem+json"
        assert int(second.headers["retry-after"]) >= 1
        detail = second.json()["detail"]
        assert "too many updates in flight" in detail and "RESOURCE_EXHAUSTED" in detail, detail  # Temporal's words
        assert "send again" in detail
        # The sender follows the 503: once a worker is back, both messages are applied, once each.
        async with running_worker(client, worker_pool, queue):
            assert (await first).status_code == 200
            again = await api.call("POST", path, "ice-system", json={"event_id": "second", "custody": "confirmed_address"})
            assert again.status_code == 200 and again.json()["result"] == "applied", again.text
        received = await pool.fetch("SELECT detail->>'event_id' AS id FROM audit_log WHERE case_id = $1 "
                                    "AND detail ? 'event_id' ORDER BY id", case_id)
        assert [r["id"] for r in received] == ["first", "second"]
        await client.get_workflow_handle(case_id).terminate("test over")


async def test_a_workflow_task_failing_and_retried_is_503_not_a_refusal(
        one_update_env: WorkflowEnvironment, worker_pool: asyncpg.Pool, pool: asyncpg.Pool, database_url: str,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A worker that cannot open the case's payloads (a botched key rotation): every workflow
    task fails and is retried. A message meanwhile is 503 saying so, never 422."""
    from tests.ops_support import wrong_key_client

    monkeypatch.setattr(workflows.client, "BUSY_RETRY_FOR", timedelta(seconds=2))
    client = one_update_env.client
    queue = f"statuses-{uuid.uuid4().hex[:8]}"
    async with serving_api(client, queue, database_url) as api:
        case_id = await _case_at_its_nbtc_check(api, client, worker_pool, pool, queue)
        async with running_worker(await wrong_key_client(client), worker_pool, queue):
            answer = await api.call("POST", f"/cases/{case_id}/events/located", "ice-system",
                                    json={"event_id": "during-rotation", "custody": "confirmed_address"})
        assert answer.status_code == 503, answer.text  # was a 500 ("something went wrong")
        detail = answer.json()["detail"]
        assert "workflow task failed and is being retried" in detail and "FAILED_PRECONDITION" in detail, detail
        assert int(answer.headers["retry-after"]) >= 1 and "send again" in detail
        await client.get_workflow_handle(case_id).terminate("test over")


def test_a_case_continuing_as_new_is_503_and_a_refusal_is_not_transient() -> None:
    """The case's own answers, as the API classifies them: continuing as new passes by itself
    (503, what the case said); any other refusal is the caller's to read (None here: 4xx)."""
    busy = WorkflowUpdateFailedError(ApplicationError("the case is continuing as new; send again", type=CONTINUING_AS_NEW))
    problem = transient(busy, "acro-case-X")
    assert problem is not None and problem.status == 503 and problem.headers["Retry-After"]
    assert "continuing as new" in (problem.document.detail or "")
    refused = WorkflowUpdateFailedError(ApplicationError("R30: convictions not disclosable", type="Refused"))
    assert transient(refused, "acro-case-X") is None


def test_the_cli_sends_again_only_when_nothing_was_done_and_says_how_often() -> None:
    """starter/api_client.py: a 503 whose type says nothing was done (a busy case, Temporal
    or the issuer not answering) is sent again after its Retry-After; one that may have been
    applied (no answer in time) or any refusal is kept; the last line says how often it sent."""
    from dataclasses import replace

    from starter.api_client import Answer, _send_again_after, error_for

    def problem(status: int, kind: str, detail: str = "") -> dict[str, object]:
        return {"type": f"/docs/api#{kind}", "title": "Unavailable", "status": status, "detail": detail or kind}

    busy = Answer(503, problem(503, "case-busy", "case X has too many updates in flight"), {"retry-after": "2"})
    assert _send_again_after(busy) == 2
    assert _send_again_after(Answer(503, problem(503, "unavailable"), {"retry-after": "5"})) == 5
    assert _send_again_after(Answer(503, problem(503, "case-unavailable"), {"retry-after": "5"})) is None
    assert _send_again_after(Answer(422, problem(422, "refused-by-case"), {"retry-after": "5"})) is None
    line = error_for(replace(busy, tries=3, waited=4.0)).message
    assert line.endswith("too many updates in flight (sent 3 times over 4 s; try again in 2 s)"), line
    assert error_for(busy).message.endswith("(try again in 2 s)")
