"""Dormancy (R16): M cases asleep after "unable to locate". A worker's memory with all of
them cached, and with the production cache (1,000) full of them; then "person located"
for some of them, timed from the signal to the first activity it starts, the cache
evicted (a new worker). Memory is read in worker processes of their own.

Cases reach dormancy the way they do in life: submitted, Stage A, NBTC ``in_uk`` and ICE
``unable_to_locate`` through the ``complete_task`` update, then continue-as-new on
entering dormancy (R16). Driving every one of 10,000 through Stage A takes half an hour
or more on two cores and measures intake again, so by default only ``driven`` of them are
driven; the others are started as the very run a driven case continues into (its
carried ``CaseState``, under their own ID): the same workflow code, history and cached
state. ``--drive-all`` drives every one.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from rich.progress import Progress
from temporalio.client import Client

from bench import drive
from bench.bare import BARE_SLEEPER, BareActivities, bare_worker
from bench.intake import CONCURRENCY, real_intake
from bench.referrals import reference
from bench.stack import Stack
from casework import config, keys
from casework.case import CaseInput, CaseState, EventKind, Stage, case_id_for
from worker.service import DEFAULT_CACHE, build_worker
from workflows.client import CaseClient

DORMANT_WAIT = "person_located"  # the WaitingOn search attribute of a dormant case


CHECKOUT = Path(__file__).resolve().parent.parent  # where ``bench`` is importable from
#: The worker service's cache unless CASEWORK_MAX_CACHED_WORKFLOWS says otherwise.
PRODUCTION_CACHE = DEFAULT_CACHE


@dataclass
class DormancyResult:
    cases: int
    driven: int
    production_cache: int
    rss_idle_mb: float  # a worker process with nothing cached yet
    rss_cached_mb: float  # the same worker with every dormant case cached
    rss_production_mb: float  # a worker with the production cache, full of dormant cases
    woken: int
    wake_rate_per_s: float
    wake_latencies_s: list[float] = field(default_factory=list)
    seconds_to_dormant: float = 0.0
    bare_cases: int = 0
    bare_rss_idle_mb: float = 0.0
    bare_rss_cached_mb: float = 0.0
    bare_wake_latencies_s: list[float] = field(default_factory=list)

    @property
    def p50(self) -> float:
        return drive.quantile(self.wake_latencies_s, 0.50)

    @property
    def p95(self) -> float:
        return drive.quantile(self.wake_latencies_s, 0.95)

    @property
    def bare_p50(self) -> float:
        return drive.quantile(self.bare_wake_latencies_s, 0.50)

    @property
    def bare_p95(self) -> float:
        return drive.quantile(self.bare_wake_latencies_s, 0.95)

    @property
    def per_case_kb(self) -> float:
        """What one cached dormant case adds to the worker's memory."""
        return (self.rss_cached_mb - self.rss_idle_mb) * 1024 / self.cases

    @property
    def bare_per_case_kb(self) -> float:
        return (self.bare_rss_cached_mb - self.bare_rss_idle_mb) * 1024 / self.bare_cases if self.bare_cases else 0.0




async def drive_to_dormant(stack: Stack, prefix: str, n: int, progress: Progress) -> None:
    """Complete NBTC ``in_uk`` then ICE ``unable_to_locate`` on every case under ``prefix``
    as soon as its task is open (one poller over the CID inbox dispatches the updates)."""
    bar = progress.add_task(f"Dormancy: {n} cases through NBTC and ICE to R16", total=n)
    like = case_id_for(prefix) + "%"
    outcomes = {
        "nbtc_check": ("in_uk", {}),
        "ice_tasking": ("unable_to_locate", {"reason": "no trace at the last known address"}),
    }
    dispatched: set[tuple[str, str]] = set()
    running: set[asyncio.Task] = set()
    gate = asyncio.Semaphore(CONCURRENCY * 2)

    async def one(case_id: str, key: str, kind: str) -> None:
        outcome, details = outcomes[kind]
        async with gate:
            await drive.complete(stack.client, case_id, key, outcome, actor="bench.officer", **details)

    while True:
        rows = await stack.pool.fetch(
            "SELECT case_id, task_key, kind FROM tasks WHERE case_id LIKE $1 AND status = 'open'"
            " AND kind = ANY($2::text[])", like, list(outcomes),
        )
        for row in rows:
            if (row["case_id"], row["task_key"]) not in dispatched:
                dispatched.add((row["case_id"], row["task_key"]))
                task = asyncio.create_task(one(row["case_id"], row["task_key"], row["kind"]))
                running.add(task)
                task.add_done_callback(running.discard)
        dormant = await stack.pool.fetchval(
            "SELECT count(*) FROM cases WHERE id LIKE $1 AND status = 'dormant'", like)
        progress.update(bar, completed=dormant)
        if dormant >= n:
            break
        for task in [t for t in running if t.done() and t.exception()]:
            raise task.exception()  # type: ignore[misc]
        await asyncio.sleep(0.2)
    await asyncio.gather(*running)


