"""The pieces of a stack on one machine that ``casework up``, the tests and the
benchmark share: the case database (``DATABASE_URL`` or an embedded PostgreSQL), free
ports, and polling until something holds."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

from casework import config

T = TypeVar("T")


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nothing listens on now (another process may take it before we do)."""
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def dev_server_command(
    db_file: Path, port: int, *, ui_port: int | None = None, namespace: str = "default",
    codec_endpoint: str | None = None, http_port: int | None = None, metrics_port: int | None = None,
) -> list[str]:
    """``temporal server start-dev`` as this project runs it (``casework up``, the fault
    tests): on 127.0.0.1, its state in ``db_file``, our search attributes registered (a
    workflow upserting an unknown one would stall), and no internet wanted. Without
    ``ui_port`` it is headless."""
    from casework import search
    from casework.binaries import temporal_cli

    args = [temporal_cli(), "server", "start-dev", "--ip", "127.0.0.1", "--port", str(port),
            "--db-filename", str(db_file), "--log-level", "warn", *search.dev_server_flags()]
    if ui_port is None:
        args.append("--headless")
    else:
        args += ["--ui-port", str(ui_port), "--ui-disable-news-fetch"]  # no internet: the UI must not try
    if codec_endpoint:
        args += ["--ui-codec-endpoint", codec_endpoint]
    if http_port is not None:
        args += ["--http-port", str(http_port)]
    if metrics_port is not None:
        args += ["--metrics-port", str(metrics_port)]
    if namespace != "default":
        args += ["--namespace", namespace]
    return args


def database_url_or_embedded(pgdata: Path) -> tuple[str, str]:
    """The CID: ``DATABASE_URL`` if set, else an embedded PostgreSQL in ``pgdata``
    (started, or reused); returns (DSN, where it is, for people)."""
    url = config.database_url()
    if url:
        return url, "DATABASE_URL"
    from cid.embedded import start_embedded

    return start_embedded(pgdata), f"embedded PostgreSQL in {pgdata}"


async def until(probe: Callable[[], Awaitable[T]], what: str, timeout: float = 60.0, every: float = 0.1) -> T:
    """Poll ``probe`` until it returns something truthy, and return that; after
    ``timeout`` seconds fail with ``TimeoutError`` naming ``what``."""
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while True:
        value = await probe()
        if value:
            return value
        if loop.time() > end:
            raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}")
        await asyncio.sleep(every)

