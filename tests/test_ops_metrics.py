"""The worker as a service: Prometheus metrics that move as cases move, and a readiness
check that follows Temporal and the CID as they come and go.

``serve()`` runs as it does in ``casework-worker``, with its metrics and health
endpoints on free ports. It reaches the dev server and the CID through TCP forwarders
that the test can cut, as a network or a server would.
"""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp

from casework import metrics
from casework.temporal import TemporalSettings
from tests.ops_support import Forwarder, database_through, free_port, samples, total
from tests.support import Case, referral, until
from worker.service import serve

NAME = "Zbigniew Qwertyukowski"
DOB = "1971-04-13"
#: The only labels our counters may carry: where they come from, and a stage or task kind.
ALLOWED_LABELS = {"namespace", "service_name", "task_queue", "workflow_type", "stage", "kind", "closed_from"}
OURS = [metrics.CASES_STARTED, metrics.STAGE_TRANSITIONS, metrics.TASKS_OPENED, metrics.TASKS_ESCALATED, metrics.CASES_CLOSED]


async def _get(session: aiohttp.ClientSession, url: str) -> tuple[int, Any]:
    async with session.get(url, timeout=aiohttp.ClientTimeout(total=10)) as response:
        body = await (response.json() if response.content_type == "application/json" else response.text())
        return response.status, body


async def test_worker_service_metrics_and_readiness(dev_env, pool, database_url, task_queue):
    """Our counters (cases started, stage transitions, tasks opened) go up as a case
    moves (R10 -> R13/R14), with labels that carry no case and no person; /ready is 200
    with Temporal and the CID up, 503 naming whichever is down, 200 again when it is back."""
    host, _, port = dev_env.client.service_client.config.target_host.rpartition(":")
    temporal = Forwarder((host or "127.0.0.1", int(port)))
    database, database_url_through = database_through(database_url)
    await temporal.restore()
    await database.restore()
    metrics_url = f"http://127.0.0.1:{free_port()}/metrics"
    health_port = free_port()
    ready_url, live_url = f"http://127.0.0.1:{health_port}/ready", f"http://127.0.0.1:{health_port}/live"
    stop, started = asyncio.Event(), asyncio.Event()
    service = asyncio.create_task(serve(
        database_url_through, TemporalSettings.local(temporal.address, task_queue=task_queue), stop, started,
        metrics_address=metrics_url.split("/")[2], health_address=f"127.0.0.1:{health_port}",
    ))
    try:
        await asyncio.wait_for(started.wait(), 15)
        async with aiohttp.ClientSession() as http:
            scrape = lambda: _get(http, metrics_url)  # noqa: E731

            async def count(name: str, **labels: str) -> float:
                return total((await scrape())[1], name, task_queue=task_queue, **labels)

            status, _ = await scrape()
            assert status == 200
            before = {
                "started": await count(metrics.CASES_STARTED),
                "to_b": await count(metrics.STAGE_TRANSITIONS, stage="B-first-actions"),
                "nbtc": await count(metrics.TASKS_OPENED, kind="nbtc_check"),
                "ice": await count(metrics.TASKS_OPENED, kind="ice_tasking"),
            }
            case = await Case.start(dev_env.client, pool, task_queue, referral(name=NAME, date_of_birth=DOB))
            await case.complete("nbtc_check", "in_uk")  # R10 -> R13/R14: ICD.5079 and ICE tasking
            await case.task("ice_tasking")
            text = await until(scrape, "ice_tasking counted", 10, 0.2, holds=lambda r: total(
                r[1], metrics.TASKS_OPENED, task_queue=task_queue, kind="ice_tasking") > before["ice"])
            text = text[1]
            after = {
                "started": total(text, metrics.CASES_STARTED, task_queue=task_queue),
                "to_b": total(text, metrics.STAGE_TRANSITIONS, task_queue=task_queue, stage="B-first-actions"),
                "nbtc": total(text, metrics.TASKS_OPENED, task_queue=task_queue, kind="nbtc_check"),
                "ice": total(text, metrics.TASKS_OPENED, task_queue=task_queue, kind="ice_tasking"),
            }
            for name in before:
                assert before[name] < after[name], (name, before, after)
            assert after["started"] - before["started"] == 1
            # The SDK's own metrics share the endpoint (task latencies, slots, polls).
            assert any(line.startswith("temporal_") and task_queue in line for line in text.splitlines())

            # No label names a case or a person: only where the count comes from, a stage, a kind.
            personal = [case.id, case.referral.acro_reference, NAME, *NAME.split(), DOB]
            for name in OURS:
                for labels, _ in samples(text, name):
                    assert set(labels) <= ALLOWED_LABELS, (name, labels)
                    for value in labels.values():
                        assert not any(p.lower() in value.lower() for p in personal), (name, labels)

            # Readiness follows Temporal and the CID.
            assert await _get(http, live_url) == (200, {"status": "live"})
            assert await _get(http, ready_url) == (200, {"status": "ready"})
            await database.cut()
            status, body = await until(lambda: _get(http, ready_url), "503 without the CID", 10, 0.2, holds=lambda r: r[0] == 503)
            assert set(body["problems"]) == {"database"}, body
            assert (await _get(http, live_url))[0] == 200  # alive all the same: not a reason to restart it
            await database.restore()
            await until(lambda: _get(http, ready_url), "ready again with the CID back", 15, 0.2, holds=lambda r: r[0] == 200)
            await temporal.cut()
            status, body = await until(lambda: _get(http, ready_url), "503 without Temporal", 10, 0.2, holds=lambda r: r[0] == 503)
            assert set(body["problems"]) == {"temporal"}, body
            await temporal.restore()
            await until(lambda: _get(http, ready_url), "ready again with Temporal back", 15, 0.2, holds=lambda r: r[0] == 200)
            await case.handle.terminate(reason="test finished")
    finally:
        for forwarder in (database, temporal):
            if not forwarder.listening:
                await forwarder.restore()
        stop.set()
        await asyncio.wait_for(service, 30)
        await temporal.cut()
        await database.cut()
