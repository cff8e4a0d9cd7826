"""Personal data in Temporal history: only ciphertext on the server, readable with the key
(and through the codec server with its token), rotation without losing old histories,
and R03 destruction that holds in history and in the CID.

All on the real dev server; the history is read from the server with a second client
that has no codec, exactly as someone with access to the server (not the key) sees it.
"""

from __future__ import annotations

import asyncio
import base64
import json
import random
import subprocess
import uuid
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import aiohttp
import asyncpg
import pytest
from google.protobuf.json_format import MessageToDict
from google.protobuf.message import Message
from temporalio.api.common.v1 import Payload, Payloads, WorkflowExecution
from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.api.workflowservice.v1 import GetWorkflowExecutionHistoryRequest
from temporalio.client import Client, WorkflowHistory, WorkflowUpdateFailedError
from temporalio.worker import Replayer

from casework.binaries import temporal_cli
from casework.case import Stage
from casework.codec import CodecKey, EncryptionCodec, KeyRing, UndecryptablePayload, keyring_from_environment, sealed_key_id
from casework.referral import DISCLOSABLE_PURPOSE
from casework.temporal import data_converter
from codec_server import start_codec_server
from codec_server.app import CodecServerConfig
from tests.support import Case, referral, running_worker, until
from workflows.case import CaseWorkflow

PAYLOAD = Payload.DESCRIPTOR.full_name
TOKEN = "codec-test-token-" + uuid.uuid4().hex


# --- reading history as the server holds it ---------------------------------------------


def payloads_in(message: Message, path: str = "") -> Iterator[tuple[str, Payload]]:
    """Every Payload anywhere inside ``message``, with where it sits."""
    for fd, value in message.ListFields():
        if fd.message_type is None:
            continue
        where = f"{path}.{fd.name}"
        if fd.message_type.GetOptions().map_entry:
            value_type = fd.message_type.fields_by_name["value"].message_type
            if value_type is None:
                continue
            for key, item in value.items():
                if value_type.full_name == PAYLOAD:
                    yield f"{where}[{key}]", item
                else:
                    yield from payloads_in(item, f"{where}[{key}]")
        elif fd.is_repeated:
            for i, item in enumerate(value):
                if fd.message_type.full_name == PAYLOAD:
                    yield f"{where}[{i}]", item
                else:
                    yield from payloads_in(item, f"{where}[{i}]")
        elif fd.message_type.full_name == PAYLOAD:
            yield where, value
        else:
            yield from payloads_in(value, where)


def plain_client(client: Client) -> Client:
    """Same server, no codec: what the server itself holds."""
    return Client(client.service_client, namespace=client.namespace)


async def raw_run(client: Client, workflow_id: str, run_id: str = "") -> list[HistoryEvent]:
    events: list[HistoryEvent] = []
    token = b""
    while True:
        page = await plain_client(client).workflow_service.get_workflow_execution_history(
            GetWorkflowExecutionHistoryRequest(
                namespace=client.namespace, execution=WorkflowExecution(workflow_id=workflow_id, run_id=run_id),
                next_page_token=token,
            )
        )
        events.extend(page.history.events)
        token = page.next_page_token
        if not token:
            return events


async def raw_history(client: Client, workflow_id: str) -> dict[str, list[HistoryEvent]]:
    """Every run of the case (it continues as new), oldest first, as the server holds them."""
    runs: list[tuple[str, list[HistoryEvent]]] = []
    run_id = (await plain_client(client).get_workflow_handle(workflow_id).describe()).run_id
    while run_id:
        events = await raw_run(client, workflow_id, run_id)
        runs.append((run_id, events))
        run_id = events[0].workflow_execution_started_event_attributes.continued_execution_run_id
    return dict(reversed(runs))


def all_events(history: dict[str, list[HistoryEvent]]) -> list[HistoryEvent]:
    return [e for events in history.values() for e in events]


def history_payloads(events: list[HistoryEvent]) -> list[tuple[str, Payload]]:
    found = [(f"event {e.event_id}{where}", p) for e in events for where, p in payloads_in(e)]
    # Search attributes and the SDK's patch markers (their only datum is the patch ID, a
    # name in our code) are never encrypted - Temporal rules: they must hold no personal data.
    # A local activity's marker (issue 20's record_decision) keeps the SDK's own metadata in
    # [data] - sequence, attempt, activity ID and type, times - never its input; its result
    # is in [result], sealed like any payload.
    local = {f"event {e.event_id}.marker_recorded_event_attributes.details[data]" for e in events
             if e.HasField("marker_recorded_event_attributes")
             and e.marker_recorded_event_attributes.marker_name == "core_local_activity"}
    return [(where, p) for where, p in found if "search_attributes" not in where and "[patch-data]" not in where
            and not any(where.startswith(m) for m in local)]


