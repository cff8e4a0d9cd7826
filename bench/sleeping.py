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


async def probe(total: int, step: int, work_dir: "Path") -> list[dict[str, float]]:
    """How many sleeping case workflows one in-memory dev server holds here: start them
    ``step`` at a time up to ``total``, noting after each step the start rate, the
    server's resident memory and how long listing every running case workflow takes."""
    from local_stack.dev_server import DevServer
    from activities.sweep import RUNNING

    server = DevServer(None, work_dir / "temporal-probe.log")
    server.start()
    rows: list[dict[str, float]] = []
    try:
        await server.wait_ready(60)
        client = await Client.connect(server.address)
        held = 0
        while held < total:
            batch = [Sleeper(f"acro-case-P{i:07d}", "B-dormant", "CC EEA Team") for i in range(held, min(total, held + step))]
            started, seconds = await start_sleeping(client, batch)
            held += started
            t0 = time.perf_counter()
            listed = 0
            async for _ in client.list_workflows(RUNNING, page_size=1000):
                listed += 1
            rows.append({"held": held, "start_rate": started / seconds, "list_seconds": time.perf_counter() - t0,
                         "listed": listed, "server_rss_mb": _rss_mb(server.proc.pid if server.proc else 0)})
            print(rows[-1], flush=True)
    finally:
        await asyncio.to_thread(server.stop)
    return rows


def _rss_mb(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


if __name__ == "__main__":  # python -m bench.sleeping TOTAL STEP
    import sys
    import tempfile
    from pathlib import Path

    asyncio.run(probe(int(sys.argv[1]), int(sys.argv[2]), Path(tempfile.mkdtemp(prefix="casework-probe-"))))
