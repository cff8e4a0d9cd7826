"""Helpers for the operations tests (tests/test_ops_*): a dev server of their own, free
ports, visibility polling, Prometheus text parsing, and a worker that holds the wrong key."""

from __future__ import annotations

import asyncio
import contextlib
import re
from typing import AsyncIterator

import asyncpg
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from casework import search
from local_stack.polling import until
from local_stack.ports import free_port  # noqa: F401 - re-exported
from casework.binaries import temporal_cli
from casework.codec import CodecKey, KeyRing
from casework.temporal import data_converter

#: TemporalReportedProblems is set after this many consecutive workflow task failures
#: (server default 5, with back-off between them: too slow for a test).
PROBLEMS_AFTER_ONE_FAILURE = [
    "--dynamic-config-value", "system.numConsecutiveWorkflowTaskProblemsToTriggerSearchAttribute=1",
]


@contextlib.asynccontextmanager
async def ops_server(*, ui_port: int | None = None) -> AsyncIterator[WorkflowEnvironment]:
    """A dev server with our search attributes, problems reported at the first failure, and
    optionally its Web UI (news fetch off: there is no internet)."""
    extra = list(PROBLEMS_AFTER_ONE_FAILURE)
    if ui_port is not None:
        extra.append("--ui-disable-news-fetch")
    env = await _start(ui_port, extra)
    try:
        yield env
    finally:
        await env.shutdown()


async def _start(ui_port: int | None, extra: list[str]) -> WorkflowEnvironment:
    kwargs = dict(
        dev_server_existing_path=temporal_cli(), data_converter=data_converter(),
        search_attributes=search.ALL, dev_server_extra_args=extra,
    )
    if ui_port is not None:
        kwargs.update(ui=True, ui_port=ui_port)
    return await WorkflowEnvironment.start_local(**kwargs)  # type: ignore[arg-type]


async def listed(client: Client, query: str, case_id: str, *, timeout: float = 10.0) -> None:
    """Poll visibility (eventually consistent) until ``query`` lists ``case_id``."""
    async def ids() -> list[str]:
        return [w.id async for w in client.list_workflows(query)]

    await until(ids, f"{case_id} listed by {query!r}", timeout, 0.2, holds=lambda listed: case_id in listed)


async def wrong_key_client(client: Client) -> Client:
    """A client (for a worker) whose payload key is not the one the cases were sealed with:
    every workflow task it takes fails, as during a botched key rotation."""
    return await Client.connect(
        client.service_client.config.target_host, namespace=client.namespace,
        data_converter=data_converter(KeyRing([CodecKey.generate("not-the-key")])),
    )


_SAMPLE = re.compile(r"^(?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(?P<labels>[^}]*)\})?\s+(?P<value>\S+)$")
_LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


def samples(text: str, name: str) -> list[tuple[dict[str, str], float]]:
    """Every sample of metric ``name`` in Prometheus text format, as (labels, value)."""
    found = []
    for line in text.splitlines():
        match = _SAMPLE.match(line.strip())
        if match and match["name"] == name:
            labels = dict(_LABEL.findall(match["labels"] or ""))
            found.append((labels, float(match["value"])))
    return found


def total(text: str, name: str, **labels: str) -> float:
    """The sum of ``name``'s samples whose labels include ``labels``."""
    return sum(v for l, v in samples(text, name) if all(l.get(k) == want for k, want in labels.items()))


class Forwarder:
    """A TCP forwarder to ``target``: what a service sees of a server that goes away.

    ``await cut()`` closes the listening socket and every connection through it (the
    server "goes down" for whoever connects through the forwarder); ``await restore()``
    listens again on the same port.
    """

    def __init__(self, target: tuple[str, int] | str) -> None:
        self.target = target  # (host, port), or the path of a Unix socket
        self.port = free_port()
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def listening(self) -> bool:
        return self._server is not None

    async def restore(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)

    async def cut(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        for writer in list(self._writers):
            writer.close()
        self._writers.clear()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            if isinstance(self.target, str):
                up_reader, up_writer = await asyncio.open_unix_connection(self.target)
            else:
                up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.close()
            return
        self._writers |= {writer, up_writer}

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            try:
                while chunk := await src.read(65536):
                    dst.write(chunk)
                    await dst.drain()
            except (ConnectionError, OSError):
                pass
            finally:
                dst.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))
        self._writers -= {writer, up_writer}


def database_through(dsn: str) -> tuple[Forwarder, str]:
    """A forwarder to the PostgreSQL of ``dsn`` (TCP, or the embedded server's Unix socket)
    and the DSN that reaches the same database through it."""
    from urllib.parse import parse_qs, urlsplit

    parts = urlsplit(dsn)
    query = parse_qs(parts.query)
    port = parts.port or int(query.get("port", ["5432"])[0])
    socket_dir = query.get("host", [None])[0]
    target: tuple[str, int] | str
    target = f"{socket_dir}/.s.PGSQL.{port}" if socket_dir else (parts.hostname or "127.0.0.1", port)
    forwarder = Forwarder(target)
    user = parts.username or "postgres"
    password = f":{parts.password}" if parts.password else ""
    return forwarder, f"postgresql://{user}{password}@{forwarder.address}{parts.path or '/postgres'}"


@contextlib.asynccontextmanager
async def own_cid_of(database_url: str, number: int) -> AsyncIterator[tuple[str, asyncpg.Pool]]:
    """A CID of a module's own, migrated, on the same server (database ``<name>_scale_<number>``):
    the session's CID holds other tests' open cases, and these modules count every one."""
    from bench.scale import drop_database, fresh_database
    from cid.db import create_pool, migrate_dsn

    dsn = await fresh_database(database_url, number)
    await migrate_dsn(dsn)
    pool = await create_pool(dsn, max_size=4)
    try:
        yield dsn, pool
    finally:
        await pool.close()
        await drop_database(database_url, number)
