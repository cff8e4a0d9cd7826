"""The one polling helper: wait until something holds, bounded, saying how far it got."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


async def until(
    probe: Callable[[], Awaitable[T]], what: str, timeout: float = 60.0, every: float = 0.1,
    *, holds: Callable[[T], object] | None = None,
) -> T:
    """Poll ``probe`` until it returns something truthy (or something ``holds`` accepts),
    and return that; after ``timeout`` seconds fail with ``TimeoutError`` naming ``what``
    (and, with ``holds``, the last value: it says how far it got)."""
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while True:
        value = await probe()
        if holds(value) if holds is not None else value:
            return value
        if loop.time() > end:
            last = f"; last: {value!r}" if holds is not None else ""
            raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}{last}")
        await asyncio.sleep(every)
