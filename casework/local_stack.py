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

