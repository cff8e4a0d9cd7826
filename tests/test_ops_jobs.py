"""Issue 22: the daily jobs as Temporal Schedules (casework/schedules.py, workflows/jobs.py).

On a dev server of its own and a CID of its own, with the worker service as it runs in
``casework-worker`` (metrics on a port): setting the schedules up twice makes each once;
a changed definition is updated (a paused schedule stays paused); a triggered run records
its result (a ``job_runs`` row listed by ``casework jobs`` and ``GET /ops/jobs``, the
gauges, the Web UI's current details); a paused schedule starts nothing.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path
from typing import AsyncIterator

import aiohttp
import asyncpg
import pytest
from temporalio.client import Client

from casework import metrics, schedules
from casework.temporal import TemporalSettings
from cid import jobs
from tests.cli_support import Casework, cli_environment
from tests.ops_support import free_port, ops_server, own_cid_of, total
from local_stack.polling import until
from worker.service import serve

pytestmark = pytest.mark.devserver


@pytest.fixture(scope="module")
async def ops_env():  # noqa: ANN201
    async with ops_server() as env:
        yield env


@pytest.fixture(scope="module")
async def own_cid(database_url: str) -> AsyncIterator[tuple[str, asyncpg.Pool]]:
    async with own_cid_of(database_url, 2) as cid:  # <name>_scale_2
        yield cid


async def _ours(client: Client) -> list[str]:
    ids = {job.schedule_id for job in schedules.JOBS}
    return sorted([s.id async for s in await client.list_schedules() if s.id in ids])


async def _runs(pool: asyncpg.Pool, job: str) -> list[jobs.JobRun]:
    return await jobs.latest(pool, job=job)


async def test_schedules_made_once_updated_triggered_and_paused(ops_env, own_cid, pool, task_queue, tmp_path: Path) -> None:
    client: Client = ops_env.client
    dsn, cid = own_cid
    assert await schedules.ensure(client, task_queue) == {j.schedule_id: "created" for j in schedules.JOBS}
    assert await schedules.ensure(client, task_queue) == {j.schedule_id: "unchanged" for j in schedules.JOBS}
    assert await _ours(client) == sorted(j.schedule_id for j in schedules.JOBS)  # no duplicate

    # A changed definition (another time) is updated in place; an operator's pause survives it.
    sweep_job, purge_job = schedules.JOBS
    sweep = client.get_schedule_handle(sweep_job.schedule_id)
    await sweep.pause(note="paused by the test")
    moved = (replace(sweep_job, cron="45 4 * * *"), purge_job)
    assert (await schedules.ensure(client, task_queue, moved))[sweep_job.schedule_id] == "updated"
    described = await sweep.describe()
    assert described.schedule.spec.cron_expressions == ["45 4 * * *"] or "45" in str(described.schedule.spec)
    assert described.schedule.state.paused and described.schedule.state.note == "paused by the test"
    assert described.schedule.policy.catchup_window == schedules.CATCHUP_WINDOW
    assert (await schedules.ensure(client, task_queue, moved))[sweep_job.schedule_id] == "unchanged"
    assert (await schedules.ensure(client, task_queue))[sweep_job.schedule_id] == "updated"  # back as defined
    states = {s.schedule_id: s for s in await schedules.states(client)}
    assert states[sweep_job.schedule_id].paused and not states[purge_job.schedule_id].paused
    await sweep.unpause()

    # A run, triggered as an operator would, through the worker service (metrics served).
    metrics_port = free_port()
    stop, started = asyncio.Event(), asyncio.Event()
    host = client.service_client.config.target_host
    service = asyncio.create_task(serve(dsn, TemporalSettings.local(host, task_queue=task_queue), stop, started,
                                        metrics_address=f"127.0.0.1:{metrics_port}"))
    try:
        await asyncio.wait_for(started.wait(), 30)
        await sweep.trigger()
        await client.get_schedule_handle(purge_job.schedule_id).trigger()
        await until(lambda: _runs(cid, "sweep"), "the sweep run recorded", timeout=60)
        await until(lambda: _runs(cid, "purge"), "the purge run recorded", timeout=60)
        [swept], [purged] = await _runs(cid, "sweep"), await _runs(cid, "purge")
        assert swept.outcome == "ok" and set(swept.summary["counts"]) == {
            "overdue_task", "workflow_not_running", "no_cid_case", "cid_closed_workflow_running", "attributes_disagree"}
        assert purged.outcome == "ok" and purged.summary["purged"] == 0
        async with aiohttp.ClientSession() as http:
            async with http.get(f"http://127.0.0.1:{metrics_port}/metrics") as answer:
                text = await answer.text()
        assert total(text, metrics.STUCK_CASES, reason="workflow_not_running") == swept.summary["counts"]["workflow_not_running"]
        assert f"{metrics.RETENTION_PURGED}" in text
        # The run's own summary, in the Web UI (its current details).
        from temporalio.api.sdk.v1 import WorkflowMetadata

        shown = await client.get_workflow_handle(swept.run_key).query("__temporal_workflow_metadata",
                                                                       result_type=WorkflowMetadata)
        assert shown.current_details.startswith("**sweep**") and "workflow_not_running" in shown.current_details

        # Paused: the schedule starts nothing. Made to run every second first, to see it run.
        every_second = (replace(sweep_job, cron="@every 1s"), purge_job)
        assert (await schedules.ensure(client, task_queue, every_second))[sweep_job.schedule_id] == "updated"

        async def actions() -> int:
            return (await sweep.describe()).info.num_actions

        running = await actions()
        await until(actions, "the every-second schedule to start runs", timeout=30, holds=lambda n: n >= running + 2)
        await sweep.pause(note="stopped by the operator")
        await asyncio.sleep(1.5)  # a start already under way when it was paused
        before = await actions()
        await asyncio.sleep(3)
        described = await sweep.describe()
        assert described.schedule.state.paused and described.info.num_actions == before
        assert (await schedules.ensure(client, task_queue))[sweep_job.schedule_id] == "updated"  # as defined, still paused

        env = cli_environment(dsn, host, task_queue, tmp_path / "data")
        listing = (await Casework(env, pool, tmp_path).ok("jobs", "--json")).json()
        assert {s["schedule_id"]: s["paused"] for s in listing["schedules"]} == {
            sweep_job.schedule_id: True, purge_job.schedule_id: False}
        assert {r["job"] for r in listing["runs"]} == {"sweep", "purge"}
        text = (await Casework(env, pool, tmp_path).ok("jobs")).out
        assert "paused" in text and "sweep" in text
    finally:
        stop.set()
        await asyncio.wait_for(service, 30)
        for job in schedules.JOBS:
            await client.get_schedule_handle(job.schedule_id).delete()
