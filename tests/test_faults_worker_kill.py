"""Nothing lost, nothing doubled: the worker SIGKILLed at random moments while cases run.

A real ``casework-worker`` process (as deployed: its own environment, the worker's
database role) serves 54 cases on the dev server while the test drives them through
several stages with updates and signals, as people and other systems would. A chaos
loop kills the worker with SIGKILL at random moments (seeded; the seed is printed, set
``CASEWORK_FAULT_SEED`` to repeat a run) and starts a new one. Every case must end as a
clean run of the same path ends, with exactly the CID rows of that clean run.

Killing loses in-flight activities (retried after their start-to-close timeout:
ProcessSettings.activity_timeout_seconds, 4 s here; 5 s for load_settings) and workflow
tasks (retried after the 10 s workflow-task or sticky-queue timeout): the faults that
at-least-once delivery and the activities' domain keys exist for. The paths (in
tests/fault_support.py) cover Stages A-D, R30 refused under faults, and closure (R11).
"""

from __future__ import annotations

import asyncio
import os
import random
import time
import uuid
from collections import Counter
from pathlib import Path

from temporalio.api.enums.v1 import EventType

from tests.fault_support import (
    PATHS,
    Difference,
    Driver,
    WorkerProcess,
    check_invariants,
    fingerprint,
    process_config,
    report,
    worker_environment,
)
from tests.support import Case, every_event, referral

CASES_PER_PATH = 18  # three paths: 54 cases
KILLS = int(os.environ.get("CASEWORK_FAULT_KILLS", "4"))


async def timed_out_workflow_tasks(client, case_id: str) -> int:
    """Workflow tasks a killed worker took with it (they time out, then run elsewhere)."""
    return sum(1 for e in await every_event(client, case_id) if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT)


async def run_case(dev_env, pool, task_queue: str, path: str) -> tuple[Driver, str]:
    ref = referral(name=f"Kill Test {uuid.uuid4().hex[:10]}")
    case = await Case.start(dev_env.client, pool, task_queue, ref)
    driver = Driver(dev_env.client, pool, case.id)
    expected = await PATHS[path](driver)
    if expected is not None:
        outcome = await asyncio.wait_for(case.handle.result(), driver.timeout)
        assert outcome == expected, (case.id, outcome)
    return driver, path


async def test_worker_killed_at_random_loses_and_doubles_nothing(dev_env, pool, database_url, task_queue, tmp_path: Path, capsys):
    seed = int(os.environ.get("CASEWORK_FAULT_SEED") or random.randrange(2**32))
    print(f"\nworker-kill seed: {seed} (repeat with CASEWORK_FAULT_SEED={seed})")
    rng = random.Random(seed)
    began = time.monotonic()
    config = process_config(tmp_path, activity_timeout_seconds=4)
    address = dev_env.client.service_client.config.target_host
    worker = WorkerProcess(worker_environment(database_url, address, task_queue, config=config), tmp_path / "logs")
    await worker.start()
    phases = {"worker_start": round(time.monotonic() - began, 1)}
    try:
        # The clean run: one case per path, nothing killed.
        clean = await asyncio.gather(*(run_case(dev_env, pool, task_queue, path) for path in PATHS))
        expected = {path: await fingerprint(pool, d.case_id) for d, path in clean}
        phases["clean_run"] = round(time.monotonic() - began - phases["worker_start"], 1)

        # The same paths, 54 cases at once, with the worker killed under them.
        paths = [p for p in PATHS for _ in range(CASES_PER_PATH)]
        rng.shuffle(paths)
        running = asyncio.gather(*(run_case(dev_env, pool, task_queue, p) for p in paths))
        kill_times: list[float] = []
        while not running.done() and worker.kills < KILLS:
            # A random moment, while the cases are mid-way (they take far longer than this).
            await asyncio.wait([running], timeout=rng.uniform(1.0, 3.0))
            if running.done():
                break
            worker.kill()
            kill_times.append(round(time.monotonic() - began, 1))
            await asyncio.wait([running], timeout=rng.uniform(0.0, 1.0))  # down a while
            await worker.start()
        finished = await asyncio.wait_for(running, 300)
        assert worker.kills >= min(KILLS, 3), f"only {worker.kills} kills happened before the cases finished"

        difference = Difference()
        for driver, path in finished:
            difference.add(driver.case_id, expected[path], await fingerprint(pool, driver.case_id))
        case_ids = [d.case_id for d, _ in finished] + [d.case_id for d, _ in clean]
        await check_invariants(pool, case_ids, dev_env.client)
        retries = sum((d.retries for d, _ in finished), Counter())
        lost_tasks = sum(await asyncio.gather(*(timed_out_workflow_tasks(dev_env.client, d.case_id) for d, _ in finished)))
        report(
            "worker SIGKILL", capsys, seed=seed, cases=len(finished), kills=worker.kills, kill_times_s=kill_times,
            worker_starts=worker.starts, workflow_tasks_lost_with_a_worker=lost_tasks,
            client_retries=dict(retries), duplicates_found=difference.duplicates,
            lost=difference.lost, phases_s=phases, took=f"{time.monotonic() - began:.0f} s",
        )
        assert difference.duplicates == 0 and difference.lost == 0, "\n".join(difference.details[:20])
        assert lost_tasks > 0, "no kill caught a case mid-work: the test proved nothing"
    finally:
        await worker.stop()
