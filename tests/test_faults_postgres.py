"""The CID (PostgreSQL) stopped for a while under running cases: they stall, then resume.

A PostgreSQL of this test's own (embedded) serves a real ``casework-worker`` process.
Cases make progress; the database is stopped with ``pg_ctl`` while each case is being
told the outcome of its NBTC check; their activities fail and retry with backoff
(workflows/record.py ACTIVITY_RETRY: 1 s doubling to at most 1 min, forever) and nothing
moves; the database comes back on the same socket, and every case resumes - with the
same worker process, whose asyncpg pool replaced its broken connections - and ends with
exactly the CID rows of a case that never saw the outage.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
import time
import uuid
from pathlib import Path

from temporalio.api.enums.v1 import PendingActivityState

from cid.db import create_pool, migrate_dsn
from tests.fault_support import (
    Difference,
    Driver,
    EmbeddedPostgres,
    WorkerProcess,
    check_invariants,
    fingerprint,
    process_config,
    report,
    until,
    worker_environment,
)
from tests.support import Case, referral
from workflows.record import ACTIVITY_RETRY
from workflows.client import CaseClient

CASES = 12
OUTAGE_SECONDS = 5.0


async def after_nbtc(d: Driver) -> None:
    """The rest of the walk (R13-R23): marker and ICE, located, allocated, history checked."""
    await d.open_task("ice_tasking")
    await d.located("ice-found-1", custody="detained")
    await d.complete("allocate_case_owner", "allocated", case_owner="co.smith")
    await d.complete("offending_history_check", "full_history_on_pnc")
    await d.open_task("police_contact")


async def _knows_task(d: Driver, key: str) -> bool:
    view = await CaseClient(d.client).view(d.case_id)
    return any(t.key == key for t in view.open_tasks)


async def retrying_activity(d: Driver) -> bool:
    """The case has an activity that failed at least once and is waiting to retry."""
    description = await d.client.get_workflow_handle(d.case_id).describe()
    return any(
        a.attempt >= 2 and a.state in (PendingActivityState.PENDING_ACTIVITY_STATE_SCHEDULED,
                                       PendingActivityState.PENDING_ACTIVITY_STATE_STARTED)
        for a in description.raw_description.pending_activities
    )


async def test_cid_outage_stalls_cases_which_resume_with_nothing_lost(dev_env, task_queue, tmp_path: Path, capsys):
    began = time.monotonic()
    # Not under tmp_path: pytest makes that 0700, and the server runs as its own system user.
    pg_folder = Path(tempfile.mkdtemp(prefix="casework-fault-pg-"))
    pg = await asyncio.to_thread(EmbeddedPostgres, pg_folder)
    await migrate_dsn(pg.dsn)
    pool = await create_pool(pg.dsn, max_size=6)  # the test's own reads
    address = dev_env.client.service_client.config.target_host
    config = process_config(tmp_path, activity_timeout_seconds=4)
    worker = WorkerProcess(worker_environment(pg.dsn, address, task_queue, config=config), tmp_path / "logs")
    await worker.start()
    pid = worker.pid
    try:
        async def start() -> tuple[Driver, str]:
            case = await Case.start(dev_env.client, pool, task_queue, referral(name=f"Outage Test {uuid.uuid4().hex[:10]}"))
            driver = Driver(dev_env.client, pool, case.id)
            return driver, await driver.open_task("nbtc_check")  # progress before the outage

        # A clean run of the whole walk, and the cases that will meet the outage.
        clean, _ = await start()
        await clean.complete("nbtc_check", "in_uk")
        await after_nbtc(clean)
        started = await asyncio.gather(*(start() for _ in range(CASES)))
        drivers = [d for d, _ in started]
        # The workflows have seen their NBTC tasks open (the CID cannot be asked during the outage).
        for d, key in started:
            await until(lambda d=d, key=key: _knows_task(d, key), f"{d.case_id} waits on {key}", 60, 0.2)

        # Down: every case is told its NBTC outcome; the update's activity cannot commit.
        await pg.stop()
        down = time.monotonic()
        updates = [asyncio.ensure_future(d.complete("nbtc_check", "in_uk", key=key)) for d, key in started]
        for d in drivers:  # stalled: each has a failed activity waiting to retry
            await until(lambda d=d: retrying_activity(d), f"{d.case_id} retrying while the CID is down", 60, 0.3)
        assert not any(u.done() for u in updates), "an update completed while the CID was down"
        await asyncio.sleep(max(0.0, OUTAGE_SECONDS - (time.monotonic() - down)))  # the outage itself
        await pg.start()
        up = time.monotonic()

        # Back: every case resumes within the retry policy's longest interval (plus slack).
        limit = ACTIVITY_RETRY.maximum_interval.total_seconds() + 30  # type: ignore[union-attr]
        await asyncio.wait_for(asyncio.gather(*updates), limit)
        resumed = time.monotonic() - up
        await asyncio.gather(*(after_nbtc(d) for d in drivers))

        assert worker.alive() and worker.pid == pid and worker.starts == 1, "the worker had to be restarted"
        expected = await fingerprint(pool, clean.case_id)
        difference = Difference()
        for d in drivers:
            difference.add(d.case_id, expected, await fingerprint(pool, d.case_id))
        await check_invariants(pool, [clean.case_id] + [d.case_id for d in drivers], dev_env.client)
        report(
            "CID outage", capsys, cases=len(drivers), outages=1, outage_s=round(up - down, 1),
            resumed_within_s=round(resumed, 1), worker_restarts=worker.starts - 1,
            duplicates_found=difference.duplicates, lost=difference.lost, took=f"{time.monotonic() - began:.0f} s",
        )
        assert difference.duplicates == 0 and difference.lost == 0, "\n".join(difference.details[:20])
    finally:
        await worker.stop()
        await pool.close()
        await pg.stop()
        shutil.rmtree(pg_folder, ignore_errors=True)
