"""The invariants every fault test ends with (tests/fault_support.py), and the audit log
append-only at the database-role level as well as by trigger.

``check_invariants`` must be able to fail: each violation it looks for is made here, in a
transaction that is rolled back, and must be reported. The worker and the API log in as
roles of their own (``casework_worker``, ``casework_api``; migration 0005) that are members
of no role: they may append to the audit log, never change, delete or truncate it, and no
``SET ROLE`` makes them anyone who could. The trigger refuses it to everyone else, owners
included.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest

from cid.db import WORKER_LOGIN, create_pool, login_as, login_problems, migrate_dsn
from tests.fault_support import (
    LOGINS,
    audit_log_protection_problems,
    invariant_violations,
)

NOW = datetime(2026, 1, 1, tzinfo=UTC)
CHANGES = {
    "UPDATE": "UPDATE audit_log SET actor = 'someone.else' WHERE case_id = $1",
    "DELETE": "DELETE FROM audit_log WHERE case_id = $1",
    "TRUNCATE": "TRUNCATE audit_log",
}
#: Other ways to the same end, each refused to the logins: disable the trigger, take the
#: table over, or become someone who could.
DETOURS = [
    "ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_change",
    "ALTER TABLE audit_log OWNER TO {login}",
    "DROP TABLE audit_log",
    "SET SESSION AUTHORIZATION postgres",
    "CREATE TABLE audit_log_copy (id int)",
]


async def _audit_row(conn: asyncpg.Connection | asyncpg.Pool) -> str:
    case_id = f"acro-case-INV{uuid.uuid4().hex[:8].upper()}"
    await conn.execute(
        "INSERT INTO audit_log (case_id, event_key, actor, action, occurred_at) VALUES ($1, 'k', 'cw.jones', 'test', $2)",
        case_id, NOW)
    return case_id


@pytest.mark.parametrize("login", LOGINS)
async def test_the_worker_and_api_logins_can_never_change_the_audit_log_by_any_set_role(
    login: str, database_url: str, pool: asyncpg.Pool
) -> None:
    """Layer 1, privileges: logged in as the worker (which may append) or the API,
    UPDATE/DELETE/TRUNCATE are denied, and so is every SET ROLE - to the owner, to
    postgres, to any role there is."""
    conn = await asyncpg.connect(login_as(database_url, login))
    try:
        assert await conn.fetchval("SELECT current_user") == login
        assert await login_problems(conn) == []
        if login == WORKER_LOGIN:
            case_id = await _audit_row(conn)  # INSERT is allowed
        else:  # the API's login may not even append (yet): the row is the owner's
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await _audit_row(conn)
            case_id = await _audit_row(pool)
        for sql in CHANGES.values():
            args = (case_id,) if "$1" in sql else ()
            with pytest.raises(asyncpg.InsufficientPrivilegeError, match="permission denied for table audit_log"):
                await conn.execute(sql, *args)
        for sql in DETOURS:
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await conn.execute(sql.format(login=login))
        owner = await conn.fetchval("SELECT tableowner FROM pg_tables WHERE tablename = 'audit_log' AND schemaname = current_schema()")
        others = [r["rolname"] for r in await conn.fetch("SELECT rolname FROM pg_roles WHERE rolname <> current_user")]
        assert {owner, "postgres"} <= set(others)
        for role in others:
            with pytest.raises(asyncpg.InsufficientPrivilegeError, match="permission denied to set role"):
                await conn.execute(f'SET ROLE "{role}"')
            with pytest.raises(asyncpg.InsufficientPrivilegeError):  # nor for one transaction
                async with conn.transaction():
                    await conn.execute(f'SET LOCAL ROLE "{role}"')
        assert await conn.fetchval("SELECT current_user") == login
    finally:
        await conn.close()
    assert await pool.fetchval("SELECT count(*) FROM audit_log WHERE case_id = $1", case_id) == 1


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


async def test_the_worker_refuses_a_login_that_could_become_the_owner(pool) -> None:
    """The owner's login (here a superuser) is reported, so the worker will not serve with it."""
    async with pool.acquire() as conn:
        problems = await login_problems(conn)
    assert any("superuser" in p or "owns the CID's tables" in p for p in problems), problems


async def test_a_pool_logged_in_as_the_worker_keeps_its_login_on_every_use(database_url: str) -> None:
    """The pool hands out connections again and again: each is still the worker's login."""
    pool = await create_pool(login_as(database_url, WORKER_LOGIN), min_size=1, max_size=2)
    try:
        for _ in range(6):
            async with pool.acquire() as conn:
                assert await conn.fetchval("SELECT current_user") == WORKER_LOGIN
                with pytest.raises(asyncpg.InsufficientPrivilegeError):
                    await conn.execute("DELETE FROM audit_log WHERE false")
    finally:
        await pool.close()


async def test_the_role_migration_is_idempotent_in_other_databases_of_the_cluster_at_once(database_url: str) -> None:
    """Roles are cluster-wide: several databases migrating at once (as the test runs of
    several branches do on one server) all end with the same logins and their own grants."""
    import asyncio

    names = [f"casework_role_{uuid.uuid4().hex[:8]}" for _ in range(3)]
    admin = await asyncpg.connect(database_url)
    try:
        for name in names:
            await admin.execute(f'CREATE DATABASE "{name}"')
        fresh = [urlunsplit(urlsplit(database_url)._replace(path=f"/{name}")) for name in names]
        applied = await asyncio.gather(*(migrate_dsn(url) for url in fresh))
        assert all("0005_login_roles.sql" in a for a in applied), applied
        assert await asyncio.gather(*(migrate_dsn(url) for url in fresh)) == [[], [], []]
        for url in fresh:
            conn = await asyncpg.connect(url)
            try:
                assert await audit_log_protection_problems(conn) == []
                assert await conn.fetchval("SELECT has_column_privilege($1, 'tasks', 'status', 'UPDATE')", WORKER_LOGIN)
                assert not await conn.fetchval("SELECT has_table_privilege($1, 'schema_migrations', 'DELETE')", WORKER_LOGIN)
            finally:
                await conn.close()
    finally:
        for name in names:
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
            await conn.execute(f"GRANT UPDATE ON audit_log TO {WORKER_LOGIN}")
            await conn.execute("ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_change")
            weakened = await audit_log_protection_problems(conn)
            assert weakened == [
                f"{WORKER_LOGIN} may UPDATE the audit log",
                "trigger audit_log_no_change on audit_log is missing or disabled",
            ], weakened
        finally:
            await tx.rollback()
        assert await audit_log_protection_problems(conn) == []