async def dormant_runs(client: Client, queue: str) -> int:
    """Cases whose current run waits on "person located" (it published that once cached and idle)."""
    return (await client.count_workflows(
        f'TaskQueue = "{queue}" AND WaitingOn = "{DORMANT_WAIT}" AND ExecutionStatus = "Running"')).count


async def wait_all_dormant(stack: Stack, queue: str, total: int, progress: Progress) -> None:
    bar = progress.add_task("Dormancy: waiting until every case sleeps (visibility)", total=total)
    while (n := await dormant_runs(stack.client, queue)) < total:
        progress.update(bar, completed=n)
        await asyncio.sleep(0.5)
    progress.update(bar, completed=total)


async def carried_state(client: Client, case_id: str) -> CaseState:
    history = await client.get_workflow_handle(case_id).fetch_history()
    started = history.events[0].workflow_execution_started_event_attributes
    [case_input] = await client.data_converter.decode(started.input.payloads, [CaseInput])
    assert case_input.state is not None and case_input.state.stage is Stage.DORMANT
    return case_input.state


async def wake(stack: Stack, case_ids: list[str], rate: float, progress: Progress) -> list[float]:
    """Send "person located" to each case, ``rate`` per second (open loop); the latency of
    each is from just before its signal to its audit row (written by the first activity)."""
    bar = progress.add_task(f"Dormancy: 'person located' for {len(case_ids)} cases", total=len(case_ids))
    sent: dict[str, float] = {}

    async def one(case_id: str) -> None:
        event_id = uuid.uuid4().hex
        sent[keys.event_key(EventKind.LOCATED, event_id)] = time.time()
        await drive.located(stack.client, case_id, event_id=event_id, custody="confirmed_address")

    signals = []
    for case_id in case_ids:
        signals.append(asyncio.create_task(one(case_id)))
        await asyncio.sleep(1 / rate)
    await asyncio.gather(*signals)
    while True:
        rows = await stack.pool.fetch(
            "SELECT event_key, recorded_at FROM audit_log WHERE event_key = ANY($1::text[])", list(sent))
        progress.update(bar, completed=len(rows))
        if len(rows) == len(sent):
            return [r["recorded_at"].timestamp() - sent[r["event_key"]] for r in rows]
        await asyncio.sleep(0.2)


async def probe(stack: Stack, kind: str, queue: str, cache: int, ids: list[str], progress: Progress, label: str) -> tuple[float, float]:
    """(RSS idle, RSS with ``ids`` queried into the cache) of a worker process of its own
    (``bench.worker_probe``): a process that measured other phases keeps memory it freed."""
    ids_file = stack.work_dir / f"probe-{label.replace(' ', '-')}.txt"
    ids_file.write_text("\n".join(ids))
    bar = progress.add_task(f"Dormancy: {label}: a worker process replays {len(ids)} into its cache", total=len(ids))
    env = {**os.environ, config.DATABASE_URL_ENV: stack.database_url, config.TEMPORAL_ADDRESS_ENV: stack.temporal_address,
           config.TEMPORAL_NAMESPACE_ENV: stack.client.namespace}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bench.worker_probe", kind, queue, str(cache), str(ids_file),
        env=env, cwd=CHECKOUT, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    said: dict[str, float] = {}
    assert process.stdout is not None
    async for line in process.stdout:
        said.update(json.loads(line))
        progress.update(bar, completed=said.get("progress", 0))
    _, err = await process.communicate()
    if process.returncode != 0 or "rss_full_mb" not in said:
        raise RuntimeError(f"worker probe failed ({process.returncode}): {err.decode()[-2000:]}")
    return said["rss_idle_mb"], said["rss_full_mb"]


