"""Nothing behind the API trusts its caller: a client without the payload key cannot
start, signal or update a case (issue 15, item 5; docs/privacy.md).

The attacker is a Temporal client with the plain pydantic converter (no codec) on the same
server and namespace, against a real worker with encryption on. What Temporal does with
each attempt, and what these tests assert as the observable truth:

* start: the workflow fails at its first workflow task (``UnencryptedPayloadRefused``),
  before any workflow code runs: no case row, no audit row, the held referral not taken;
* signal: the SDK drops it (logged, naming the cause); the case is unchanged and goes on
  taking keyed signals - one forged message does not wedge it;
* update: rejected in the validation phase (nothing enters history); the task stays open.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import uuid

import aiohttp
import pytest
from google.protobuf.json_format import MessageToDict
from temporalio.api.common.v1 import Payload, Payloads
from temporalio.client import Client, WorkflowFailureError, WorkflowUpdateFailedError
from temporalio.common import WorkflowIDReusePolicy
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.exceptions import ApplicationError
from temporalio.worker import Replayer

from casework.case import CaseInput, PersonLocated, TaskCompletion, case_id_for
from casework.codec import REFUSAL_TYPE, REFUSED_ENCODING, codec_from_environment
from casework.temporal import data_converter
from cid import intake
from codec_server import start_codec_server
from codec_server.app import CodecServerConfig
from cid.intake import fingerprint
from tests.support import referral
from workflows.case import CaseWorkflow

IMPOSTOR = "director.impostor"


def unkeyed(client: Client) -> Client:
    """The same server and namespace, no payload key: what anyone with network access to
    the frontend could run."""
    return Client(client.service_client, namespace=client.namespace, data_converter=pydantic_data_converter)


async def test_a_client_without_the_key_cannot_start_a_case(ts_env, pool, queue, caplog: pytest.LogCaptureFixture) -> None:
    ref = referral()
    case_id = case_id_for(ref.acro_reference)
    async with pool.acquire() as conn:  # a referral is held, as if submitted properly
        await intake.submit_referral(conn, case_id, ref, fingerprint(ref), "acro.referrals")

    caplog.set_level(logging.WARNING, logger="casework.codec")
    forged = await unkeyed(ts_env.client).start_workflow(
        "AcroCase", CaseInput(acro_reference=ref.acro_reference, submitted_by=IMPOSTOR),
        id=case_id, task_queue=queue, id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
    )
    with pytest.raises(WorkflowFailureError) as failed:  # (a case that ran would wait on people: bounded)
        await asyncio.wait_for(ts_env.client.get_workflow_handle(case_id, run_id=forged.result_run_id).result(), 30)
    cause = failed.value.cause
    assert isinstance(cause, ApplicationError) and cause.type == REFUSAL_TYPE
    assert "not encrypted" in cause.message and "only holders of the payload key" in cause.message
    assert any(r.name == "casework.codec" and "refused a payload that is not encrypted (encoding 'json/plain')" in r.getMessage()
               for r in caplog.records), "the worker's log says what it refused"

    assert await pool.fetchval("SELECT count(*) FROM cases WHERE id = $1", case_id) == 0
    assert await pool.fetchval("SELECT count(*) FROM audit_log WHERE case_id = $1", case_id) == 0
    held = await pool.fetchrow("SELECT payload IS NOT NULL AS held, taken_at FROM intake_referrals WHERE case_id = $1", case_id)
    assert held["held"] and held["taken_at"] is None  # the referral was never taken


async def test_a_signal_from_a_client_without_the_key_is_dropped_and_the_case_goes_on(
    ts_env, start, caplog: pytest.LogCaptureFixture
) -> None:
    case = await start()
    await case.task("nbtc_check")
    audit_before = await case.audit_actions()

    forged_id = f"forged-{uuid.uuid4().hex[:8]}"
    with caplog.at_level(logging.WARNING):
        await unkeyed(ts_env.client).get_workflow_handle(case.id).signal(
            "person_located", PersonLocated(event_id=forged_id, actor=IMPOSTOR, custody="detained"))
        # A keyed signal after it: once it is applied, the forged one was handled (signals
        # are applied in order) - and the case was not wedged by it.
        await case.located(actor="police.custody", event_id="custody-after-forgery")
        await case.task("allocate_case_owner")

    assert any("dropping the signal" in r.getMessage() and r.exc_info and REFUSAL_TYPE in repr(r.exc_info[1])
               for r in caplog.records), "the worker's log names the dropped signal and the cause"
    actors = [r["actor"] for r in await case.rows("SELECT actor FROM audit_log WHERE case_id = $1")]
    assert IMPOSTOR not in actors
    detail = await case.rows("SELECT detail FROM audit_log WHERE case_id = $1 AND action = 'person located'")
    assert [d["detail"].get("event_id") for d in detail] == ["custody-after-forgery"]
    row = await case.case_row()
    assert row["custody"] != "detained"  # the forged custody was never applied
    assert (await case.audit_actions())[:len(audit_before)] == audit_before
    # The forged signal stays in history: a worker that replays the case (after a restart or
    # an eviction) drops it again, the same way, and the case goes on.
    history = await case.handle.fetch_history()
    await Replayer(workflows=[CaseWorkflow], data_converter=data_converter()).replay_workflow(history)


async def test_an_update_from_a_client_without_the_key_is_rejected_and_writes_nothing(ts_env, start) -> None:
    case = await start()
    key = await case.task("nbtc_check")
    before = await case.view()
    audit_before = await case.audit_actions()

    with pytest.raises(WorkflowUpdateFailedError):
        await unkeyed(ts_env.client).get_workflow_handle(case.id).execute_update(
            "complete_task", TaskCompletion(task_key=key, outcome="left_uk", actor=IMPOSTOR))

    after = await case.view()
    assert after.model_dump() == before.model_dump()
    assert await case.audit_actions() == audit_before
    [task] = await case.rows("SELECT status, completed_by FROM tasks WHERE case_id = $1 AND task_key = $2", key)
    assert (task["status"], task["completed_by"]) == ("open", None)
    # The case still takes a completion from a key holder.
    done = await case.complete("nbtc_check", "in_uk")
    assert done.task_key == key


async def test_the_codec_server_shows_an_unencrypted_payload_as_refused() -> None:
    """An operator reading a forged signal in the Web UI sees that it was refused (its
    original bytes kept, under the refused encoding), not a message that looks genuine."""
    token = "codec-test-token-" + uuid.uuid4().hex
    forged = Payload(metadata={"encoding": b"json/plain"}, data=b'{"actor": "director.impostor"}')
    [sealed] = await codec_from_environment().encode([Payload(metadata={"encoding": b"json/plain"}, data=b'"genuine"')])
    server = await start_codec_server("127.0.0.1", 0, config=CodecServerConfig(token=token))
    try:
        async with aiohttp.ClientSession() as http:
            body = MessageToDict(Payloads(payloads=[forged, sealed]))
            async with http.post(server.url + "/decode", json=body, headers={"Authorization": f"Bearer {token}"}) as r:
                assert r.status == 200
                answer = await r.json()
    finally:
        await server.close()
    first, second = answer["payloads"]
    assert base64.b64decode(first["metadata"]["encoding"]) == REFUSED_ENCODING
    assert Payload.FromString(base64.b64decode(first["data"])) == forged
    assert base64.b64decode(second["data"]) == b'"genuine"'
