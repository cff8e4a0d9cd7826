"""Stage A (R01-R06) end to end: the real dev server, the real CID, asserted by reading the CID."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from typing import Any, AsyncIterator, Iterator

import asyncpg
import pytest
from google.protobuf.message import Message
from temporalio.api.common.v1 import Payload
from temporalio.client import Client
from temporalio.service import RPCError

from casework.case import case_id_for
from casework.referral import DISCLOSABLE_PURPOSE
from casework.rules import ACRO_REFERRAL_EVENT, NON_DISCLOSABLE_NOTE
from casework.tasks import CC_WORKFLOW, NBTC
from cid import intake
from cid.intake import fingerprint
from workflows.client import CaseClient, Submitted
from tests.support import Case, referral, running_worker, submit, until

CRIMINAL_PROCEEDINGS = "Request for criminal proceedings"


async def stop_running(client: Client, *task_queues: str) -> None:
    """Terminate the cases a test left waiting on a human task, so later tests that list
    workflows on the shared dev server do not see them (best effort: visibility lags)."""
    for queue in task_queues:
        async for found in client.list_workflows(f"TaskQueue = '{queue}' AND ExecutionStatus = 'Running'"):
            with contextlib.suppress(RPCError):
                await client.get_workflow_handle(found.id, run_id=found.run_id).terminate(reason="test finished")


@pytest.fixture(autouse=True)
async def _stop_cases(dev_env, task_queue) -> AsyncIterator[None]:
    yield
    await stop_running(dev_env.client, task_queue)


def token() -> str:
    return uuid.uuid4().hex[:8].upper()


def certificate(purpose: str, *offences: str, on_pnc: bool = False, category: str = "violence") -> dict[str, Any]:
    return {
        "request_purpose": purpose,
        "offences_on_pnc": on_pnc,
        "convictions": [
            {"country": "FR", "offence": offence, "category": category, "conviction_date": "2011-04-05",
             "sentence": "2 years"}
            for offence in offences
        ],
    }


async def audit(case: Case) -> dict[str, tuple[str, dict[str, Any]]]:
    """The case's audit log by event key: (action, detail)."""
    rows = await case.rows("SELECT event_key, action, detail FROM audit_log WHERE case_id = $1")
    return {r["event_key"]: (r["action"], r["detail"]) for r in rows}


async def assert_registered(case: Case, offences: list[str], certificate_seq: int = 1) -> asyncpg.Record:
    """R04/R05/R06: what registration leaves in the CID for a disclosable case; returns the case row."""
    row = await case.case_row()
    assert row["disclosable"] is True
    subjects = await case.rows("SELECT s.* FROM subjects s JOIN cases c ON c.subject_id = s.id WHERE c.id = $1")
    assert len(subjects) == 1 and subjects[0]["name"] == case.referral.name
    convictions = await case.rows("SELECT * FROM convictions WHERE case_id = $1 ORDER BY seq")
    assert [c["offence"] for c in convictions] == offences
    assert {c["subject_id"] for c in convictions} == {row["subject_id"]}
    events = await case.rows("SELECT event_type, status FROM calendar_events WHERE case_id = $1")
    assert [(e["event_type"], e["status"]) for e in events] == [("CC - ACRO Referral", "Completed")]
    assert ACRO_REFERRAL_EVENT == "CC - ACRO Referral"
    assert ("PNC Bureau", "PNC check request") in await case.messages()
    paper = await case.rows("SELECT reference FROM paper_files WHERE case_id = $1")
    assert len(paper) == 1 and paper[0]["reference"].startswith("HO-PF-")
    cert = await case.row("SELECT * FROM certificates WHERE case_id = $1 AND seq = $2", certificate_seq)
    assert cert is not None and cert["disclosable"] and cert["destroyed_at"] is None
    assert [c["offence"] for c in cert["content"]] == offences  # the disclosable certificate is kept
    log = await audit(case)
    assert log["restricted-R05"] == ("restricted step reached", {"rule": "R05"})
    assert log["routed"] == ("referred to team", {"team": row["team"], "rule": "R06"})
    assert log["registered"][0] == "case registered in CID" and log["registered"][1]["rule"] == "R04"
    return row


async def held_payload(pool: asyncpg.Pool, case_id: str) -> Any:
    return await pool.fetchval("SELECT payload FROM intake_referrals WHERE case_id = $1", case_id)


# --- R01, R02, R04-R06: disclosable referrals --------------------------------------------------------


