"""Open case workflows by the thousand for the sweep: started with a start delay of years
on a task queue no worker polls, so each is a running ``AcroCase`` execution asleep on
its timer (what a dormant case is to the server), with the search attributes its case in
the CID implies. No worker has to run them, so the dev server holds as many as it can
keep, not as many as a worker can drive.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import timedelta

from temporalio.client import Client
from temporalio.common import SearchAttributePair, TypedSearchAttributes

from casework import search
from casework.keys import WORKFLOW_TYPE

QUEUE = "sleeping-cases"
ASLEEP_FOR = timedelta(days=3650)


@dataclass(frozen=True)
class Sleeper:
    case_id: str
    stage: str
    team: str | None
    overdue: bool = False


def attributes(s: Sleeper) -> TypedSearchAttributes:
    pairs = [SearchAttributePair(search.CASE_STAGE, s.stage), SearchAttributePair(search.OVERDUE, s.overdue)]
    if s.team is not None:
        pairs.append(SearchAttributePair(search.TEAM, s.team))
    return TypedSearchAttributes(pairs)


async def start_sleeping(client: Client, sleepers: Iterable[Sleeper], *, concurrency: int = 32,
                         progress: Callable[[int], None] | None = None) -> tuple[int, float]:
    """Start one sleeping workflow per ``Sleeper``; (how many, seconds taken)."""
    gate = asyncio.Semaphore(concurrency)
    started = time.perf_counter()
    count = 0

    async def one(s: Sleeper) -> None:
        nonlocal count
        async with gate:
            await client.start_workflow(WORKFLOW_TYPE, id=s.case_id, task_queue=QUEUE, start_delay=ASLEEP_FOR,
                                        search_attributes=attributes(s))
            count += 1
            if progress is not None:
                progress(1)

    pending: set[asyncio.Task[None]] = set()
    for s in sleepers:
        pending.add(asyncio.create_task(one(s)))
        if len(pending) >= concurrency * 4:  # bounded: the iterable may be long
            done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
            failed = [t for t in done if t.exception() is not None]
            if failed:  # a start that failed fails the run
                for task in pending:
                    task.cancel()
                raise failed[0].exception()  # type: ignore[misc]
    if pending:
        await asyncio.gather(*pending)
    return count, time.perf_counter() - started
