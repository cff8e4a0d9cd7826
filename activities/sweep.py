"""The stuck-case sweep over every case: what ``casework stuck --sweep``, ``GET /ops/stuck``
and the daily sweep job (workflows/jobs.py) run.

Streamed, in bounded memory, with no round trip to Temporal per case:

1. every running case workflow, from Temporal's visibility in pages (``list_workflows``),
   each page looked up in the CID in one query: a workflow whose case row is missing, one
   the CID says is closed, one whose search attributes (stage, team, overdue) disagree;
2. every case the CID holds as not closed, a page of IDs at a time (``cid.sweep``), each
   page asked of visibility in one query (``WorkflowId IN (...)``, every run; the latest
   decides): a case whose workflow is gone, or has failed, been terminated or otherwise ended;
3. every open human task overdue or past due (``cid.sweep.overdue_tasks``).

Each finding is a case ID, a reason code and a few words without personal data (stage,
team, status, task kind). Visibility lags the workflows by a moment, so a case changed in
the last ``GRACE`` is not called disagreeing or missing. ``sweep`` yields the findings
as it goes; ``SweepReport`` keeps the counts and the first few IDs of each reason.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

import asyncpg
from temporalio.client import Client

from casework import search
from casework.keys import WORKFLOW_TYPE
from cid import sweep as cid_sweep

CASES = f'WorkflowType = "{WORKFLOW_TYPE}"'
RUNNING = f'{CASES} AND ExecutionStatus = "Running"'
#: Visibility is eventually consistent: changes younger than this are not findings yet.
GRACE = timedelta(minutes=5)
RPC_TIMEOUT = timedelta(seconds=30)
#: Workflows per visibility page (the server's own maximum is 1,000).
VISIBILITY_PAGE = 1000
#: Case IDs a report keeps per reason (the counts are complete).
EXAMPLES = 20

#: The reasons, each said in words once (the CLI's table, the API's documents, the job's summary).
REASONS: dict[str, str] = {
    "overdue_task": "a human task of an open case is overdue or past due",
    "workflow_not_running": "the CID says open, but the workflow is gone or has ended (failed, terminated, ...)",
    "no_cid_case": "a case workflow is running, but the CID has no case row for it",
    "cid_closed_workflow_running": "the CID says closed, but the workflow is still running",
    "attributes_disagree": "the workflow's search attributes (stage, team, overdue) disagree with the CID",
}


@dataclass(frozen=True)
class Finding:
    reason: str
    case_id: str
    detail: str


@dataclass
class SweepReport:
    """What one sweep found: complete counts, the first ``EXAMPLES`` case IDs of each reason."""

    checked_at: datetime
    workflows_seen: int = 0
    open_cases_seen: int = 0
    overdue_tasks_seen: int = 0
    counts: dict[str, int] = field(default_factory=lambda: {r: 0 for r in REASONS})
    examples: dict[str, list[str]] = field(default_factory=lambda: {r: [] for r in REASONS})
    #: workflow_not_running by what Temporal says (NOT_FOUND, FAILED, TERMINATED, ...).
    not_running_by_status: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    def add(self, finding: Finding) -> None:
        self.counts[finding.reason] += 1
        if len(self.examples[finding.reason]) < EXAMPLES:
            self.examples[finding.reason].append(finding.case_id)

    @property
    def stuck(self) -> int:
        return sum(self.counts.values())

    def as_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["checked_at"] = self.checked_at.isoformat()
        out["reasons"] = REASONS
        return out


def _attribute_disagreements(attributes: Any, state: cid_sweep.CaseState) -> list[str]:
    """Which of stage, team and overdue the search attributes give differently from the CID."""
    differ = []
    stage = attributes.get(search.CASE_STAGE)
    if stage is not None and stage != state.stage:
        differ.append(f"stage {stage} in Temporal, {state.stage} in the CID")
    team = attributes.get(search.TEAM)
    if team != state.team and not (team is None and state.team is None):
        differ.append(f"team {team} in Temporal, {state.team} in the CID")
    overdue = attributes.get(search.OVERDUE)
    if overdue is not None and bool(overdue) != state.overdue:
        differ.append(f"overdue {str(bool(overdue)).lower()} in Temporal, {str(state.overdue).lower()} in the CID")
    return differ


def _quoted(ids: list[str]) -> str:
    return ", ".join(f'"{i}"' for i in ids if '"' not in i and "\\" not in i)


async def _running_page(conn: asyncpg.Connection, page: list[Any], now: datetime, grace: timedelta) -> list[Finding]:
    states = await cid_sweep.states(conn, [w.id for w in page])
    found = []
    for workflow in page:
        state = states.get(workflow.id)
        young = workflow.start_time is not None and now - workflow.start_time < grace
        if state is None:
            if not young:
                found.append(Finding("no_cid_case", workflow.id, "workflow running, no case row in the CID"))
            continue
        if now - state.updated_at < grace:
            continue
        if state.status == "closed":
            found.append(Finding("cid_closed_workflow_running", workflow.id, "CID closed, workflow running"))
            continue
        differ = _attribute_disagreements(workflow.typed_search_attributes, state)
        if differ:
            found.append(Finding("attributes_disagree", workflow.id, "; ".join(differ)))
    return found


async def latest_runs(client: Client, ids: list[str]) -> dict[str, Any]:
    """The latest run of each of these case workflows, from one visibility query per 500
    IDs (every run of each: continued runs share the ID); IDs with none are absent."""
    latest: dict[str, Any] = {}
    for start in range(0, len(ids), cid_sweep.PAGE):
        query = f"{CASES} AND WorkflowId IN ({_quoted(ids[start:start + cid_sweep.PAGE])})"
        async for execution in client.list_workflows(query, page_size=VISIBILITY_PAGE, rpc_timeout=RPC_TIMEOUT):
            known = latest.get(execution.id)
            if known is None or (execution.start_time or _EPOCH) >= (known.start_time or _EPOCH):
                latest[execution.id] = execution
    return latest


_EPOCH = datetime.min.replace(tzinfo=timezone.utc)


def status_of(execution: Any) -> str:
    return execution.status.name if execution.status is not None else "UNKNOWN"


async def _not_running(client: Client, ids: list[str]) -> list[Finding]:
    """Of these open cases, those whose workflow does not run, with what Temporal says."""
    latest = await latest_runs(client, ids)
    return [Finding("workflow_not_running", i, status_of(latest[i]) if i in latest else "NOT_FOUND")
            for i in ids if i not in latest or status_of(latest[i]) != "RUNNING"]


async def sweep(client: Client, pool: asyncpg.Pool, now: datetime, report: SweepReport | None = None, *,
                grace: timedelta = GRACE) -> AsyncIterator[Finding]:
    """Every finding, as found (see the module's docstring). ``report``, when given, is
    kept up to date: counts, examples and how much was seen."""
    report = report or SweepReport(now)
    async with pool.acquire() as conn:
        page: list[Any] = []
        async for execution in client.list_workflows(RUNNING, page_size=VISIBILITY_PAGE, rpc_timeout=RPC_TIMEOUT):
            report.workflows_seen += 1
            page.append(execution)
            if len(page) >= cid_sweep.PAGE:
                for finding in await _running_page(conn, page, now, grace):
                    report.add(finding)
                    yield finding
                page = []
        if page:
            for finding in await _running_page(conn, page, now, grace):
                report.add(finding)
                yield finding
        async for ids in cid_sweep.open_case_pages(conn):
            report.open_cases_seen += len(ids)
            for finding in await _not_running(client, ids):
                report.add(finding)
                report.not_running_by_status[finding.detail] = report.not_running_by_status.get(finding.detail, 0) + 1
                yield finding
        async for task in cid_sweep.overdue_tasks(conn, now):
            report.overdue_tasks_seen += 1
            since = task.due_at.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M")
            finding = Finding("overdue_task", task.case_id,
                              f"task {task.kind} ({task.team}) {'overdue' if task.escalated else 'past due'} since {since} UTC")
            report.add(finding)
            yield finding


async def sweep_report(client: Client, pool: asyncpg.Pool, now: datetime | None = None, *,
                       grace: timedelta = GRACE) -> SweepReport:
    """Run the whole sweep and keep only the report (counts and examples)."""
    import time

    now = now or datetime.now(timezone.utc)
    report = SweepReport(now)
    started = time.perf_counter()
    async for _ in sweep(client, pool, now, report, grace=grace):
        pass
    report.seconds = time.perf_counter() - started
    return report
