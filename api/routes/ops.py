"""/ops (docs/api.md, docs/operations.md): the operators' reports, for operators only
(the policy's ``operate``): the stuck-case sweep over every case, streamed, and the daily
jobs - their schedules (paused or not, next runs) and their recorded runs.

No personal data: case IDs, reason codes, stages, teams, task kinds, counts.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import datetime, timedelta, timezone
from typing import Any

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from access.policy import Action
from api.auth import Who, allow
from api.problems import problem_responses
from api.services import Svc
from casework import schedules
from activities.sweep import GRACE, REASONS, SweepReport, sweep
from cid import jobs

router = APIRouter(tags=["operations"])
NDJSON = "application/x-ndjson"


@router.get(
    "/ops/stuck", summary="The stuck-case sweep over every case, streamed (operators)",
    responses=problem_responses(401, 403) | {200: {"content": {NDJSON: {}}, "description": (
        "One JSON object a line: each finding as found ({\"reason\", \"case_id\", \"detail\"}), then the summary "
        "({\"summary\": {counts by reason, examples, what was read, seconds}}). Reasons: " + "; ".join(
            f"{code}: {text}" for code, text in REASONS.items()))}},
)
async def stuck(who: Who, svc: Svc, grace_seconds: int = Query(
        int(GRACE.total_seconds()), ge=0, le=86_400, description="How old a change must be to count (visibility lags)"),
) -> StreamingResponse:
    allow(who, Action.OPERATE)
    now = datetime.now(timezone.utc)
    grace = timedelta(seconds=grace_seconds)

    async def lines() -> AsyncIterator[bytes]:
        import time

        report = SweepReport(now)
        started = time.perf_counter()
        async for finding in sweep(svc.cases.temporal, svc.pool, now, report, grace=grace):
            yield (json.dumps({"reason": finding.reason, "case_id": finding.case_id, "detail": finding.detail}) + "\n").encode()
        report.seconds = time.perf_counter() - started
        yield (json.dumps({"summary": report.as_json()}, default=str) + "\n").encode()

    return StreamingResponse(lines(), media_type=NDJSON, headers={"Cache-Control": "no-store"})


class ScheduleOut(BaseModel):
    schedule_id: str
    workflow: str
    exists: bool
    paused: bool = Field(description="Paused by an operator: the documented way to stop a job")
    note: str
    next_runs: list[datetime]
    last_started: datetime | None


class RunOut(BaseModel):
    job: str
    run_key: str = Field(description="The run's workflow ID (its history in the Web UI)")
    started_at: datetime
    finished_at: datetime
    outcome: str
    summary: dict[str, Any]


class JobsOut(BaseModel):
    schedules: list[ScheduleOut]
    runs: list[RunOut]


@router.get("/ops/jobs", response_model=JobsOut, summary="The daily jobs: their schedules and recent runs (operators)",
            responses=problem_responses(401, 403))
async def list_jobs(who: Who, svc: Svc, limit: int = Query(20, ge=1, le=200)) -> JobsOut:
    allow(who, Action.OPERATE)
    states = await schedules.states(svc.cases.temporal)
    runs = await jobs.latest(svc.pool, limit=limit)
    return JobsOut(schedules=[ScheduleOut(**vars(s)) for s in states], runs=[RunOut(**vars(r)) for r in runs])
