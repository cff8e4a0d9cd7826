"""Acting on cases as people and other systems do: task completions (the ``complete_task``
update) and messages, through the one client (``workflows.client.CaseClient``). Task keys
are the workflow's own: ``<kind>-<n>``."""

from __future__ import annotations

import asyncio
import statistics
import uuid
from typing import Any

from temporalio.client import Client, WorkflowUpdateFailedError

from casework.case import PersonLocated, RepresentationsReceived, TaskCompletion
from workflows.client import CaseClient


async def complete(
    client: Client, case_id: str, key: str, outcome: str, actor: str = "bench.caseworker",
    *, attempts: int = 200, **details: Any,
) -> None:
    """Complete task ``key``; while the case has not opened it yet, try again shortly.

    The CID inbox row is written by the activity, a moment before the workflow records
    the task as open; the validator refuses until then (and nothing is written)."""
    cases = CaseClient(client)
    for _ in range(attempts):
        try:
            await cases.complete_task(case_id, TaskCompletion(task_key=key, outcome=outcome, actor=actor, details=details))
            return
        except WorkflowUpdateFailedError as err:
            if "has no open task" not in str(getattr(err.cause, "message", err.cause)):
                raise
            await asyncio.sleep(0.1)
    raise TimeoutError(f"{case_id}: task {key} never opened")


async def located(client: Client, case_id: str, event_id: str | None = None, **fields: Any) -> str:
    event_id = event_id or uuid.uuid4().hex
    await CaseClient(client).send_event(case_id, PersonLocated(event_id=event_id, actor="ice.system", **fields))
    return event_id


async def representations(client: Client, case_id: str) -> None:
    await CaseClient(client).send_event(
        case_id, RepresentationsReceived(event_id=uuid.uuid4().hex, actor="bench.caseworker"))


async def bounded(limit: int, jobs: list, on_done=None) -> list:  # noqa: ANN001
    """Run coroutine factories ``jobs`` at most ``limit`` at a time, in order of the list."""
    gate = asyncio.Semaphore(limit)

    async def one(job):  # noqa: ANN001, ANN202
        async with gate:
            result = await job()
        if on_done is not None:
            on_done()
        return result

    return list(await asyncio.gather(*(one(j) for j in jobs)))


def quantile(values: list[float], q: float) -> float:
    """The ``q`` quantile of latencies (inclusive method; NaN for none): one definition of
    p50 and p95 for every phase."""
    if not values:
        return float("nan")
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[round(q * 100) - 1]
