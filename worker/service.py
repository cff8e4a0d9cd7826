"""The case worker as a service: configuration from the environment, an asyncpg pool,
graceful shutdown on SIGTERM/SIGINT (in-flight activities get a bounded time to finish)."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
from datetime import timedelta

import asyncpg
from temporalio.client import Client
from temporalio.worker import Worker

from activities.case_activities import CaseActivities
from casework.settings import ProcessSettings, load_process_settings
from casework.temporal import TemporalSettings, connect
from cid.db import create_pool, migrate_dsn
from workflows.case import CaseWorkflow

log = logging.getLogger("casework.worker")

SHUTDOWN_GRACE = timedelta(seconds=int(os.environ.get("CASEWORK_SHUTDOWN_GRACE_SECONDS", "20")))


def build_worker(
    client: Client, pool: asyncpg.Pool, task_queue: str, settings: ProcessSettings | None = None
) -> Worker:
    activities = CaseActivities(pool, settings or ProcessSettings())
    return Worker(
        client,
        task_queue=task_queue,
        workflows=[CaseWorkflow],
        activities=activities.all(),
        graceful_shutdown_timeout=SHUTDOWN_GRACE,
    )


async def serve(
    database_url: str,
    temporal: TemporalSettings | None = None,
    stop: asyncio.Event | None = None,
    ready: asyncio.Event | None = None,
) -> None:
    """Run until ``stop`` is set (or SIGTERM/SIGINT when none is given)."""
    temporal = temporal or TemporalSettings()
    await migrate_dsn(database_url)
    client = await connect(temporal)
    pool = await create_pool(database_url)
    stop = stop or _stop_on_signals()
    try:
        worker = build_worker(client, pool, temporal.task_queue, load_process_settings())
        async with worker:
            log.info("worker polling task queue %s on %s", temporal.task_queue, temporal.address)
            if ready is not None:
                ready.set()
            await stop.wait()
            log.info("shutting down: in-flight activities have %ss", SHUTDOWN_GRACE.total_seconds())
    finally:
        await pool.close()


def _stop_on_signals() -> asyncio.Event:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    return stop


def main() -> None:
    logging.basicConfig(level=os.environ.get("LOG_LEVEL", "INFO"), format="%(asctime)s %(levelname)s %(name)s %(message)s")
    database_url = os.environ.get("DATABASE_URL")
    if not database_url:
        print("casework-worker: DATABASE_URL is not set (postgresql://user@host:port/db)", file=sys.stderr)
        raise SystemExit(2)
    try:
        asyncio.run(serve(database_url))
    except (OSError, asyncpg.PostgresError, RuntimeError) as err:
        print(f"casework-worker: cannot start: {err}", file=sys.stderr)
        raise SystemExit(5) from None


if __name__ == "__main__":
    main()
