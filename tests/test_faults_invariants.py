"""The invariants every fault test ends with (tests/fault_support.py), and the audit log
append-only at the database-role level as well as by trigger.

``check_invariants`` must be able to fail: each violation it looks for is made here, in a
transaction that is rolled back, and must be reported. The worker's role
(``casework_worker``, migration 0003) may append to the audit log but never change,
delete or truncate it; the trigger refuses that to everyone else, owners included.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest

from cid.db import create_pool, migrate_dsn
from tests.fault_support import (
    WORKER_ROLE,
    audit_log_protection_problems,
    invariant_violations,
)

NOW = datetime(2026, 1, 1, tzinfo=UTC)
CHANGES = {
    "UPDATE": "UPDATE audit_log SET actor = 'someone.else' WHERE case_id = $1",
    "DELETE": "DELETE FROM audit_log WHERE case_id = $1",
    "TRUNCATE": "TRUNCATE audit_log",
}


async def _audit_row(conn: asyncpg.Connection) -> str:
    case_id = f"acro-case-INV{uuid.uuid4().hex[:8].upper()}"
    await conn.execute(
        "INSERT INTO audit_log (case_id, event_key, actor, action, occurred_at) VALUES ($1, 'k', 'cw.jones', 'test', $2)",
        case_id, NOW)
    return case_id


async def test_the_worker_role_may_append_to_the_audit_log_but_never_change_it(pool) -> None:
    """Layer 1, privileges: as casework_worker, UPDATE/DELETE/TRUNCATE are denied."""
    async with pool.acquire() as conn:
        await conn.execute(f"SET ROLE {WORKER_ROLE}")
        try:
            case_id = await _audit_row(conn)  # INSERT is allowed
            assert await conn.fetchval("SELECT count(*) FROM audit_log WHERE case_id = $1", case_id) == 1
            for sql in CHANGES.values():
                args = (case_id,) if "$1" in sql else ()
                with pytest.raises(asyncpg.InsufficientPrivilegeError, match="permission denied for table audit_log"):
                    await conn.execute(sql, *args)
        finally:
            await conn.execute("RESET ROLE")
        assert await conn.fetchval("SELECT count(*) FROM audit_log WHERE case_id = $1", case_id) == 1


async def test_the_trigger_refuses_changes_to_the_audit_log_even_to_its_owner(pool) -> None:
    """Layer 2, the trigger: whoever may (the owner, a superuser) is still refused."""
    async with pool.acquire() as conn:
        case_id = await _audit_row(conn)
        for sql in CHANGES.values():
            args = (case_id,) if "$1" in sql else ()
            with pytest.raises(asyncpg.RaiseError, match="audit_log is append-only"):
                async with conn.transaction():
                    await conn.execute(sql, *args)
        assert await conn.fetchval("SELECT count(*) FROM audit_log WHERE case_id = $1", case_id) == 1


async def test_a_pool_with_the_worker_role_keeps_it_on_every_use(database_url: str) -> None:
    """The pool resets each connection between uses (RESET ALL): the role must survive it."""
    pool = await create_pool(database_url, min_size=1, max_size=2, role=WORKER_ROLE)
    try:
        for _ in range(6):
            async with pool.acquire() as conn:
                assert await conn.fetchval("SELECT current_user") == WORKER_ROLE
                with pytest.raises(asyncpg.InsufficientPrivilegeError):
                    await conn.execute("DELETE FROM audit_log WHERE false")
    finally:
        await pool.close()


async def test_the_role_migration_is_idempotent_in_another_database_of_the_cluster(database_url: str) -> None:
    """Roles are cluster-wide: a second database migrating finds the role and grants again."""
    name = f"casework_role_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(database_url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        fresh = urlunsplit(urlsplit(database_url)._replace(path=f"/{name}"))
        assert "0003_worker_role.sql" in await migrate_dsn(fresh)
        assert await migrate_dsn(fresh) == []
        conn = await asyncpg.connect(fresh)
        try:
            assert await audit_log_protection_problems(conn) == []
            assert await conn.fetchval("SELECT has_table_privilege($1, 'tasks', 'UPDATE')", WORKER_ROLE)
            assert not await conn.fetchval("SELECT has_table_privilege($1, 'schema_migrations', 'DELETE')", WORKER_ROLE)
        finally:
            await conn.close()
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def _case(conn: asyncpg.Connection, stage: str, status: str, **extra: object) -> str:
    case_id = f"acro-case-INV{uuid.uuid4().hex[:8].upper()}"
    await conn.execute(
        "INSERT INTO cases (id, acro_reference, stage, status, eea, opened_at, updated_at, detention_power)"
        " VALUES ($1, $2, $3, $4, false, $5, $5, $6)",
        case_id, case_id.removeprefix("acro-case-"), stage, status, NOW, extra.get("detention_power"))
    return case_id


async def test_check_invariants_reports_every_kind_of_violation(pool) -> None:
    """Each violation made in a transaction (rolled back) is reported; a sound case is not."""
    async with pool.acquire() as conn:
        tx = conn.transaction()
        await tx.start()
        try:
            sound = await _case(conn, "D-detention", "open", detention_power="paragraph 2, Schedule 3")
            await conn.execute(
                "INSERT INTO certificates (case_id, seq, offences_on_pnc, disclosable, most_serious, received_at)"
                " VALUES ($1, 1, true, true, false, $2)", sound, NOW)
            two_states = await _case(conn, "closed", "open")
            unknown = await _case(conn, "Z-nowhere", "open")
            dormant_mismatch = await _case(conn, "C-located", "dormant")
            closed_with_task = await _case(conn, "closed", "closed")
            await conn.execute(
                "INSERT INTO tasks (case_id, task_key, kind, title, team, due_at, created_at)"
                " VALUES ($1, 'police_contact-1', 'police_contact', 't', 'team', $2, $2)", closed_with_task, NOW)
            detained = await _case(conn, "D-detention", "open", detention_power="paragraph 2, Schedule 3")
            await conn.execute(
                "INSERT INTO certificates (case_id, seq, offences_on_pnc, disclosable, most_serious, received_at)"
                " VALUES ($1, 1, false, false, false, $2)", detained, NOW)
            missing = "acro-case-INVNOSUCHCASE"

            ids = [sound, two_states, unknown, dormant_mismatch, closed_with_task, detained, missing]
            problems = await invariant_violations(conn, ids)
            assert not [p for p in problems if p.startswith(sound)], problems
            expected = [
                f"{two_states}: stage closed with status open",
                f"{unknown}: unknown stage 'Z-nowhere'",
                f"{dormant_mismatch}: stage C-located with status dormant",
                f"{closed_with_task}: open task police_contact-1 on a closed case",
                f"{detained}: R30 detention recorded without a disclosable certificate",
                f"{missing}: no case row",
            ]
            for line in expected:
                assert line in problems, (line, problems)
            assert not [p for p in problems if "audit log" in p or "trigger" in p], problems

            # The audit log's protection, weakened in both layers.
            await conn.execute(f"GRANT UPDATE ON audit_log TO {WORKER_ROLE}")
            await conn.execute("ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_change")
            weakened = await audit_log_protection_problems(conn)
            assert weakened == [
                f"{WORKER_ROLE} may UPDATE the audit log",
                "trigger audit_log_no_change on audit_log is missing or disabled",
            ], weakened
        finally:
            await tx.rollback()
        assert await audit_log_protection_problems(conn) == []
