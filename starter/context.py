"""Where the command line finds the database and Temporal, and the actor it acts as.

``DATABASE_URL`` and the standard ``TEMPORAL_*`` variables win; otherwise the settings
written by ``casework up`` in the local data folder (``stack.json``, starter/stack_file.py) are used,
so a caseworker's second terminal needs no configuration.
"""

from __future__ import annotations

import contextlib
from typing import AsyncIterator

import asyncpg
from temporalio.client import Client
from temporalio.service import RPCError

from casework import config
from casework.temporal import TemporalSettings, connect
from cid.db import create_pool
from starter.exits import CliError, Exit
from starter import stack_file
from starter.stack_file import stack_settings



def database_url() -> str:
    url = config.DatabaseSettings.read().database_url or stack_settings().get(stack_file.DATABASE_URL)
    if not url:
        raise CliError("no database: set DATABASE_URL, or start the local stack with 'casework up'", Exit.UNAVAILABLE)
    return url


def temporal_settings() -> TemporalSettings:
    settings = TemporalSettings.from_environment()
    stack = stack_settings()
    if settings.profile.address is None and stack_file.TEMPORAL_ADDRESS in stack:  # no profile or variable names one
        settings = settings.replace(address=stack[stack_file.TEMPORAL_ADDRESS])
    if not config.TemporalExtraSettings.read().task_queue and stack_file.TASK_QUEUE in stack:
        settings = settings.replace(task_queue=stack[stack_file.TASK_QUEUE])
    return settings


def actor(explicit: str | None) -> str:
    """Every command that changes a case names who did it (``--actor`` or ``CASEWORK_ACTOR``)."""
    from casework.case import Actor  # noqa: F401 - the pattern lives there
    from pydantic import TypeAdapter, ValidationError

    value = explicit or config.CliSettings.read().actor
    if not value:
        raise CliError("who is acting? give --actor STAFF_ID or set CASEWORK_ACTOR", Exit.BAD_INPUT)
    try:
        return TypeAdapter(Actor).validate_python(value)
    except ValidationError:
        raise CliError(f"actor '{value}' is not a staff or system ID (letters, digits, . _ @ : -)", Exit.BAD_INPUT) from None


async def open_pool() -> asyncpg.Pool:
    url = database_url()
    try:
        return await create_pool(url, min_size=1, max_size=4)
    except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as err:
        raise CliError(f"the case database cannot be reached: {err}", Exit.UNAVAILABLE) from None


async def open_client() -> Client:
    from casework.codec import CodecKeysMissing

    settings = temporal_settings()
    try:
        return await connect(settings)
    except CodecKeysMissing as err:
        raise CliError(str(err), Exit.UNAVAILABLE) from None
    except (RPCError, RuntimeError, OSError) as err:
        raise CliError(f"Temporal cannot be reached at {settings.address}: {err}", Exit.UNAVAILABLE) from None


@contextlib.asynccontextmanager
async def services(*, temporal: bool = True) -> AsyncIterator[tuple[Client | None, asyncpg.Pool]]:
    pool = await open_pool()
    try:
        client = await open_client() if temporal else None
        yield client, pool
    finally:
        await pool.close()