async def test_R01_R02_R04_R05_R06_disclosable_by_purpose(dev_env, pool, task_queue):
    """Disclosable by its purpose wording (R02): registered, referred to a team, NBTC check open."""
    async with running_worker(dev_env.client, pool, task_queue):
        ref = referral(name=f"Piotr Nowak {token()}", nationalities=["PL"], aliases=["P. Nowak"],
                       certificate=certificate(DISCLOSABLE_PURPOSE, "Robbery", "Assault"))
        case = await Case.start(dev_env.client, pool, task_queue, ref)
        key = await case.task("nbtc_check")  # R10: whereabouts unknown -> Stage B's first task

        row = await assert_registered(case, ["Robbery", "Assault"])
        assert row["stage"] == "B-first-actions" and row["status"] == "open"
        assert row["eea"] is True and row["team"] == "CC EEA Team"  # R06 from team_routes
        assert row["acro_reference"] == ref.acro_reference
        received = await case.row("SELECT * FROM referrals WHERE case_id = $1")
        assert received is not None and received["name"] == ref.name and received["nationalities"] == ["PL"]
        assert received["aliases"] == ["P. Nowak"] and received["reason_for_request"] == "arrest"
        tasks = await case.tasks()
        assert [(t["task_key"], t["kind"], t["team"], t["status"]) for t in tasks] == [(key, "nbtc_check", NBTC, "open")]
        assert await held_payload(pool, case.id) is None  # the intake copy is cleared once taken
        assert (await case.view()).team == "CC EEA Team"


async def test_R02_disclosable_because_offences_on_pnc(dev_env, pool, task_queue):
    """R02 second limb: a criminal-proceedings certificate whose offences are on the PNC is usable."""
    async with running_worker(dev_env.client, pool, task_queue):
        ref = referral(name=f"Chidi Okafor {token()}", nationalities=["NG"],
                       certificate=certificate(CRIMINAL_PROCEEDINGS, "Fraud", on_pnc=True))
        case = await Case.start(dev_env.client, pool, task_queue, ref)
        await case.task("nbtc_check")
        row = await assert_registered(case, ["Fraud"])
        assert row["eea"] is False and row["team"] == "CC Non-EEA Team"
        assert await case.rows("SELECT 1 FROM notes WHERE case_id = $1") == []
        assert ("ACRO", "ACRO certificate request") not in await case.messages()


async def test_R10_known_whereabouts_go_to_stage_C(dev_env, pool, task_queue):
    """A confirmed location skips the NBTC check: Stage C opens with the allocation task (R20)."""
    async with running_worker(dev_env.client, pool, task_queue):
        ref = referral(name=f"Anna Berg {token()}", nationalities=["SE"],
                       whereabouts={"status": "in_prison", "release_date": "2031-01-01"})
        case = await Case.start(dev_env.client, pool, task_queue, ref)
        await case.task("allocate_case_owner")
        row = await assert_registered(case, ["Robbery"])
        assert row["stage"] == "C-located" and row["custody"] == "in_prison"
        assert row["team"] == "CC FNO Prison Team"
        assert [(t["kind"], t["team"]) for t in await case.tasks()] == [("allocate_case_owner", "CC FNO Prison Team")]


async def test_R06_routing_from_team_routes(dev_env, pool, task_queue):
    """R06: the team comes from the seeded routing table: prison first, then EEA / non-EEA."""
    seeded = await pool.fetch("SELECT priority, eea, whereabouts, team FROM team_routes ORDER BY priority")
    assert [tuple(r) for r in seeded][:3] == [
        (10, None, "in_prison", "CC FNO Prison Team"), (20, True, None, "CC EEA Team"), (30, False, None, "CC Non-EEA Team"),
    ]
    examples = [  # (nationalities, whereabouts, first task, team)
        (["DE"], {"status": "in_prison", "release_date": "2030-06-01"}, "allocate_case_owner", "CC FNO Prison Team"),
        (["US"], {"status": "in_prison", "release_date": "2027-03-01"}, "allocate_case_owner", "CC FNO Prison Team"),
        (["CH"], {"status": "unknown"}, "nbtc_check", "CC EEA Team"),
        (["NG", "IE"], {"status": "confirmed_address"}, "allocate_case_owner", "CC EEA Team"),  # dual: EEA
        (["BR"], {"status": "detained"}, "allocate_case_owner", "CC Non-EEA Team"),
        (["TR"], {"status": "unknown"}, "nbtc_check", "CC Non-EEA Team"),
    ]
    async with running_worker(dev_env.client, pool, task_queue):
        cases = await asyncio.gather(*(
            Case.start(dev_env.client, pool, task_queue,
                       referral(name=f"Route Test {token()}", nationalities=n, whereabouts=w))
            for n, w, _, _ in examples
        ))
        await asyncio.gather(*(case.task(first) for case, (_, _, first, _) in zip(cases, examples)))
        for case, (nationalities, _, first, team) in zip(cases, examples):
            row = await case.case_row()
            assert row["team"] == team, (nationalities, row["team"])
            # The NBTC check goes to NBTC; a case-owner task goes to the routed team (R20).
            assert [(t["kind"], t["team"]) for t in await case.tasks()] == [(first, NBTC if first == "nbtc_check" else team)]
            assert (await audit(case))["routed"][1] == {"team": team, "rule": "R06"}