async def measure(
    stack: Stack, cases: int, progress: Progress, *, driven: int = 200, woken: int = 100,
    wake_rate: float = 5.0, drive_all: bool = False, bare_cases: int = 1000,
) -> DormancyResult:
    # Every case is driven from intake: a first run can no longer carry a state (only
    # continue-as-new may), so dormant runs cannot be seeded (``driven`` and ``drive_all``
    # are kept for the command line and no longer choose anything).
    driven = cases
    queue = stack.queue("dormancy")
    prefix = f"BD{stack.run_id}".upper()
    started = time.monotonic()
    # The cases go to sleep as they would in production: one worker, its usual cache.
    async with build_worker(stack.client, stack.pool, queue, max_cached_workflows=PRODUCTION_CACHE):
        # Driven cases: intake's submit, then the updates as each task opens, as one pipeline.
        intake = asyncio.create_task(real_intake(stack, driven, progress, prefix=prefix, queue=queue, worker=False))
        await drive_to_dormant(stack, prefix, driven, progress)
        await intake
        await wait_all_dormant(stack, queue, cases, progress)
    to_dormant = time.monotonic() - started
    ids = [case_id_for(reference(prefix, i)) for i in range(driven)]
    idle, cached = await probe(stack, "ours", queue, cases + 100, ids, progress, "all cached")
    _, production = await probe(stack, "ours", queue, PRODUCTION_CACHE, ids[-(PRODUCTION_CACHE + 100):], progress,
                                "production cache")
    # Nothing holds them now: a new worker, as after a restart, replays every case it wakes.
    async with build_worker(stack.client, stack.pool, queue, max_cached_workflows=PRODUCTION_CACHE):
        step = max(driven // woken, 1)
        targets = [case_id_for(reference(prefix, i)) for i in range(0, driven, step)][:woken]
        latencies = await wake(stack, targets, wake_rate, progress)
    result = DormancyResult(
        cases=cases, driven=driven, production_cache=PRODUCTION_CACHE, rss_idle_mb=idle, rss_cached_mb=cached,
        rss_production_mb=production, woken=len(targets), wake_rate_per_s=wake_rate, wake_latencies_s=latencies,
        seconds_to_dormant=to_dormant,
    )
    if bare_cases:
        await bare_dormancy(stack, result, min(bare_cases, cases), min(woken, bare_cases), wake_rate, progress)
    return result


async def bare_dormancy(stack: Stack, result: DormancyResult, count: int, woken: int, rate: float, progress: Progress) -> None:
    """The same for bare sleepers (one activity, then a wait for a signal): Temporal's own
    memory per cached workflow, and its own wake-up latency after eviction."""
    queue = stack.queue("bare-dormancy")
    activities = BareActivities()
    activities.expect(count)
    result.bare_cases = count
    bar = progress.add_task(f"Dormancy: {count} bare sleepers", total=count)
    ids = [f"bare-sleeper-{stack.run_id}-{i}" for i in range(count)]
    async with bare_worker(stack.bare_client, queue, activities, max_cached_workflows=PRODUCTION_CACHE):
        await drive.bounded(CONCURRENCY, [
            lambda i=i: stack.bare_client.start_workflow(BARE_SLEEPER, id=i, task_queue=queue) for i in ids
        ])
        while not activities.all_done.is_set():
            progress.update(bar, completed=len(activities.finished))
            await asyncio.sleep(0.2)
        progress.update(bar, completed=count)
        await asyncio.sleep(1)  # the workflow task after each activity
    result.bare_rss_idle_mb, result.bare_rss_cached_mb = await probe(
        stack, "bare", queue, count + 100, ids, progress, "bare, all cached")
    bar = progress.add_task(f"Dormancy: waking {woken} bare sleepers", total=woken)
    async with bare_worker(stack.bare_client, queue, activities, max_cached_workflows=PRODUCTION_CACHE):
        sent: dict[str, float] = {}

        async def one(workflow_id: str) -> None:
            event_id = uuid.uuid4().hex
            sent[event_id] = time.time()
            await stack.bare_client.get_workflow_handle(workflow_id).signal("wake", event_id)
            progress.advance(bar)

        signals = []
        for workflow_id in ids[:: max(count // woken, 1)][:woken]:
            signals.append(asyncio.create_task(one(workflow_id)))
            await asyncio.sleep(1 / rate)
        await asyncio.gather(*signals)
        while not all(e in activities.woken_at for e in sent):
            await asyncio.sleep(0.1)
    result.bare_wake_latencies_s = [activities.woken_at[e] - t for e, t in sent.items()]
