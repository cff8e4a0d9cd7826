"""The daily jobs as workflows, each started by its Temporal Schedule (casework/schedules.py):
the stuck-case sweep and the retention purge.

Each run is one activity that does the work, records the run in the CID (``job_runs``) and
sets its Prometheus gauges (activities/jobs.py), then shows its summary in the Web UI
(current details). A run that fails for good is recorded too, as failed. No personal data
in any of it: counts, reasons, case IDs.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Awaitable, Callable

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.contract import JobActivityContract as J
    from casework.jobs import PURGE_JOB, RUN_TIMEOUT, SWEEP_JOB

_RETRY = RetryPolicy(initial_interval=timedelta(seconds=30), maximum_attempts=3)


def _details(job: str, summary: dict[str, Any]) -> str:
    lines = [f"**{job}**"]
    counts = summary.get("counts")
    if isinstance(counts, dict):
        lines += [f"- {reason}: {n}" for reason, n in counts.items()]
    for key in ("workflows_seen", "open_cases_seen", "purged", "due", "seconds"):
        if key in summary:
            lines.append(f"- {key.replace('_', ' ')}: {summary[key]}")
    return "\n".join(lines)


async def _run(job: str, activity: Callable[..., Awaitable[dict[str, Any]]]) -> dict[str, Any]:
    info = workflow.info()
    try:
        summary: dict[str, Any] = await workflow.execute_activity_method(
            activity, args=[info.workflow_id], start_to_close_timeout=RUN_TIMEOUT, retry_policy=_RETRY,
            summary=f"{job}: do the work, record the run")
    except ActivityError as err:
        reason = str(err.cause or err)
        await workflow.execute_activity_method(J.record_failed_job, args=[job, info.workflow_id, reason[:500]],
                                               start_to_close_timeout=timedelta(minutes=1), retry_policy=_RETRY)
        workflow.set_current_details(f"**{job}** failed: {reason[:200]}")
        raise ApplicationError(f"{job} failed: {reason[:200]}", non_retryable=True) from None
    workflow.set_current_details(_details(job, summary))
    return summary


@workflow.defn(name=SWEEP_JOB)
class SweepJob:
    """The daily stuck-case sweep over every case (activities/sweep.py)."""

    @workflow.run
    async def run(self) -> dict[str, Any]:
        return await _run("sweep", J.run_sweep_job)


@workflow.defn(name=PURGE_JOB)
class RetentionPurgeJob:
    """The daily retention purge (cid/retention.py): closed cases past the period lose their personal data."""

    @workflow.run
    async def run(self) -> dict[str, Any]:
        return await _run("purge", J.run_purge_job)


JOB_WORKFLOWS = (SweepJob, RetentionPurgeJob)