# --- R03 / R61: non-disclosable certificates -----------------------------------------------------------


def payloads_in(message: Message) -> Iterator[Payload]:
    """Every Payload anywhere inside a protobuf message (inputs, results, headers, memo...)."""
    if isinstance(message, Payload):
        yield message
        return
    for field, value in message.ListFields():
        if field.message_type is None:
            continue
        repeated = field.is_repeated if hasattr(field, "is_repeated") else field.label == field.LABEL_REPEATED
        if repeated:  # maps are repeated entries too
            items = value.values() if field.message_type.GetOptions().map_entry else value
            for item in items:
                if isinstance(item, Message):
                    yield from payloads_in(item)
        else:
            yield from payloads_in(value)


async def history_bytes(client: Client, case: Case) -> tuple[bytes, bytes]:
    """The case's whole history (every run) as stored, and its payloads decoded (decrypted)
    as a reader holding the key would see them: JSON payloads appear as their UTF-8 text."""
    events = []
    run_id: str | None = None  # the latest run first, then back along continue-as-new
    while True:
        history = await client.get_workflow_handle(case.id, run_id=run_id).fetch_history()
        events += history.events
        run_id = history.events[0].workflow_execution_started_event_attributes.continued_execution_run_id
        if not run_id:
            break
    stored = b"".join(event.SerializeToString() for event in events)
    payloads = [p for event in events for p in payloads_in(event)]
    codec = client.data_converter.payload_codec
    decoded = await codec.decode(payloads) if codec else payloads
    return stored, b"".join(p.SerializeToString() for p in decoded)