def leaks(blob: bytes, needles: list[str]) -> list[str]:
    return [n for n in needles if n.encode() in blob]


def assert_all_sealed(payloads: list[tuple[str, Payload]], key_ids: set[str]) -> None:
    assert payloads, "no payload found: the walk over history is broken"
    unsealed = [where for where, p in payloads if sealed_key_id(p) not in key_ids]
    assert not unsealed, f"payloads not sealed with {key_ids}: {unsealed[:10]}"


async def decoded_blob(payloads: list[tuple[str, Payload]], codec: EncryptionCodec) -> bytes:
    opened = await codec.decode([p for _, p in payloads])
    return b"\n".join(p.SerializeToString() for p in opened)


# --- the people and texts of these tests ------------------------------------------------


class Person:
    """Texts that occur nowhere else: finding one means it leaked from this test's case."""

    def __init__(self) -> None:
        tag = uuid.uuid4().hex[:10]
        self.name = f"Zofia Wisniewska-{tag}"
        self.dob = date(1940, 1, 1) + timedelta(days=random.randrange(20000))
        self.offence = f"Arson of the granary at Gdansk {tag}"
        self.sentence = f"3 years suspended {tag}"
        self.purpose = f"Request for criminal proceedings {tag}"
        self.location = f"HMP Wandsworth wing C {tag}"  # what an ICE officer types (task detail)

    @property
    def personal(self) -> list[str]:
        return [self.name, self.dob.isoformat(), self.offence, self.sentence]

    def referral(self, *, disclosable: bool = True) -> Any:
        return referral(
            name=self.name,
            date_of_birth=self.dob.isoformat(),
            certificate={
                "request_purpose": DISCLOSABLE_PURPOSE if disclosable else self.purpose,
                "offences_on_pnc": False,
                "convictions": [{"country": "PL", "offence": self.offence, "category": "arson",
                                 "conviction_date": "2009-04-05", "sentence": self.sentence}],
            },
        )


async def to_located(case: Case, person: Person) -> None:
    """Stage B: NBTC says in the UK; ICE locates the person and types where."""
    await case.complete("nbtc_check", "in_uk", actor="nbtc.officer")
    await case.complete("ice_tasking", "located", actor="ice.officer", location=person.location)
    await case.task("allocate_case_owner")


@pytest.fixture(scope="module")
async def located(dev_env, pool):
    """One case on the dev server, located, with a worker running while the module's tests run."""
    person = Person()
    task_queue = f"privacy-{uuid.uuid4().hex[:10]}"
    async with running_worker(dev_env.client, pool, task_queue):
        case = await Case.start(dev_env.client, pool, task_queue, person.referral())
        await to_located(case, person)
        yield case, person
        await case.handle.terminate(reason="test finished")


# --- the tests --------------------------------------------------------------------------


async def test_raw_history_holds_only_ciphertext_and_decodes_with_the_key(located):
    case, person = located
    events = all_events(await raw_history(case.client, case.id))
    blob = b"".join(e.SerializeToString() for e in events)
    assert leaks(blob, person.personal + [person.location]) == []
    payloads = history_payloads(events)
    keys = keyring_from_environment()
    assert_all_sealed(payloads, {keys.encrypting.key_id})
    # With the key: the caseworker's typed location reads again (so the scan above could
    # have found it); name, date of birth and offence were never there (by reference).
    decoded = await decoded_blob(payloads, EncryptionCodec(keys))
    assert person.location.encode() in decoded
    assert leaks(decoded, person.personal) == []


async def test_refusals_still_read_plainly_through_the_codec(located):
    """Failure messages are sealed too; the client holding the key still reads them."""
    case, _ = located
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await case.complete("allocate_case_owner", "detain")
    assert "not an outcome of allocate_case_owner" in str(refused.value.cause)


