"""The daily jobs' record (migration 0015): one row per run, written by the run's last
activity, listed by operators (``casework jobs``, ``GET /ops/jobs``). No personal data."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cid.db import Executor

_RECORD = (
    "INSERT INTO job_runs (job, run_key, started_at, finished_at, outcome, summary) VALUES ($1, $2, $3, $4, $5, $6)"
    " ON CONFLICT (run_key) DO NOTHING"
)


@dataclass(frozen=True)
class JobRun:
    job: str
    run_key: str
    started_at: datetime
    finished_at: datetime
    outcome: str
    summary: dict[str, Any]


async def record(conn: Executor, run: JobRun) -> None:
    """Once per run (``run_key``: the run's workflow ID): a retried activity writes nothing more."""
    await conn.execute(_RECORD, run.job, run.run_key, run.started_at, run.finished_at, run.outcome, run.summary)


async def latest(conn: Executor, *, job: str | None = None, limit: int = 20) -> list[JobRun]:
    """The most recent runs, newest first (of one job, or of all)."""
    if job is None:
        rows = await conn.fetch("SELECT * FROM job_runs ORDER BY finished_at DESC, id DESC LIMIT $1", limit)
    else:
        rows = await conn.fetch("SELECT * FROM job_runs WHERE job = $1 ORDER BY finished_at DESC, id DESC LIMIT $2",
                                job, limit)
    return [JobRun(r["job"], r["run_key"], r["started_at"], r["finished_at"], r["outcome"], _json(r["summary"]))
            for r in rows]


def _json(value: Any) -> dict[str, Any]:
    if isinstance(value, str):  # a connection without the pool's jsonb codec
        import json

        return json.loads(value)
    return dict(value)