async def test_R03_R61_non_disclosable_destroyed_then_disclosable_resumes(dev_env, pool, task_queue):
    """R03: note, new ACRO request, destruction; the case waits. A second non-disclosable
    certificate is destroyed too; a disclosable one resumes the case from R04. No personal
    data ever entered the workflow history."""
    t = token()
    name, first, second, final = f"Ivan Zhelev {t}", f"Burglary {t}", f"Arson {t}", [f"Kidnap {t}", f"Extortion {t}"]
    async with running_worker(dev_env.client, pool, task_queue):
        ref = referral(name=name, nationalities=["BG"], certificate=certificate(CRIMINAL_PROCEEDINGS, first))
        case = await Case.start(dev_env.client, pool, task_queue, ref)
        await case.task("await_certificate")

        row = await case.case_row()
        assert row["stage"] == "A-awaiting-certificate" and row["disclosable"] is False
        assert row["subject_id"] is None and row["team"] is None
        notes = await case.rows("SELECT note_key, text FROM notes WHERE case_id = $1")
        assert [(n["note_key"], n["text"]) for n in notes] == [("non-disclosable-1", NON_DISCLOSABLE_NOTE)]
        assert NON_DISCLOSABLE_NOTE == ("non-disclosable ACRO certificate received – no further action "
                                        "until a disclosable certificate is obtained")
        assert await case.messages() == [("ACRO", "ACRO certificate request")]
        request = await case.row("SELECT body FROM outbound_messages WHERE case_id = $1")
        assert request is not None and request["body"]["purpose"] == DISCLOSABLE_PURPOSE  # for immigration purposes
        cert = await case.row("SELECT * FROM certificates WHERE case_id = $1 AND seq = 1")
        assert cert is not None and cert["disclosable"] is False
        assert cert["content"] is None and cert["request_purpose"] is None and cert["destroyed_at"] is not None
        assert await held_payload(pool, case.id) is None  # nothing of the referral held at intake
        log = await audit(case)
        assert log["certificate-1-destroyed"] == ("non-disclosable certificate destroyed", {"seq": 1, "rule": "R03"})
        assert await case.rows("SELECT 1 FROM convictions WHERE case_id = $1") == []
        assert await pool.fetchval("SELECT count(*) FROM subjects WHERE name = $1", name) == 0
        assert [(t["kind"], t["team"], t["status"]) for t in await case.tasks()] == [("await_certificate", CC_WORKFLOW, "open")]

        # A second non-disclosable certificate: destroyed too, the case keeps waiting.
        await case.certificate(certificate(CRIMINAL_PROCEEDINGS, second))
        second_row = await until(lambda: case.row(
            "SELECT * FROM certificates WHERE case_id = $1 AND seq = 2 AND destroyed_at IS NOT NULL"),
            "the second certificate destroyed", 15, 0.05)
        assert second_row["content"] is None and second_row["request_purpose"] is None
        await until(lambda: case.row("SELECT 1 FROM audit_log WHERE case_id = $1 AND event_key = 'certificate-2-destroyed'"),
                    "its audit row", 15, 0.05)
        assert [n["note_key"] for n in await case.rows("SELECT note_key FROM notes WHERE case_id = $1 ORDER BY id")] == [
            "non-disclosable-1", "non-disclosable-2"]
        assert await case.messages() == [("ACRO", "ACRO certificate request")] * 2
        view = await case.view()
        assert view.stage.value == "A-awaiting-certificate" and [t.kind for t in view.open_tasks] == ["await_certificate"]
        assert (await case.case_row())["subject_id"] is None

        # A disclosable certificate resumes the case at R04, from that certificate.
        await case.certificate(certificate(DISCLOSABLE_PURPOSE, *final))
        await case.task("nbtc_check")
        row = await assert_registered(case, final, certificate_seq=3)
        assert row["team"] == "CC EEA Team" and row["stage"] == "B-first-actions"
        waited = next(t for t in await case.tasks() if t["kind"] == "await_certificate")
        assert waited["status"] == "done" and waited["outcome"] == "disclosable_certificate_received"
        assert await pool.fetchval(
            "SELECT count(*) FROM intake_certificates WHERE case_id = $1 AND payload IS NULL", case.id) == 2
        assert await pool.fetchval("SELECT count(*) FROM intake_certificates WHERE case_id = $1", case.id) == 2

        # Personal data never entered Temporal: not the name, not one offence of any certificate.
        stored, decoded = await history_bytes(dev_env.client, case)
        # The search works: the submitting actor is in the (decoded) workflow input, and the
        # certificate handed in by "acro.system" in the (decoded) signal inputs.
        assert b'"submitted_by":"acro.referrals"' in decoded and b'"actor":"acro.system"' in decoded
        if dev_env.client.data_converter.payload_codec is not None:
            assert b"acro.referrals" not in stored  # sealed as stored: only decoding shows it
        for secret in [name, first, second, *final, t]:
            assert secret.encode() not in stored + decoded, secret


# --- one case per ACRO reference ---------------------------------------------------------------------


async def executions(client: Client, workflow_id: str) -> int:
    """Runs of the case that were started, not continued: a case that continues as new in its
    first wait (the dev server here suggests it at 60 events, and the decisions it records
    reach that) lists a second run of one start."""
    query = f"WorkflowId = '{workflow_id}' AND ExecutionStatus != 'ContinuedAsNew'"
    return len([w async for w in client.list_workflows(query)])


async def test_same_referral_twice_is_one_case_and_a_changed_one_is_refused(dev_env, pool, task_queue):
    async with running_worker(dev_env.client, pool, task_queue):
        ref = referral(name=f"Marek Zielinski {token()}")
        cases = CaseClient(dev_env.client, task_queue=task_queue)
        first = await submit(cases, pool, ref, actor="acro.referrals")
        again = await submit(cases, pool, ref, actor="acro.referrals")
        # The same referral typed with a lower-case reference is the same referral.
        lower = referral(**(ref.model_dump(mode="json") | {"acro_reference": ref.acro_reference.lower()}))
        third = await submit(cases, pool, lower, actor="someone.else")
        assert (first.status, again.status, third.status) == (Submitted.STARTED, Submitted.EXISTS, Submitted.EXISTS)
        assert first.case_id == again.case_id == third.case_id

        changed = referral(**(ref.model_dump(mode="json") | {"name": "Somebody Else"}))
        refused = await submit(cases, pool, changed, actor="acro.referrals")
        assert refused.status is Submitted.CONFLICT and ref.acro_reference in refused.reason

        case = Case(dev_env.client, pool, dev_env.client.get_workflow_handle(first.case_id), ref)
        await case.task("nbtc_check")
        assert await pool.fetchval("SELECT count(*) FROM cases WHERE acro_reference = $1", ref.acro_reference) == 1
        assert (await case.row("SELECT name FROM referrals WHERE case_id = $1"))["name"] == ref.name
        await until(lambda: executions(dev_env.client, first.case_id), "the case's run listed", 15, 0.05)
        assert await executions(dev_env.client, first.case_id) == 1