async def test_codec_server_refuses_without_the_token_and_decodes_with_it(located):
    case, person = located
    payloads = history_payloads(all_events(await raw_history(case.client, case.id)))
    body = MessageToDict(Payloads(payloads=[p for _, p in payloads]))
    server = await start_codec_server("127.0.0.1", 0, config=CodecServerConfig(token=TOKEN))
    try:
        async with aiohttp.ClientSession() as http:
            async def decode(path: str = "/decode", **headers: str) -> tuple[int, Any]:
                async with http.post(server.url + path, json=body, headers={"X-Namespace": "default", **headers}) as r:
                    return r.status, (await r.json() if r.status == 200 else None)

            assert (await decode())[0] == 401
            assert (await decode(Authorization="Bearer not-the-token-at-all"))[0] == 401
            assert (await decode(Authorization=TOKEN))[0] == 401  # the scheme is part of it
            assert (await decode("/ui/not-the-token-at-all/decode"))[0] == 401

            status, answer = await decode(Authorization=f"Bearer {TOKEN}")
            assert status == 200
            assert person.location.encode() in b"".join(base64.b64decode(p.get("data", "")) for p in answer["payloads"])
            assert len(answer["payloads"]) == len(payloads)
            status, by_path = await decode(f"/ui/{TOKEN}/decode")  # the Web UI's form
            assert status == 200 and by_path == answer

            # CORS: the UI's origin may call; another origin may not.
            preflight = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type,x-namespace"}
            async with http.options(server.url + "/decode", headers={"Origin": "http://localhost:8233", **preflight}) as r:
                assert r.status == 204
                assert r.headers["Access-Control-Allow-Origin"] == "http://localhost:8233"
                assert "X-Namespace" in r.headers["Access-Control-Allow-Headers"]
            async with http.options(server.url + "/decode", headers={"Origin": "http://evil.example", **preflight}) as r:
                assert r.status == 403 and "Access-Control-Allow-Origin" not in r.headers
            async with http.post(server.url + "/decode", json=body, headers={"Origin": "http://evil.example"}) as r:
                assert r.status == 401 and "Access-Control-Allow-Origin" not in r.headers
    finally:
        await server.close()


async def test_temporal_cli_reads_history_through_the_codec_server(located, dev_env):
    """The protocol as Temporal's own tools speak it: ``temporal workflow show`` with
    ``--codec-endpoint`` and ``--codec-auth``."""
    case, person = located
    server = await start_codec_server("127.0.0.1", 0, config=CodecServerConfig(token=TOKEN))
    address = dev_env.client.service_client.config.target_host
    show = [temporal_cli(), "workflow", "show", "--address", address, "--namespace", dev_env.client.namespace,
            "-w", case.id, "--run-id", await _run_with_the_last_update(case), "--output", "json"]
    try:
        with_key = await asyncio.to_thread(subprocess.run, show + [
            "--codec-endpoint", server.url, "--codec-auth", f"Bearer {TOKEN}"], capture_output=True, text=True, timeout=60)
        without = await asyncio.to_thread(subprocess.run, show, capture_output=True, text=True, timeout=60)
        refused = await asyncio.to_thread(subprocess.run, show + ["--codec-endpoint", server.url, "--command-timeout", "2s"],
                                          capture_output=True, text=True, timeout=60)
    finally:
        await server.close()
    assert with_key.returncode == 0, with_key.stderr
    assert person.location.encode() in payload_data(with_key.stdout)
    assert without.returncode == 0 and person.location.encode() not in payload_data(without.stdout)
    # Without the token the codec server answers 401 and the CLI shows nothing.
    assert refused.returncode != 0 and person.location.encode() not in payload_data(refused.stdout)


async def _run_with_the_last_update(case: Case) -> str:
    """The run that took the case's last update (ICE's, with the typed location): the dev
    server suggests continue-as-new every 60 events, so it need not be the current run."""
    first = (await case.handle.describe()).raw_description.workflow_execution_info.first_run_id
    run, holder = first, first
    while run:
        history = await case.client.get_workflow_handle(case.id, run_id=run).fetch_history()
        if any(e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED for e in history.events):
            holder = run
        last = history.events[-1]
        run = (last.workflow_execution_continued_as_new_event_attributes.new_execution_run_id
               if last.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW else "")
    return holder


def payload_data(cli_json: str) -> bytes:
    """The payload bytes in ``temporal workflow show --output json`` (base64 ``data`` fields)."""
    found: list[bytes] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "data" and isinstance(value, str):
                    found.append(base64.b64decode(value))
                else:
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(json.loads(cli_json)) if cli_json.strip() else None
    assert not cli_json.strip() or found, "no payload in the CLI's output"
    return b"\n".join(found)


