"""The worker's own database login (migration 0005; docs/operations.md, "Database roles").

The owner (``DATABASE_URL``) applies the migrations; the activities connect as
``casework_worker``, a login that is a member of no role and holds only its grants, so
that nothing the worker runs - or anyone who takes it over - can change the audit log.
"""

from __future__ import annotations

import asyncpg

from casework import config
from cid.db import WORKER_LOGIN, login_as, login_problems, unapplied_migrations

#: The worker's own database login (migration 0005): member of no role, only its grants.
#: Unset: DATABASE_URL's server and database as user casework_worker, without a password
#: (servers that trust local connections: the local stack, the tests).
WORKER_DATABASE_URL_ENV = config.WorkerSettings.variable("worker_database_url")


class UnsafeDatabaseLogin(RuntimeError):
    """The worker's login could do more than its grants (a RuntimeError: exit 5, one line)."""


def worker_database_url(owner_url: str | None, environ: dict[str, str] | None = None) -> str:
    """Where the worker's activities connect: ``CASEWORK_WORKER_DATABASE_URL``, or the
    owner's URL with the worker's login."""
    explicit = config.WorkerSettings.read(environ).worker_database_url
    if explicit:
        return explicit
    if not owner_url:
        raise ValueError(f"set {WORKER_DATABASE_URL_ENV} (the worker's own login) or DATABASE_URL")
    return login_as(owner_url, WORKER_LOGIN)


async def check_login(pool: asyncpg.Pool) -> None:
    """Refuse a login that could act as the owner or a superuser: the audit log is
    append-only only if the worker cannot become someone who may change it."""
    async with pool.acquire() as conn:
        problems = await login_problems(conn)
        missing = await unapplied_migrations(conn)
    if problems:
        raise UnsafeDatabaseLogin(
            f"{'; '.join(problems)}: the worker logs in as its own role ({WORKER_LOGIN}, "
            f"{WORKER_DATABASE_URL_ENV}; docs/operations.md, 'Database roles')")
    if missing:
        raise UnsafeDatabaseLogin(f"the CID is not migrated ({', '.join(missing)} not applied): "
                                  "run the migrations as the owner (DATABASE_URL) first")

