"""Liveness and readiness for compose and Kubernetes.

``/live`` answers while the process runs; ``/ready`` only when Temporal and the CID
both answer now. ``python -m worker.health`` runs the same readiness check once and
exits 0 or 1, for a container healthcheck that needs no HTTP client.
"""

from __future__ import annotations

import asyncio
import sys

import asyncpg
from aiohttp import web
from temporalio.client import Client

from casework import config
from casework.temporal import TemporalSettings, connect
from worker.database import worker_database_url


async def readiness(client: Client, pool: asyncpg.Pool) -> dict[str, str]:
    """What is not ready, by component; empty when everything answers."""
    problems: dict[str, str] = {}
    try:
        await asyncio.wait_for(client.service_client.check_health(), timeout=3)
    except Exception as err:  # any failure means "not ready"; the reason is reported
        problems["temporal"] = type(err).__name__
    try:
        async with pool.acquire(timeout=3) as conn:
            await conn.fetchval("SELECT 1")
    except Exception as err:
        problems["database"] = type(err).__name__
    return problems


async def start_health_server(client: Client, pool: asyncpg.Pool, host: str, port: int) -> web.AppRunner:
    async def live(_: web.Request) -> web.Response:
        return web.json_response({"status": "live"})

    async def ready(_: web.Request) -> web.Response:
        problems = await readiness(client, pool)
        if problems:
            return web.json_response({"status": "not ready", "problems": problems}, status=503)
        return web.json_response({"status": "ready"})

    app = web.Application()
    app.router.add_get("/live", live)
    app.router.add_get("/ready", ready)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    return runner


async def _check_once() -> int:
    try:
        database_url = worker_database_url(config.DatabaseSettings.read().database_url)
        client = await asyncio.wait_for(connect(TemporalSettings.from_environment()), timeout=5)
        pool = await asyncpg.create_pool(database_url, min_size=1, max_size=1, timeout=5)
    except Exception as err:
        print(f"not ready: {type(err).__name__}: {err}", file=sys.stderr)
        return 1
    try:
        problems = await readiness(client, pool)
    finally:
        await pool.close()
    if problems:
        print(f"not ready: {problems}", file=sys.stderr)
        return 1
    print("ready")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(_check_once()))
