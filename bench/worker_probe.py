"""A worker in a process of its own, so that its memory is read alone: it polls a task
queue, queries the given workflows (each is replayed into its cache) and reports its
resident memory before and after, as JSON lines on stdout.

``python -m bench.worker_probe {ours|bare} QUEUE CACHE IDS_FILE``; the server, database
and keys come from the environment (``TEMPORAL_ADDRESS``, ``DATABASE_URL``,
``CASEWORK_CODEC_KEYS``), as for the worker service.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path


def _say(**fields: object) -> None:
    print(json.dumps(fields), flush=True)


async def main(kind: str, queue: str, cache: int, ids_file: str) -> None:
    from temporalio.client import Client

    from bench.bare import BareActivities, bare_worker
    from bench.drive import bounded
    from bench.memory import rss_mb
    from casework import config
    from casework.temporal import TemporalSettings, connect

    settings = TemporalSettings.from_environment()
    ids = Path(ids_file).read_text().split()
    pool = None
    if kind == "ours":
        from cid.db import create_pool
        from worker.service import build_worker
        from workflows.client import CaseClient

        client = await connect(settings)
        url = config.DatabaseSettings.read().database_url
        if not url:
            raise SystemExit(f"bench.worker_probe: {config.DATABASE_URL_ENV} is not set")
        pool = await create_pool(url)
        worker = build_worker(client, pool, queue, max_cached_workflows=cache)
        query = CaseClient(client).view
    else:
        client = await Client.connect(settings.address, namespace=settings.namespace)
        worker = bare_worker(client, queue, BareActivities(), max_cached_workflows=cache)

        async def query(workflow_id: str) -> object:
            return await client.get_workflow_handle(workflow_id).query("asleep")
    async with worker:
        await asyncio.sleep(1)
        _say(rss_idle_mb=rss_mb())
        done = 0

        async def one(workflow_id: str) -> None:
            nonlocal done
            await query(workflow_id)
            done += 1
            if done % 50 == 0:
                _say(progress=done)

        await bounded(16, [lambda w=w: one(w) for w in ids])
        _say(progress=done, rss_full_mb=rss_mb())
    if pool is not None:
        await pool.close()


if __name__ == "__main__":
    from casework.process import exit_without_finalizing

    asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]))
    # Everything is stopped by now; the SDK's native threads may still abort a finalizing
    # interpreter (seen once in CI: SIGABRT after the report was written).
    exit_without_finalizing(0)
