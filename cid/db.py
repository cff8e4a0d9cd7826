"""Connections to the CID and its migrations.

Migrations are plain SQL files in ``cid/migrations``, applied in file-name order, each in
its own transaction, and recorded in ``schema_migrations``; an advisory lock lets several
workers start at once without applying one twice.
"""

from __future__ import annotations

import json
from importlib import resources

import asyncpg

MIGRATION_LOCK = 0x0AC70C1D  # any constant shared by every process that migrates
#: Where one statement is run: a connection, or the pool when it needs no transaction of its own.
Executor = asyncpg.Connection | asyncpg.Pool


async def _init_connection(conn: asyncpg.Connection) -> None:
    # jsonb columns in and out as Python objects.
    await conn.set_type_codec("jsonb", encoder=json.dumps, decoder=json.loads, schema="pg_catalog")


async def _keep_session(conn: asyncpg.Connection) -> None:
    """Release a connection without asyncpg's reset query (advisory unlock, CLOSE ALL,
    UNLISTEN, RESET ALL): nothing here leaves session state behind - no SET, LISTEN,
    cursors or session-level advisory locks (the subject lock is transaction-scoped) - and
    asyncpg still rolls back an open transaction itself. One round trip per activity."""


async def create_pool(dsn: str, *, min_size: int = 1, max_size: int = 10, role: str | None = None) -> asyncpg.Pool:
    """A pool whose connections speak jsonb as Python objects.

    ``role``: every connection runs as this database role (the worker's
    ``casework_worker``, migration 0003), set when the connection is made, as a startup
    setting.
    A connection broken by a database restart is dropped and replaced on its next use
    (the activity that met it fails and retries); idle ones are recycled after a minute.
    """
    settings = {"role": role} if role else None
    pool = await asyncpg.create_pool(
        dsn, min_size=min_size, max_size=max_size, init=_init_connection, server_settings=settings,
        max_inactive_connection_lifetime=60, reset=_keep_session,
    )
    assert pool is not None
    return pool


def migration_files() -> list[tuple[str, str]]:
    folder = resources.files("cid") / "migrations"
    files = sorted((f.name, f.read_text()) for f in folder.iterdir() if f.name.endswith(".sql"))
    return files


async def migrate(conn: asyncpg.Connection) -> list[str]:
    """Apply the migrations not yet recorded; return the names applied (empty when none)."""
    await conn.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        " name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
    )
    applied: list[str] = []
    await conn.execute("SELECT pg_advisory_lock($1)", MIGRATION_LOCK)
    try:
        done = {r["name"] for r in await conn.fetch("SELECT name FROM schema_migrations")}
        for name, sql in migration_files():
            if name in done:
                continue
            async with conn.transaction():
                await conn.execute(sql)
                await conn.execute("INSERT INTO schema_migrations (name) VALUES ($1)", name)
            applied.append(name)
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", MIGRATION_LOCK)
    return applied


async def migrate_dsn(dsn: str) -> list[str]:
    conn = await asyncpg.connect(dsn)
    try:
        return await migrate(conn)
    finally:
        await conn.close()