async def test_rotation_old_histories_replay_and_the_case_continues_under_the_new_key(dev_env, pool, task_queue):
    old_key, new_key = CodecKey.generate("rot-old"), CodecKey.generate("rot-new")
    before = Client(**{**dev_env.client.config(), "data_converter": data_converter(KeyRing([old_key]))})
    after = Client(**{**dev_env.client.config(), "data_converter": data_converter(KeyRing([new_key, old_key]))})
    person = Person()

    async with running_worker(before, pool, task_queue):
        case = await Case.start(before, pool, task_queue, person.referral())
        await to_located(case, person)
    written = await raw_history(dev_env.client, case.id)
    written_before = {(run, e.event_id) for run, events in written.items() for e in events}
    assert_all_sealed(history_payloads(all_events(written)), {"rot-old"})

    # Every run written under the old key replays under the new configuration...
    replayer = Replayer(workflows=[CaseWorkflow], data_converter=after.data_converter)
    for events in written.values():
        await replayer.replay_workflow(WorkflowHistory(case.id, events))
    # ...and only because the old key is kept for decryption.
    without_old = Replayer(workflows=[CaseWorkflow], data_converter=data_converter(KeyRing([new_key])))
    with pytest.raises(RuntimeError, match="UndecryptablePayload"):
        await without_old.replay_workflow(WorkflowHistory(case.id, next(iter(written.values()))))

    # The case goes on under the new configuration: new payloads are sealed with the new key.
    async with running_worker(after, pool, task_queue):
        resumed = Case(after, pool, after.get_workflow_handle(case.id), case.referral)
        await resumed.complete("allocate_case_owner", "allocated", case_owner="co.smith")
        view = await resumed.wait_for(lambda v: any(t.kind == "offending_history_check" for t in v.open_tasks))
        assert view.stage is Stage.LOCATED and view.case_owner == "co.smith"
        with pytest.raises(UndecryptablePayload):  # a client with only the old key cannot read the new
            await before.get_workflow_handle(case.id).query(CaseWorkflow.view)
        await resumed.handle.terminate(reason="test finished")
    history = await raw_history(dev_env.client, case.id)
    old_part = history_payloads([e for run, events in history.items() for e in events if (run, e.event_id) in written_before])
    new_part = history_payloads([e for run, events in history.items() for e in events if (run, e.event_id) not in written_before])
    assert_all_sealed(old_part, {"rot-old"})
    assert_all_sealed(new_part, {"rot-new"})


async def test_R03_destroyed_certificate_is_in_no_history_and_no_CID_row(dev_env, pool, task_queue):
    """R03: a non-disclosable certificate (at intake, and one sent later) is destroyed: its
    convictions and request purpose are in no CID table, and were never in history
    (read raw without the codec, and decoded with it)."""
    person, later = Person(), Person()
    async with running_worker(dev_env.client, pool, task_queue):
        case = await Case.start(dev_env.client, pool, task_queue, person.referral(disclosable=False))
        await case.task("await_certificate")
        await case.certificate({
            "request_purpose": later.purpose, "offences_on_pnc": False,
            "convictions": [{"country": "PL", "offence": later.offence, "category": "arson",
                             "conviction_date": "2011-02-03", "sentence": later.sentence}],
        })
        await until(lambda: pool.fetchval(
            "SELECT destroyed_at IS NOT NULL FROM certificates WHERE case_id = $1 AND seq = 2", case.id),
            "the second certificate destroyed", 15, 0.05)
        view = await case.view()
        assert view.stage is Stage.AWAITING_CERTIFICATE  # R03: no further action on it
        await case.handle.terminate(reason="test finished")

    destroyed = [person.offence, person.sentence, person.purpose, later.offence, later.sentence, later.purpose]
    events = all_events(await raw_history(dev_env.client, case.id))
    payloads = history_payloads(events)
    assert_all_sealed(payloads, {keyring_from_environment().encrypting.key_id})
    assert leaks(b"".join(e.SerializeToString() for e in events), destroyed + person.personal) == []
    assert leaks(await decoded_blob(payloads, EncryptionCodec(keyring_from_environment())), destroyed + person.personal) == []

    async with pool.acquire() as conn:
        for text in destroyed:
            assert await rows_holding(conn, text) == {}, f"{text!r} is still in the CID"
        # The search finds what is there: the referral (not the certificate) keeps the name.
        assert await rows_holding(conn, person.name) == {"referrals": 1}
        certificates = await conn.fetch(
            "SELECT seq, content, request_purpose, destroyed_at FROM certificates WHERE case_id = $1 ORDER BY seq", case.id)
    assert [(c["seq"], c["content"], c["request_purpose"]) for c in certificates] == [(1, None, None), (2, None, None)]
    assert all(c["destroyed_at"] is not None for c in certificates)


async def rows_holding(conn: asyncpg.Connection, text: str) -> dict[str, int]:
    """How many rows of each CID table hold ``text`` in any column (text, jsonb, arrays...)."""
    tables = await conn.fetch(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()"
        " AND table_type = 'BASE TABLE'"
    )
    found: dict[str, int] = {}
    for t in tables:
        name = t["table_name"]
        count = await conn.fetchval(f'SELECT count(*) FROM "{name}" AS t WHERE strpos(t::text, $1) > 0', text)
        if count:
            found[name] = count
    return found
