"""Retention purge of closed cases, and purpose limitation of personal-data reads (R60).

The purge runs with a business "now" years ahead, so it also purges cases other tests
closed earlier in the session: harmless (they are finished), and the assertions here
look only at this test's cases.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import uuid
from datetime import datetime, timedelta, timezone

import asyncpg
import pytest

from cid.personal_data import PurposeRequired, read_personal_data
from casework.config import RetentionSettings
from casework.rules import MAX_PURPOSE_CHARS
from cid.retention import purge_expired

DEFAULT_RETENTION_DAYS = RetentionSettings.model_fields["retention_days"].default
from casework.referral import DISCLOSABLE_PURPOSE, Referral
from tests.support import Case, referral, running_worker
from tests.test_privacy_history import Person, rows_holding

SCW = "scw.patel"


async def audit(pool: asyncpg.Pool, case_id: str, action: str) -> list[asyncpg.Record]:
    return await pool.fetch("SELECT * FROM audit_log WHERE case_id = $1 AND action = $2 ORDER BY id", case_id, action)


def most_serious(person: Person) -> Referral:
    """R12: a most-serious offence category, so that exclusion is considered (a typed reason)."""
    data = person.referral().model_dump(mode="json")
    data["certificate"]["convictions"][0]["category"] = "homicide"
    return Referral.model_validate(data)


async def test_retention_purge_removes_personal_data_of_old_closed_cases_only(ts_env, pool, task_queue):
    person = Person()
    reason = f"Exclusion order sought: risk assessed by SCW {uuid.uuid4().hex[:10]}"  # typed by a person
    same_person_later = Person()
    async with running_worker(ts_env.client, pool, task_queue):
        closed = await Case.start(ts_env.client, pool, task_queue, most_serious(person))
        await closed.complete("nbtc_check", "left_uk", actor="nbtc.officer")
        await closed.complete("exclusion_consideration", "exclusion_order_sought", actor=SCW, reason=reason)
        assert await closed.handle.result()
        # The same person referred again (same name and date of birth: the same subject, R04).
        again = referral(name=person.name, date_of_birth=person.dob.isoformat(), certificate={
            "request_purpose": DISCLOSABLE_PURPOSE, "offences_on_pnc": False,
            "convictions": [{"country": "PL", "offence": same_person_later.offence, "category": "fraud",
                             "conviction_date": "2015-01-02", "sentence": same_person_later.sentence}]})
        still_open = await Case.start(ts_env.client, pool, task_queue, again)
        await still_open.task("nbtc_check")
        first = await closed.case_row()
        assert (await still_open.case_row())["subject_id"] == first["subject_id"]

        period = RetentionSettings.read({}).period
        assert period == timedelta(days=DEFAULT_RETENTION_DAYS)
        not_yet = first["closed_at"] + period - timedelta(days=1)
        assert closed.id not in [c.case_id for c in await purge_expired(pool, now=not_yet, retention=period, actor="ops.retention", dry_run=True)]
        now = first["closed_at"] + period + timedelta(days=1)

        due = await purge_expired(pool, now=now, retention=period, actor="ops.retention", dry_run=True)
        assert closed.id in [c.case_id for c in due] and still_open.id not in [c.case_id for c in due]
        async with pool.acquire() as conn:
            assert await rows_holding(conn, person.offence) == {"certificates": 1, "convictions": 1}  # a dry run changes nothing

        purged = {p.case_id: p for p in await purge_expired(pool, now=now, retention=period, actor="ops.retention")}
        assert still_open.id not in purged
        assert purged[closed.id].convictions_deleted == 1
        assert purged[closed.id].subject_redacted is False  # another case still keeps the subject

        async with pool.acquire() as conn:
            for text in (person.offence, person.sentence, reason):
                assert await rows_holding(conn, text) == {}, text
            # The open case keeps its data: the subject and its own referral still name the person.
            assert await rows_holding(conn, person.name) == {"subjects": 1, "referrals": 1}
            gone = await conn.fetchrow("SELECT * FROM referrals WHERE case_id = $1", closed.id)
            assert gone["name"] == "[redacted]" and gone["date_of_birth"] is None and gone["nationalities"] == []
            assert await conn.fetchval("SELECT count(*) FROM certificates WHERE case_id = $1 AND content IS NOT NULL", closed.id) == 0
            # Issue 20: the personal values kept with the case's decisions go too; the trail stays.
            assert await conn.fetchval("SELECT count(*) FROM case_decisions WHERE case_id = $1", closed.id) > 0
            assert await conn.fetchval("SELECT count(*) FROM case_decisions WHERE case_id = $1 AND personal <> '{}'",
                                       closed.id) == 0
        row = await closed.case_row()
        assert row["outcome"] == first["outcome"] and row["status"] == "closed"
        assert row["personal_data_purged_at"] == now
        actions = await closed.audit_actions()
        assert actions[0] == "referral received" and actions[-1] == "personal data purged"
        [entry] = await audit(pool, closed.id, "personal data purged")
        assert entry["actor"] == "ops.retention" and entry["detail"]["retention_days"] == DEFAULT_RETENTION_DAYS

        # Idempotent: a second run finds nothing more to do for it.
        assert closed.id not in [p.case_id for p in await purge_expired(pool, now=now, retention=period, actor="ops.retention")]
        assert len(await audit(pool, closed.id, "personal data purged")) == 1

        # Once the other case is closed and old too, the subject goes as well.
        await still_open.complete("nbtc_check", "left_uk", actor="nbtc.officer")
        assert await still_open.handle.result()
        later = (await still_open.case_row())["closed_at"] + period + timedelta(days=1)
        purged = {p.case_id: p for p in await purge_expired(pool, now=later, retention=period, actor="ops.retention")}
        assert purged[still_open.id].subject_redacted is True
    async with pool.acquire() as conn:
        for text in person.personal + same_person_later.personal + [reason]:
            assert await rows_holding(conn, text) == {}, text
        assert await conn.fetchval("SELECT count(*) FROM subject_identifiers WHERE subject_id = $1", first["subject_id"]) == 0
        # A read after the purge shows what is left, and is itself recorded (R60).
        left = await read_personal_data(conn, closed.id, "cw.jones", "deportation", "appeal hearing bundle")
    assert datetime.fromisoformat(left["purged_at"]) == now and left["referral"]["name"] == "[redacted]"
    assert left["convictions"] == [] and left["subject"]["date_of_birth"] is None


async def test_R60_personal_data_read_needs_a_purpose_and_is_audited(ts_env, pool, task_queue):
    """R60: personal data is used only for the purpose it was sought for: a read without a
    purpose is refused and records nothing; a read with one is recorded with who and why."""
    person = Person()
    async with running_worker(ts_env.client, pool, task_queue):
        case = await Case.start(ts_env.client, pool, task_queue, person.referral())
        await case.task("nbtc_check")  # registered: subject and convictions are in the CID
        before = len(await case.audit_actions())
        async with pool.acquire() as conn:
            for empty in ("", "   ", None):
                with pytest.raises(PurposeRequired, match="R60: state the purpose"):
                    await read_personal_data(conn, case.id, "cw.jones", "deportation", empty)  # type: ignore[arg-type]
            with pytest.raises(PurposeRequired, match="R60: state the purpose"):
                await read_personal_data(conn, case.id, "cw.jones", "", "deportation consideration")
            with pytest.raises(PurposeRequired, match="actor"):
                await read_personal_data(conn, case.id, " ", "deportation", "deportation consideration")
            # The one limit (casework.rules, which the API's and the CLI's checks use) is the CID's.
            with pytest.raises(PurposeRequired, match=f"at most {MAX_PURPOSE_CHARS} characters"):
                await read_personal_data(conn, case.id, "cw.jones", "deportation", "x" * (MAX_PURPOSE_CHARS + 1))
            with pytest.raises(LookupError):
                await read_personal_data(conn, "acro-case-NO-SUCH-CASE", "cw.jones", "deportation", "consideration")
            assert len(await case.audit_actions()) == before  # refused reads leave no record and read nothing

            data = await read_personal_data(conn, case.id, "cw.jones", "deportation", "x" * MAX_PURPOSE_CHARS)
            data = await read_personal_data(conn, case.id, "cw.jones", "deportation", "deportation consideration (R28)")
        assert data["referral"]["name"] == person.name
        assert data["subject"]["date_of_birth"] == person.dob.isoformat()
        assert [c["offence"] for c in data["convictions"]] == [person.offence]
        *_, entry = await audit(pool, case.id, "personal data read")
        assert entry["actor"] == "cw.jones"
        assert entry["detail"] == {"purpose": "deportation", "reason": "deportation consideration (R28)", "rule": "R60",
                                   "via": "api"}
        # The read and its record are one transaction: rolled back together.
        async with pool.acquire() as conn:
            transaction = conn.transaction()
            await transaction.start()
            await read_personal_data(conn, case.id, "cw.jones", "deportation", "training")
            await transaction.rollback()
        assert len(await audit(pool, case.id, "personal data read")) == 2
        await case.handle.terminate(reason="test finished")


async def test_retention_purge_command(database_url, pool, tmp_path):
    """``casework retention purge``: refuses without an actor, lists with --dry-run, purges
    and audits a case closed longer ago than --days, once."""
    case_id = f"acro-case-RET{uuid.uuid4().hex[:8].upper()}"
    name = f"Retention Subject {uuid.uuid4().hex[:8]}"
    closed = datetime.now(timezone.utc) - timedelta(days=40)
    await pool.execute(
        "INSERT INTO cases (id, acro_reference, stage, status, eea, opened_at, updated_at, closed_at, outcome)"
        " VALUES ($1, $2, 'closed', 'closed', false, $3, $3, $3, 'test outcome')",
        case_id, case_id.removeprefix("acro-case-"), closed)
    await pool.execute(
        "INSERT INTO referrals (case_id, name, nationalities, whereabouts, received_at)"
        " VALUES ($1, $2, '{PL}', $3, $4)", case_id, name, {"status": "unknown"}, closed)
    env = {k: v for k, v in os.environ.items() if k != "CASEWORK_ACTOR"}
    env.update(DATABASE_URL=database_url, CASEWORK_DATA_DIR=str(tmp_path))

    async def run(*args: str) -> subprocess.CompletedProcess:
        return await asyncio.to_thread(
            subprocess.run, [sys.executable, "-c", "from starter.cli import main; main()", "retention", "purge", *args],
            env=env, capture_output=True, text=True, timeout=120,
        )

    def cases(done: subprocess.CompletedProcess) -> list[str]:
        assert done.returncode == 0, done.stderr
        return [c["case_id"] for c in json.loads(done.stdout)["cases"]]

    refused = await run("--days", "30")
    assert refused.returncode == 2 and "--actor" in refused.stderr
    assert case_id in cases(await run("--dry-run", "--days", "30", "--json"))
    assert await pool.fetchval("SELECT name FROM referrals WHERE case_id = $1", case_id) == name
    assert case_id in cases(await run("--days", "30", "--actor", "ops.retention", "--json"))
    assert case_id not in cases(await run("--days", "30", "--actor", "ops.retention", "--json"))
    assert await pool.fetchval("SELECT name FROM referrals WHERE case_id = $1", case_id) == "[redacted]"
    [entry] = await audit(pool, case_id, "personal data purged")
    assert entry["actor"] == "ops.retention" and entry["detail"]["retention_days"] == 30
