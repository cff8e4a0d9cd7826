"""Connections to the CID, its migrations, and who may connect as what.

Migrations are plain SQL files in ``cid/migrations``, applied in file-name order, each in
its own transaction, and recorded in ``schema_migrations``; an advisory lock lets several
workers start at once without applying one twice. A file whose first line is
``-- casework: no transaction`` runs outside a transaction, one statement at a time: for
``CREATE INDEX CONCURRENTLY``, which PostgreSQL refuses inside one and which does not lock
a live CID's writers (docs/performance.md, "Indexes"). They run as the owner (the login of
``DATABASE_URL``); the worker and the API log in as their own roles (migration 0005,
docs/operations.md "Database roles").
"""

from __future__ import annotations

import asyncio
import json
from importlib import resources
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import asyncpg

MIGRATION_LOCK = 0x0AC70C1D  # any constant shared by every process that migrates
#: The first line that makes a migration run outside a transaction, statement by statement.
NO_TRANSACTION = "-- casework: no transaction"
#: How often a process waiting for another's migrations tries the lock again.
LOCK_POLL_SECONDS = 0.1
#: The logins of migration 0005: members of no role, each with only its own grants.
WORKER_LOGIN = "casework_worker"
API_LOGIN = "casework_api"
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


async def create_pool(dsn: str, *, min_size: int = 1, max_size: int = 10) -> asyncpg.Pool:
    """A pool whose connections speak jsonb as Python objects.

    A connection broken by a database restart is dropped and replaced on its next use
    (the activity that met it fails and retries); idle ones are recycled after a minute.
    """
    pool = await asyncpg.create_pool(
        dsn, min_size=min_size, max_size=max_size, init=_init_connection,
        max_inactive_connection_lifetime=60, reset=_keep_session,
    )
    assert pool is not None
    return pool


def migration_files() -> list[tuple[str, str]]:
    folder = resources.files("cid") / "migrations"
    files = sorted((f.name, f.read_text()) for f in folder.iterdir() if f.name.endswith(".sql"))
    return files


async def migrate(conn: asyncpg.Connection, *, before: str | None = None) -> list[str]:
    """Apply the migrations not yet recorded; return the names applied (empty when none).
    ``before``: only those whose names sort before it (the scale benchmark loads a CID
    as it was, then times the later migrations on it)."""
    await conn.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        " name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
    )
    applied: list[str] = []
    await _lock(conn)
    try:
        done = {r["name"] for r in await conn.fetch("SELECT name FROM schema_migrations")}
        for name, sql in migration_files():
            if name in done or (before is not None and name >= before):
                continue
            if sql.startswith(NO_TRANSACTION):
                # Each statement commits on its own; a rerun after a failure starts again
                # from the first, so such a migration is written to be repeatable.
                for statement in statements(sql):
                    await conn.execute(statement)
                await conn.execute("INSERT INTO schema_migrations (name) VALUES ($1)", name)
            else:
                async with conn.transaction():
                    await conn.execute(sql)
                    await conn.execute("INSERT INTO schema_migrations (name) VALUES ($1)", name)
            applied.append(name)
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", MIGRATION_LOCK)
    return applied


async def _lock(conn: asyncpg.Connection) -> None:
    """Take the migration lock, trying again until it is free. Not ``pg_advisory_lock``:
    a session waiting inside that statement holds a snapshot, and ``CREATE INDEX
    CONCURRENTLY`` in the session holding the lock waits for every older snapshot to end,
    so the two would wait for each other."""
    while not await conn.fetchval("SELECT pg_try_advisory_lock($1)", MIGRATION_LOCK):
        await asyncio.sleep(LOCK_POLL_SECONDS)


def statements(sql: str) -> list[str]:
    """A no-transaction migration's statements: each ends with ``;`` at the end of a line
    (such a migration holds no function bodies or DO blocks); comment lines are dropped."""
    found, current = [], []
    for line in sql.splitlines():
        if line.lstrip().startswith("--") or not line.strip():
            continue
        current.append(line)
        if line.rstrip().endswith(";"):
            found.append("\n".join(current))
            current = []
    if current:
        raise ValueError(f"a no-transaction migration ends without ';': {' '.join(current)[:80]}")
    return found


async def migrate_dsn(dsn: str, *, before: str | None = None) -> list[str]:
    conn = await asyncpg.connect(dsn)
    try:
        return await migrate(conn, before=before)
    finally:
        await conn.close()


def login_as(dsn: str, user: str) -> str:
    """``dsn`` with another user and no password: for servers that authenticate by
    ``trust`` or a client certificate (the local stack's embedded PostgreSQL, the tests)."""
    parts = urlsplit(dsn)
    host = parts.netloc.rpartition("@")[2]
    query = urlencode([(k, v) for k, v in parse_qsl(parts.query) if k not in ("user", "password")])
    return urlunsplit(parts._replace(netloc=f"{user}@{host}", query=query))


async def unapplied_migrations(conn: asyncpg.Connection) -> list[str]:
    """The migrations not recorded yet (for a login that may not migrate: it checks)."""
    try:
        done = {r["name"] for r in await conn.fetch("SELECT name FROM schema_migrations")}
    except asyncpg.UndefinedTableError:
        done = set()
    return [name for name, _ in migration_files() if name not in done]


async def login_problems(conn: asyncpg.Connection) -> list[str]:
    """Why this connection's login must not serve the worker or the API: it is a superuser,
    has a role attribute beyond LOGIN, or may act as another role (``SET ROLE``) - the
    owner of the audit log above all. Empty when it is a login of its own."""
    row = await conn.fetchrow(
        "SELECT current_user AS login, rolsuper, rolcreaterole, rolcreatedb, rolreplication, rolbypassrls,"
        " (SELECT array_agg(g.rolname ORDER BY g.rolname) FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid"
        "  WHERE m.member = r.oid) AS member_of,"
        " (SELECT tableowner FROM pg_tables WHERE tablename = 'audit_log' AND schemaname = current_schema()) AS owner"
        " FROM pg_roles r WHERE r.rolname = current_user"
    )
    login = row["login"]
    problems = []
    if row["rolsuper"]:
        problems.append(f"database login '{login}' is a superuser")
    attributes = [a for a in ("createrole", "createdb", "replication", "bypassrls") if row[f"rol{a}"]]
    if attributes:
        problems.append(f"database login '{login}' has {', '.join(a.upper() for a in attributes)}")
    if row["owner"] == login:
        problems.append(f"database login '{login}' owns the CID's tables")
    if row["member_of"]:
        problems.append(f"database login '{login}' is a member of {', '.join(row['member_of'])} (SET ROLE)")
    return problems


def main() -> None:
    """``python -m cid.db``: apply the migrations as the owner (``DATABASE_URL``) - the
    one-shot job of docker-compose.yml, before any worker starts."""
    import asyncio
    import sys

    from casework import config

    url = config.DatabaseSettings.read().database_url
    if not url:
        print("cid.db: DATABASE_URL (the owner's login) is not set", file=sys.stderr)
        raise SystemExit(2)
    try:
        applied = asyncio.run(migrate_dsn(url))
    except (OSError, asyncpg.PostgresError) as err:
        print(f"cid.db: cannot migrate: {type(err).__name__}: {err}", file=sys.stderr)
        raise SystemExit(5) from None
    print(f"cid.db: {len(applied)} migration(s) applied: {', '.join(applied)}" if applied else "cid.db: schema up to date")


if __name__ == "__main__":
    main()
