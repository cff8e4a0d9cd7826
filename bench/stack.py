"""What every phase runs on: one dev server in memory, one CID, clients, throwaway keys.

The dev server is the one ``casework up`` and the fault tests run
(``local_stack.dev_server.DevServer``: explicit binary, our search attributes), in memory;
the CID is ``DATABASE_URL`` or an embedded PostgreSQL in a temporary folder. A second client on the same server has Temporal's default converter:
the bare baseline pays for none of our codec.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import secrets
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import AsyncIterator

import asyncpg
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from bench import cpu
from casework import config
from local_stack.database import database_url_or_embedded
from local_stack.dev_server import DevServer
from casework.codec import CodecKey, KeyRing
from casework.temporal import data_converter
from cid.db import create_pool, migrate_dsn


@dataclass
class Stack:
    env: WorkflowEnvironment
    client: Client  # our converter (pydantic + encryption)
    bare_client: Client  # Temporal's default converter
    bare_codec_client: Client  # our converter, for bare workflows: the cost of encryption alone
    pool: asyncpg.Pool
    database_url: str
    database: str  # "DATABASE_URL" or "embedded"
    run_id: str  # makes references and task queues unique to this run
    work_dir: Path

    @property
    def temporal_address(self) -> str:
        return self.client.service_client.config.target_host

    def queue(self, name: str) -> str:
        return f"bench-{name}-{self.run_id}"


def throwaway_keys() -> None:
    """A payload key for this run only (the server is in memory: nothing outlives it),
    exported so that the ``casework submit`` subprocess seals with the same key."""
    if not config.CodecSettings.read().keys:
        config.export(config.CodecSettings.variable("keys"), KeyRing([CodecKey.generate(f"bench-{secrets.token_hex(4)}")], "bench").to_env())


@contextlib.asynccontextmanager
async def stack() -> AsyncIterator[Stack]:
    throwaway_keys()
    work_dir = Path(tempfile.mkdtemp(prefix="casework-bench-"))
    # Removed at exit, after the embedded PostgreSQL stops (atexit runs last-registered first).
    atexit.register(shutil.rmtree, work_dir, True)
    url, where = database_url_or_embedded(work_dir / "pgdata")
    database = "DATABASE_URL" if where == "DATABASE_URL" else "embedded"
    if database == "embedded":
        cpu.database_pid = int((work_dir / "pgdata" / "postmaster.pid").read_text().split()[0])
    await migrate_dsn(url)
    server = DevServer(None, work_dir / "temporal.log")  # in memory: nothing outlives the run
    server.start()
    try:
        await server.wait_ready(60)
        env = WorkflowEnvironment.from_client(await Client.connect(server.address, data_converter=data_converter()))
        # The worker service's pool (worker/service.py uses create_pool's defaults).
        pool = await create_pool(url)
        try:
            bare = Client(env.client.service_client, namespace=env.client.namespace)
            bare_codec = Client(env.client.service_client, namespace=env.client.namespace, data_converter=data_converter())
            yield Stack(env, env.client, bare, bare_codec, pool, url, database, secrets.token_hex(3), work_dir)
        finally:
            await pool.close()
    finally:
        await asyncio.to_thread(server.stop)
