"""The daily jobs' activities (workflows/jobs.py): do the work, record the run in the CID
(``cid.jobs``, keyed by the run's workflow ID: a retry records once), set the gauges.

The gauges go through the worker's Temporal runtime (its Prometheus endpoint, with the
SDK's own metrics): ``casework_stuck_cases{reason}`` after each sweep and
``casework_retention_purged`` after each purge. Labels: a reason code, never a case.

The sweep reads with the worker's own login. The purge changes personal data the worker's
login may not touch (migration 0005): it needs the owner's login (``purge_pool``, given
when the worker holds ``DATABASE_URL``, as under ``casework up``); without one its run
is recorded as failed, saying so (docs/operations.md, "Daily jobs").
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import asyncpg
from temporalio import activity

from casework import config, metrics
from activities.contract import JobActivityContract
from activities.sweep import sweep_report
from cid import jobs, retention

PURGE_ACTOR = "system:retention-job"


class JobActivities(JobActivityContract):
    def __init__(self, pool: asyncpg.Pool, purge_pool: asyncpg.Pool | None = None) -> None:
        self.pool = pool
        self.purge_pool = purge_pool

    async def _record(self, job: str, run_key: str, started: datetime, outcome: str, summary: dict[str, Any]) -> None:
        await jobs.record(self.pool, jobs.JobRun(job, run_key, started, datetime.now(timezone.utc), outcome, summary))

    @activity.defn
    async def run_sweep_job(self, run_key: str) -> dict[str, Any]:
        started = datetime.now(timezone.utc)
        report = await sweep_report(activity.client(), self.pool, started)
        summary = {k: v for k, v in report.as_json().items() if k != "reasons"}
        gauge = activity.metric_meter().create_gauge(metrics.STUCK_CASES, "Cases the last sweep found stuck, by reason")
        for reason, count in report.counts.items():
            gauge.with_additional_attributes({"reason": reason}).set(count)
        await self._record("sweep", run_key, started, "ok", summary)
        return summary

    @activity.defn
    async def run_purge_job(self, run_key: str) -> dict[str, Any]:
        started = datetime.now(timezone.utc)
        if self.purge_pool is None:
            raise RuntimeError("the retention purge needs the owner's login (DATABASE_URL) on the worker running the jobs")
        period = config.RetentionSettings.read().period
        due = await retention.purge_expired(self.purge_pool, now=started, retention=period, actor=PURGE_ACTOR, dry_run=True)
        purged = await retention.purge_expired(self.purge_pool, now=started, retention=period, actor=PURGE_ACTOR)
        summary = {"due": len(due), "purged": len(purged), "retention_days": period.days,
                   "cases": [p.case_id for p in purged[:20]]}
        activity.metric_meter().create_gauge(metrics.RETENTION_PURGED, "Cases the last retention purge purged").set(len(purged))
        await self._record("purge", run_key, started, "ok", summary)
        return summary

    @activity.defn
    async def record_failed_job(self, job: str, run_key: str, reason: str) -> None:
        await self._record(job, run_key, datetime.now(timezone.utc), "failed", {"reason": reason})
