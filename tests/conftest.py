"""Shared fixtures: a real PostgreSQL and real Temporal servers, started once per session.

PostgreSQL: ``DATABASE_URL`` when set (CI: the machine's server), else an embedded
server in a temporary folder, so the suite runs on a machine with no database.
Temporal: the time-skipping test server and the dev server, from the venv's binaries.
"""

from __future__ import annotations

import tempfile
import uuid
from pathlib import Path
from typing import AsyncIterator

import asyncpg
import pytest
from temporalio.testing import WorkflowEnvironment

from casework import codec, config, search
from local_stack.database import database_url_or_embedded
from casework.binaries import temporal_cli, temporal_test_server
from casework.temporal import data_converter
from cid.db import WORKER_LOGIN, create_pool, login_as, migrate_dsn


# A throwaway payload key for the whole run, exported before any test starts a process
# (pyproject.toml sets CASEWORK_CODEC_TEST_KEY for pytest; docs/privacy.md).
codec.prepare_test_key()


@pytest.fixture(scope="session")
def database_url() -> str:
    if url := config.DatabaseSettings.read().database_url:
        return url
    folder = Path(tempfile.mkdtemp(prefix="casework-test-pg-"))
    return database_url_or_embedded(folder / "pgdata")[0]


@pytest.fixture(scope="session")
async def pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    await migrate_dsn(database_url)
    pool = await create_pool(database_url, max_size=20)
    yield pool
    await pool.close()


@pytest.fixture(scope="session")
async def worker_pool(database_url: str, pool: asyncpg.Pool) -> AsyncIterator[asyncpg.Pool]:
    """The worker's own login (casework_worker, migration 0005), as ``casework-worker``
    connects: the process tests' workers run their activities with only its grants."""
    worker_pool = await create_pool(login_as(database_url, WORKER_LOGIN), max_size=10)
    yield worker_pool
    await worker_pool.close()


async def _time_skipping_server() -> WorkflowEnvironment:
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=temporal_test_server(), data_converter=data_converter()
    )
    # Unregistered search attributes make the test server retry workflow tasks forever.
    await search.register(env.client)
    return env


@pytest.fixture
async def own_ts_env() -> AsyncIterator[WorkflowEnvironment]:
    """A time-skipping server for one test alone: for the tests that sleep through long
    stretches while cases continue as new, which a time lock left by an earlier test of
    the module (see ``ts_env``) would stall until the sleep's RPC deadline."""
    env = await _time_skipping_server()
    yield env
    await env.shutdown()


@pytest.fixture(scope="module")
async def ts_env() -> AsyncIterator[WorkflowEnvironment]:
    """The time-skipping server: 10-day windows and two-year sleeps pass at once.

    One per test module (it starts in well under a second): the server holds a time lock
    for each workflow task and activity in flight, and one it never releases (a case
    terminated while busy, or a run's first task it loses as a query meets the run
    continuing as new, both seen here) stops time for every later test on it."""
    env = await _time_skipping_server()
    yield env
    await env.shutdown()


@pytest.fixture(scope="session")
async def dev_env() -> AsyncIterator[WorkflowEnvironment]:
    """The real dev server (visibility, continue-as-new suggestions)."""
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=temporal_cli(),
        data_converter=data_converter(),
        search_attributes=search.ALL,
        dev_server_extra_args=["--dynamic-config-value", "limit.historyCount.suggestContinueAsNew=60"],
    )
    yield env
    await env.shutdown()


@pytest.fixture
def task_queue() -> str:
    return f"test-{uuid.uuid4().hex[:12]}"


@pytest.fixture(autouse=True)
async def _record_histories(request: pytest.FixtureRequest) -> AsyncIterator[None]:
    """Save the histories of the cases a test started when recording (see tests/histories)."""
    from tests import support
    from tests.history_recorder import recording_dir, save_runs

    support.STARTED.clear()
    yield
    folder = recording_dir()
    if folder is None:
        return
    for handle in list(support.STARTED):
        try:
            await save_runs(handle, folder, request.node.name)
        except Exception as err:  # a test that tore its server down: nothing to record
            print(f"history recorder: {handle.id}: {err}")


@pytest.fixture(scope="module")
async def queue(ts_env: WorkflowEnvironment, worker_pool: asyncpg.Pool, request: pytest.FixtureRequest) -> AsyncIterator[str]:
    """A task queue with a case worker on the time-skipping server, one per test module,
    logged in to the CID as the worker is (``worker_pool``)."""
    from tests.support import running_worker

    name = f"{request.module.__name__.rsplit('.', 1)[-1]}-{uuid.uuid4().hex[:8]}"
    async with running_worker(ts_env.client, worker_pool, name):
        yield name


@pytest.fixture
async def start(ts_env: WorkflowEnvironment, pool: asyncpg.Pool, queue: str) -> AsyncIterator[object]:
    """``await start(**referral_overrides)`` starts a case; cases still running are stopped after."""
    from tests.support import case_starter

    async with case_starter(ts_env.client, pool, queue) as starter:
        yield starter


@pytest.fixture(scope="module")
async def api(ts_env: WorkflowEnvironment, queue: str, database_url: str, pool: asyncpg.Pool) -> AsyncIterator[object]:
    """The HTTP API (tests/api_support.py) on the module's time-skipping server and worker."""
    from tests.api_support import serving_api

    async with serving_api(ts_env.client, queue, database_url) as stack:
        yield stack
