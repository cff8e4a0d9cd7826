"""The case worker as a service: configuration from the environment, an asyncpg pool,
graceful shutdown on SIGTERM/SIGINT (in-flight activities get a bounded time to finish)."""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
from typing import Any

import asyncpg
from temporalio.client import Client
from temporalio.worker import Worker

from activities.case_activities import CaseActivities
from casework.codec import CodecKeyError
from casework.process import exit_without_finalizing
from casework import config
from casework.settings import ProcessSettings, load_process_settings
from casework.temporal import TemporalSettings, connect
from cid.db import WORKER_LOGIN, create_pool, migrate_dsn
from worker.database import WORKER_DATABASE_URL_ENV, check_login, worker_database_url
from worker.health import start_health_server
from worker.shared_code import share_workflow_code
from worker.telemetry import prometheus_runtime
from workflows.case import CaseWorkflow
from workflows.jobs import JOB_WORKFLOWS
from activities.jobs import JobActivities

log = logging.getLogger("casework.worker")

#: Workflows a worker keeps in memory between tasks (temporalio's default). A dormant case
#: costs ~135 KB while cached; one evicted is replayed when it next wakes, in tens of
#: milliseconds (docs/performance.md): size this to the cases active at once, not all cases.
DEFAULT_CACHE: int = config.WorkerSettings.model_fields["max_cached_workflows"].default


def build_worker(
    client: Client, pool: asyncpg.Pool, task_queue: str, settings: ProcessSettings | None = None, *,
    purge_pool: asyncpg.Pool | None = None, **options: Any
) -> Worker:
    """``options`` go to ``Worker`` as they are (the benchmark sizes the workflow cache).
    The daily jobs (workflows/jobs.py) run here too; ``purge_pool``: the owner's login, which
    the retention purge job needs (activities/jobs.py)."""
    activities = CaseActivities(pool, settings or ProcessSettings())
    share_workflow_code()
    return Worker(
        client,
        task_queue=task_queue,
        workflows=[CaseWorkflow, *JOB_WORKFLOWS],
        activities=activities.registered() + JobActivities(pool, purge_pool).registered(),
        graceful_shutdown_timeout=config.WorkerSettings.read().shutdown_grace,
        **options,
    )


async def serve(
    database_url: str | None,
    temporal: TemporalSettings | None = None,
    stop: asyncio.Event | None = None,
    ready: asyncio.Event | None = None,
    *,
    metrics_address: str | None = None,
    health_address: str | None = None,
    max_cached_workflows: int = DEFAULT_CACHE,
    process: ProcessSettings | None = None,
) -> None:
    """Run until ``stop`` is set (or SIGTERM/SIGINT when none is given).

    ``database_url``: the owner's login, which applies the migrations; None when another
    job does (compose). Activities connect as the worker's own login
    (:func:`worker_database_url`), which must be no more than that.
    ``metrics_address`` (host:port) serves Prometheus metrics; ``health_address`` serves
    ``/live`` and ``/ready``. Either may be None to serve nothing.
    """
    temporal = temporal or TemporalSettings.from_environment()
    if config.WorkerSettings.read().db_role:
        log.warning("%s is no longer read: the worker logs in as %s (%s)", config.WorkerSettings.variable("db_role"),
                    WORKER_LOGIN, WORKER_DATABASE_URL_ENV)
    if database_url:
        await migrate_dsn(database_url)
    pool = await create_pool(worker_database_url(database_url))
    try:
        await check_login(pool)
        purge_pool = await create_pool(database_url, max_size=2) if database_url else None
    except BaseException:
        await pool.close()
        raise
    runtime = prometheus_runtime(metrics_address) if metrics_address else None
    try:
        client = await connect(temporal, runtime=runtime)
    except BaseException:
        if purge_pool is not None:
            await purge_pool.close()
        await pool.close()
        raise
    stop = stop or _stop_on_signals()
    health = None
    try:
        if health_address:
            host, _, port = health_address.rpartition(":")
            health = await start_health_server(client, pool, host or "0.0.0.0", int(port))
        worker = build_worker(client, pool, temporal.task_queue, process or load_process_settings(),
                              purge_pool=purge_pool, max_cached_workflows=max_cached_workflows)
        async with worker:
            log.info("worker polling task queue %s on %s", temporal.task_queue, temporal.address)
            if ready is not None:
                ready.set()
            await stop.wait()
            log.info("shutting down: in-flight activities have %ss", worker.config()["graceful_shutdown_timeout"].total_seconds())
    finally:
        if health is not None:
            await health.cleanup()
        if purge_pool is not None:
            await purge_pool.close()
        await pool.close()


def _stop_on_signals() -> asyncio.Event:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    return stop


def main() -> None:
    try:  # every setting refused before anything starts
        logging.basicConfig(level=config.LogSettings.read().level("INFO"),
                            format="%(asctime)s %(levelname)s %(name)s %(message)s")
        database_url = config.DatabaseSettings.read().database_url
        settings = config.WorkerSettings.read()
        endpoints = config.WorkerEndpointSettings.read()
        process = load_process_settings()
    except ValueError as err:
        print(f"casework-worker: {err}", file=sys.stderr)
        raise SystemExit(2) from None
    if not (database_url or settings.worker_database_url):
        print(f"casework-worker: neither DATABASE_URL (the owner's login, to migrate) nor {WORKER_DATABASE_URL_ENV}"
              " (the worker's own) is set: postgresql://user@host:port/db", file=sys.stderr)
        raise SystemExit(2)
    code = 0
    try:
        asyncio.run(serve(
            database_url,
            metrics_address=endpoints.metrics,
            health_address=endpoints.health,
            max_cached_workflows=settings.max_cached_workflows,
            process=process,
        ))
    except (OSError, asyncpg.PostgresError, RuntimeError, CodecKeyError) as err:  # one line, no traceback
        print(f"casework-worker: cannot start: {err}", file=sys.stderr)
        code = 5
    # Everything is stopped and closed by now: SIGTERM must always end in 0.
    exit_without_finalizing(code)


if __name__ == "__main__":
    main()
