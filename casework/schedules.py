"""The daily jobs' Temporal Schedules, made idempotently: created when missing, updated when
our definition changed, left alone otherwise (``casework up``, and the cluster's
``casework-schedules`` job in docker-compose.yml: ``python -m casework.schedules``).

Why these settings (docs/operations.md, "Daily jobs"):

- times in UTC, at night: the sweep at 02:30, the purge at 03:30;
- overlap SKIP: a run still going when the next falls due means something is wrong; a
  second run beside it would only double the load;
- catch-up window six hours: after an outage the missed night's run still happens when the
  server is back that morning; one missed for longer is skipped (the next night's does the
  same work), never a backlog of runs (the SDK's default window is a year);
- a schedule paused by an operator stays paused: an update never unpauses it. Pausing is
  the documented way to stop a job (``temporal schedule toggle --pause``, or the Web UI).

Whether our definition changed is told by a hash of it kept in the schedule's action (the
memo its runs start with), not by comparing the server's normalised spec with ours.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleSpec,
    ScheduleState,
    ScheduleUpdate,
    ScheduleUpdateInput,
)

from casework.jobs import PURGE_JOB, RUN_TIMEOUT, SWEEP_JOB

CATCHUP_WINDOW = timedelta(hours=6)
MEMO_KEY = "casework-definition"


@dataclass(frozen=True)
class Job:
    schedule_id: str
    workflow: str
    cron: str
    note: str


JOBS = (
    Job("casework-sweep", SWEEP_JOB, "30 2 * * *", "The daily stuck-case sweep (docs/operations.md, Daily jobs)"),
    Job("casework-retention-purge", PURGE_JOB, "30 3 * * *", "The daily retention purge (docs/privacy.md, Retention)"),
)


def definition(job: Job, task_queue: str) -> dict[str, Any]:
    """Everything of ours a schedule is made from; its hash says whether an update is due."""
    return {"workflow": job.workflow, "cron": job.cron, "task_queue": task_queue, "overlap": "skip",
            "catchup_seconds": int(CATCHUP_WINDOW.total_seconds()), "run_timeout_seconds": int(RUN_TIMEOUT.total_seconds())}


def fingerprint(job: Job, task_queue: str) -> str:
    return hashlib.sha256(json.dumps(definition(job, task_queue), sort_keys=True).encode()).hexdigest()[:16]


def schedule_of(job: Job, task_queue: str, *, paused: bool = False, note: str | None = None) -> Schedule:
    return Schedule(
        action=ScheduleActionStartWorkflow(job.workflow, id=f"{job.schedule_id}-run", task_queue=task_queue,
                                           execution_timeout=RUN_TIMEOUT * 2,
                                           memo={MEMO_KEY: fingerprint(job, task_queue)}),
        spec=ScheduleSpec(cron_expressions=[job.cron]),
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP, catchup_window=CATCHUP_WINDOW),
        state=ScheduleState(paused=paused, note=note if note is not None else job.note),
    )


async def ensure(client: Client, task_queue: str, jobs: tuple[Job, ...] = JOBS) -> dict[str, str]:
    """Each job's schedule as defined here: {schedule ID: created | updated | unchanged}."""
    done: dict[str, str] = {}
    for job in jobs:
        mark = fingerprint(job, task_queue)
        try:
            await client.create_schedule(job.schedule_id, schedule_of(job, task_queue))
            done[job.schedule_id] = "created"
            continue
        except ScheduleAlreadyRunningError:
            pass  # made before: bring it up to date if our definition changed
        handle = client.get_schedule_handle(job.schedule_id)
        if await _mark_of(client, (await handle.describe()).schedule.action) == mark:
            done[job.schedule_id] = "unchanged"
            continue

        def update(current: ScheduleUpdateInput, job: Job = job) -> ScheduleUpdate:
            state = current.description.schedule.state  # paused stays paused, the operator's note stays
            return ScheduleUpdate(schedule=schedule_of(job, task_queue, paused=state.paused, note=state.note))

        await handle.update(update)
        done[job.schedule_id] = "updated"
    return done


async def _mark_of(client: Client, action: Any) -> str | None:
    """The fingerprint a described schedule's action carries (its memo comes back as payloads,
    sealed by the client's codec like any other)."""
    from temporalio.api.common.v1 import Payload

    value = (getattr(action, "memo", None) or {}).get(MEMO_KEY)
    if not isinstance(value, Payload):
        return value
    [mark] = await client.data_converter.decode([value])
    return mark


@dataclass(frozen=True)
class JobState:
    schedule_id: str
    workflow: str
    paused: bool
    note: str
    next_runs: list[datetime]
    last_started: datetime | None
    exists: bool = True


async def states(client: Client, jobs: tuple[Job, ...] = JOBS) -> list[JobState]:
    """Each job's schedule as the server has it: paused or not, next runs, last start."""
    from temporalio.service import RPCError, RPCStatusCode

    found = []
    for job in jobs:
        try:
            d = await client.get_schedule_handle(job.schedule_id).describe()
        except RPCError as err:
            # Missing, or a server without schedules (the time-skipping test server): said, not raised.
            note = "no such schedule" if err.status is RPCStatusCode.NOT_FOUND else f"cannot be read: {err.status.name if err.status else err}"
            found.append(JobState(job.schedule_id, job.workflow, False, note, [], None, exists=False))
            continue
        recent = d.info.recent_actions
        found.append(JobState(job.schedule_id, job.workflow, d.schedule.state.paused, d.schedule.state.note or "",
                              list(d.info.next_action_times[:3]), recent[-1].started_at if recent else None))
    return found


async def ensure_with(settings: Any) -> str:
    """``ensure`` on a client of its own (``casework.temporal.TemporalSettings``), said in a line."""
    from casework.temporal import connect

    done = await ensure(await connect(settings), settings.task_queue)
    return ", ".join(f"{schedule_id} {what}" for schedule_id, what in done.items())


def main() -> None:
    """``python -m casework.schedules``: the cluster's one-shot job (docker-compose.yml)."""
    import asyncio
    import sys

    from casework.temporal import TemporalSettings

    try:
        line = asyncio.run(ensure_with(TemporalSettings.from_environment()))
    except (OSError, RuntimeError) as err:
        print(f"casework.schedules: {err}", file=sys.stderr)
        raise SystemExit(5) from None
    print(f"casework.schedules: {line}")


if __name__ == "__main__":
    main()