async def test_same_referral_submitted_concurrently_starts_once(dev_env, pool, task_queue):
    """Several people submitting one referral at the same moment: one case, no error."""
    async with running_worker(dev_env.client, pool, task_queue):
        refs = [referral(name=f"Concurrent Person {token()}") for _ in range(3)]
        results = await asyncio.gather(*(
            submit(CaseClient(dev_env.client, task_queue=task_queue), pool, ref, actor="acro.referrals")
            for ref in refs for _ in range(6)
        ))
        for ref in refs:
            mine = [r for r in results if r.case_id == case_id_for(ref.acro_reference)]
            assert sorted(r.status.value for r in mine) == sorted(["started"] + ["already exists"] * 5)
            case = Case(dev_env.client, pool, dev_env.client.get_workflow_handle(mine[0].case_id), ref)
            await case.task("nbtc_check")
            assert await pool.fetchval("SELECT count(*) FROM cases WHERE acro_reference = $1", ref.acro_reference) == 1
            await until(lambda: executions(dev_env.client, case.id), "the case's run listed", 15, 0.05)
            assert await executions(dev_env.client, case.id) == 1


async def test_concurrent_holds_of_one_referral_in_the_cid(pool):
    """The CID side of the race: many concurrent holds of one referral, one 'new', no error."""
    for _ in range(20):
        ref = referral()

        async def hold() -> str:
            async with pool.acquire() as conn:
                return await intake.submit_referral(conn, case_id_for(ref.acro_reference), ref, fingerprint(ref), "a.b")

        assert sorted(await asyncio.gather(*(hold() for _ in range(12)))) == ["new"] + ["same"] * 11


# --- R04: no duplicate subjects -------------------------------------------------------------------------


async def subjects_of(cases: list[Case]) -> list[int]:
    return [(await case.case_row())["subject_id"] for case in cases]


async def run_to_registration(dev_env, pool, task_queue, *refs) -> list[Case]:
    cases = await asyncio.gather(*(Case.start(dev_env.client, pool, task_queue, r) for r in refs))
    await asyncio.gather(*(case.task("nbtc_check") for case in cases))
    return list(cases)


def pnc() -> str:
    return f"{uuid.uuid4().int % 100:02d}/{uuid.uuid4().int % 10_000_000:07d}{'ABCDEFGH'[uuid.uuid4().int % 8]}"


async def test_R04_same_pnc_id_one_subject(dev_env, pool, task_queue):
    """Two referrals (two ACRO references) of one person known to the PNC: one subject."""
    pnc_id, t = pnc(), token()
    async with running_worker(dev_env.client, pool, task_queue):
        cases = await run_to_registration(
            dev_env, pool, task_queue,
            referral(name=f"Ivan Petrov {t}", pnc_id=pnc_id, date_of_birth="1970-01-01"),
            referral(name=f"Iwan Petrow {t}", pnc_id=pnc_id, date_of_birth=None),
        )
        a, b = await subjects_of(cases)
        assert a is not None and a == b
        assert await pool.fetchval("SELECT count(*) FROM subjects WHERE pnc_id = $1", pnc_id) == 1
        keys = await pool.fetch("SELECT match_key FROM subject_identifiers WHERE subject_id = $1", a)
        assert f"pnc:{pnc_id}" in {k["match_key"] for k in keys}


async def test_R04_folded_name_and_dob_one_subject(dev_env, pool, task_queue):
    """Matched only by name (accents and case folded) and date of birth: one subject."""
    t = token()
    async with running_worker(dev_env.client, pool, task_queue):
        cases = await run_to_registration(
            dev_env, pool, task_queue,
            referral(name=f"José Núñez {t}", date_of_birth="1975-06-07", nationalities=["ES"]),
            referral(name=f"JOSE NUNEZ {t.lower()}", date_of_birth="1975-06-07", nationalities=["ES"]),
        )
        a, b = await subjects_of(cases)
        assert a is not None and a == b


async def test_R04_same_name_other_dob_two_subjects(dev_env, pool, task_queue):
    t = token()
    async with running_worker(dev_env.client, pool, task_queue):
        cases = await run_to_registration(
            dev_env, pool, task_queue,
            referral(name=f"Maria Garcia {t}", date_of_birth="1980-01-01", nationalities=["ES"]),
            referral(name=f"Maria Garcia {t}", date_of_birth="1990-01-01", nationalities=["ES"]),
        )
        a, b = await subjects_of(cases)
        assert a is not None and b is not None and a != b
        assert await pool.fetchval("SELECT count(*) FROM subjects WHERE name = $1", f"Maria Garcia {t}") == 2
