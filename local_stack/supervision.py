"""What ``casework up`` started, watched: when one part exits, which one, how, and where
its log is, in one line; the caller then stops the rest in order (docs/design.md, "The
local stack supervises what it started": stop, not restart).

A part is a name, its log and a probe that says how it ended (None while it runs). Pure
polling: the parts are of different kinds (a child process, a daemon PostgreSQL that is
not our child, an asyncio task, a thread), and half a second is soon enough for a person.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import psutil

#: How often the parts are probed.
EVERY_SECONDS = 0.5


@dataclass(frozen=True)
class Part:
    name: str
    log: Path
    #: How it ended ("exit 1", "killed by SIGKILL" ...), or None while it runs.
    ended: Callable[[], str | None]


@dataclass(frozen=True)
class Ended:
    part: Part
    how: str

    def line(self) -> str:
        """The one line a person reads."""
        return f"{self.part.name} stopped ({self.how}); its log: {self.part.log}. Stopping the rest."


async def first_ended(parts: Iterable[Part], every: float = EVERY_SECONDS) -> Ended:
    """Returns when one of ``parts`` has ended (cancel it to stop watching)."""
    watched = list(parts)
    while True:
        for part in watched:
            how = part.ended()
            if how is not None:
                return Ended(part, how)
        await asyncio.sleep(every)


def exit_status(code: int | None) -> str:
    """A child's return code as words (negative: the signal that ended it)."""
    if code is None:
        return "ended"
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit {code}"


def process_ended(pid: int) -> str | None:
    """A process that is not our child (the embedded PostgreSQL's postmaster: pg_ctl
    started it as a daemon). A zombie counts as ended: nobody may reap it in a container."""
    try:
        if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
            return "its process died"
    except psutil.NoSuchProcess:
        return "its process is gone"
    return None


def task_ended(task: asyncio.Task[object]) -> str | None:
    """An asyncio task (the worker, the API's server) that should run until asked to stop."""
    if not task.done():
        return None
    if task.cancelled():
        return "cancelled"
    err = task.exception()
    if err is None:
        return "it returned"
    return " ".join(str(err).split()) or type(err).__name__
