"""``casework stuck``: the cases that need an operator, and why each one is stuck.

Two sources that should agree, read side by side:

* Temporal's visibility (eventually consistent): running cases with ``Overdue = true``,
  with ``TemporalReportedProblems`` (workflow tasks failing), or whose ``NextDeadline``
  has passed without the case acting on it (no worker is taking its tasks);
* the CID (the record): open cases with an overdue or past-due open task, and recently
  closed cases, to find any whose workflow still runs.

Every case either source names is looked up in the other, and the reasons are said in
words: "task nbtc_check overdue since …", "workflow task failing (…)", "CID says closed
but workflow running", "CID overdue but Temporal does not know", … It is a report, so
it exits 0 even when cases are stuck; 5 when Temporal or the CID cannot be reached.
Nothing personal is read or printed: IDs, stages, teams, task kinds and times only.
"""

from __future__ import annotations

import asyncio
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

import typer

from casework.keys import WORKFLOW_TYPE
from starter.output import Column, console, emit, print_json, when
from starter.views import CSV_OPTION

if TYPE_CHECKING:
    import asyncpg
    from temporalio.client import Client

RUNNING = f'WorkflowType = "{WORKFLOW_TYPE}" AND ExecutionStatus = "Running"'
RPC_TIMEOUT = timedelta(seconds=10)


def rfc3339(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def visibility_queries(now: datetime) -> dict[str, str]:
    """The visibility queries ``stuck`` runs (docs/operations.md's saved queries, for running cases)."""
    return {
        "overdue": f"{RUNNING} AND Overdue = true",
        "problems": f"{RUNNING} AND TemporalReportedProblems IS NOT NULL",
        "deadline_passed": f'{RUNNING} AND NextDeadline < "{rfc3339(now)}"',
    }


# ---------------------------------------------------------------------------- what each side says


@dataclass
class TemporalSide:
    """A case as Temporal has it: the workflow's status and its search attributes."""

    status: str  # RUNNING, COMPLETED, TERMINATED, ... or NOT_FOUND
    stage: str | None = None
    team: str | None = None
    waiting_on: str | None = None
    next_deadline: datetime | None = None
    overdue: bool | None = None
    problems: list[str] = field(default_factory=list)
    found_by: list[str] = field(default_factory=list)


@dataclass
class CidTask:
    key: str
    kind: str
    team: str
    due_at: datetime
    overdue: bool


@dataclass
class CidSide:
    """A case as the CID has it."""

    stage: str
    status: str  # open, dormant, closed
    team: str | None
    overdue: bool
    open_tasks: list[CidTask]


@dataclass(frozen=True)
class Reason:
    code: str
    text: str


@dataclass
class StuckCase:
    case_id: str
    temporal: TemporalSide | None
    cid: CidSide | None
    reasons: list[Reason]
    since: datetime | None

    def as_json(self) -> dict[str, Any]:
        t, c = self.temporal, self.cid
        return {
            "case_id": self.case_id,
            "stage": (c.stage if c else None) or (t.stage if t else None),
            "team": (c.team if c else None) or (t.team if t else None),
            "cid_status": c.status if c else None,
            "workflow_status": t.status if t else None,
            "waiting_on": t.waiting_on if t else None,
            "next_deadline": t.next_deadline if t else None,
            "stuck_since": self.since,
            "reasons": [asdict(r) for r in self.reasons],
            "temporal": asdict(t) if t else None,
            "cid": asdict(c) if c else None,
        }


# ---------------------------------------------------------------------------- the diagnosis (pure)


def _late(task: CidTask, now: datetime) -> bool:
    return task.overdue or task.due_at < now


def diagnose(temporal: TemporalSide | None, cid: CidSide | None, now: datetime) -> list[Reason]:
    """Why a case is stuck, from what Temporal and the CID each say; empty when it is not."""
    reasons: list[Reason] = []
    running = temporal is not None and temporal.status == "RUNNING"
    if temporal is not None and temporal.problems:
        reasons.append(Reason("workflow_task_failing", "workflow task failing (TemporalReportedProblems: "
                                                        f"{', '.join(temporal.problems)}): see its history in the Web UI"))
    late = [t for t in (cid.open_tasks if cid else []) if _late(t, now)]
    for task in sorted(late, key=lambda t: t.due_at):
        if task.overdue and task.due_at > now:  # only a hand edit (or a clock gone wrong) does this
            reasons.append(Reason("task_overdue", f"task {task.kind} marked overdue although due "
                                                  f"{when(task.due_at)} UTC ({task.team})"))
        elif task.overdue:
            reasons.append(Reason("task_overdue", f"task {task.kind} overdue since {when(task.due_at)} UTC ({task.team})"))
        else:
            reasons.append(Reason("task_past_due", f"task {task.kind} past due since {when(task.due_at)} UTC "
                                                   "and not escalated: is a worker running for the case?"))
    if running and temporal.next_deadline is not None and temporal.next_deadline < now:
        reasons.append(Reason("deadline_not_acted_on",
                              f"deadline ({temporal.waiting_on or 'next step'}) passed at {when(temporal.next_deadline)} UTC "
                              "and the case has not acted on it: is a worker polling its task queue?"))
    if cid is None:
        if running:
            reasons.append(Reason("no_cid_case", "workflow running but the CID has no case row"))
        return reasons
    if running and cid.status == "closed":
        reasons.append(Reason("cid_closed_workflow_running", "CID says closed but workflow running"))
    if cid.status != "closed" and not running:
        status = "not in Temporal" if temporal is None or temporal.status == "NOT_FOUND" else temporal.status.lower()
        reasons.append(Reason("workflow_not_running", f"CID says {cid.status} but the workflow is {status}"))
    cid_overdue = cid.status != "closed" and (cid.overdue or bool(late))
    temporal_overdue = running and bool(temporal.overdue or (temporal.next_deadline and temporal.next_deadline < now))
    if cid_overdue and running and not temporal_overdue:
        reasons.append(Reason("cid_overdue_temporal_unaware",
                              "CID overdue but Temporal does not know (Overdue not set: visibility still catching up, "
                              "or a case started before its search attributes existed)"))
    if running and temporal.overdue and cid.status != "closed" and not late:
        reasons.append(Reason("temporal_overdue_cid_unaware", "Temporal says overdue but the CID has no overdue task"))
    return reasons


def stuck_since(temporal: TemporalSide | None, cid: CidSide | None, now: datetime) -> datetime | None:
    moments = [t.due_at for t in (cid.open_tasks if cid else []) if _late(t, now)]
    if temporal is not None and temporal.next_deadline is not None and temporal.next_deadline < now:
        moments.append(temporal.next_deadline)
    return min(moments) if moments else None


# ---------------------------------------------------------------------------- reading both sides


def _temporal_side(status: str, attributes: Any, found_by: list[str] | None = None) -> TemporalSide:
    from temporalio.common import SearchAttributeKey

    from casework import search

    problems = SearchAttributeKey.for_keyword_list("TemporalReportedProblems")
    return TemporalSide(
        status=status,
        stage=attributes.get(search.CASE_STAGE),
        team=attributes.get(search.TEAM),
        waiting_on=attributes.get(search.WAITING_ON),
        next_deadline=attributes.get(search.NEXT_DEADLINE),
        overdue=attributes.get(search.OVERDUE),
        problems=list(attributes.get(problems) or []),
        found_by=found_by or [],
    )


async def from_visibility(client: "Client", now: datetime, limit: int) -> dict[str, TemporalSide]:
    """Running cases found by each visibility query, with the queries that found them."""
    found: dict[str, TemporalSide] = {}
    for name, query in visibility_queries(now).items():
        async for execution in client.list_workflows(query, limit=limit, rpc_timeout=RPC_TIMEOUT):
            side = found.get(execution.id)
            if side is None:
                side = found[execution.id] = _temporal_side("RUNNING", execution.typed_search_attributes)
            side.found_by.append(name)
    return found


async def running_among(client: "Client", case_ids: list[str], limit: int) -> dict[str, TemporalSide]:
    """Which of these cases (closed in the CID) still have a running workflow."""
    found: dict[str, TemporalSide] = {}
    ids = [i for i in case_ids if '"' not in i and "\\" not in i]
    for start in range(0, len(ids), 100):  # keep each query short
        listed = ", ".join(f'"{i}"' for i in ids[start:start + 100])
        query = f"{RUNNING} AND WorkflowId IN ({listed})"
        async for execution in client.list_workflows(query, limit=limit, rpc_timeout=RPC_TIMEOUT):
            found[execution.id] = _temporal_side("RUNNING", execution.typed_search_attributes, ["cid_closed"])
    return found


async def sides_of(client: "Client", case_ids: list[str]) -> dict[str, TemporalSide]:
    """What Temporal says of each of these cases: its latest run's status and search
    attributes from visibility, 500 cases a query (no round trip per case); NOT_FOUND for none."""
    from activities.sweep import latest_runs, status_of

    latest = await latest_runs(client, case_ids)
    return {case_id: _temporal_side(status_of(latest[case_id]), latest[case_id].typed_search_attributes)
            if case_id in latest else TemporalSide(status="NOT_FOUND") for case_id in case_ids}


async def from_cid(conn: "asyncpg.Connection", case_ids: list[str]) -> dict[str, CidSide]:
    from cid import read_model

    rows, tasks = await read_model.cases_with_open_tasks(conn, case_ids)
    found = {r["id"]: CidSide(r["stage"], r["status"], r["team"], r["overdue"], []) for r in rows}
    for t in tasks:
        found[t["case_id"]].open_tasks.append(CidTask(t["task_key"], t["kind"], t["team"], t["due_at"], t["overdue"]))
    return found


async def find_stuck(client: "Client", pool: "asyncpg.Pool", now: datetime, limit: int) -> list[StuckCase]:
    from cid import read_model

    temporal = await from_visibility(client, now, limit)
    async with pool.acquire() as conn:
        cid_late = await read_model.late_case_ids(conn, now, limit)
        closed = await read_model.recently_closed_case_ids(conn, limit)
        for case_id, side in (await running_among(client, closed, limit)).items():
            temporal.setdefault(case_id, side)
        named_by_cid_only = [case_id for case_id in cid_late if case_id not in temporal]
        temporal.update(await sides_of(client, named_by_cid_only))
        cid = await from_cid(conn, sorted(temporal))
    stuck = []
    for case_id, side in temporal.items():
        reasons = diagnose(side, cid.get(case_id), now)
        if reasons:
            stuck.append(StuckCase(case_id, side, cid.get(case_id), reasons, stuck_since(side, cid.get(case_id), now)))
    far_future = datetime.max.replace(tzinfo=timezone.utc)
    return sorted(stuck, key=lambda s: (s.since or far_future, s.case_id))


# ---------------------------------------------------------------------------- the command

STUCK_COLUMNS = (
    Column("case_id", "Case", id=True), Column("stage", "Stage"), Column("team", "Team"), Column("waiting_on", "Waiting on"),
    Column("stuck_since", "Stuck since (UTC)", when),
    Column("reasons", "Why", lambda reasons: "\n".join(r["text"] for r in reasons)),
)
SUBJECT_COLUMNS = (Column("subject_id", "Subject", id=True), Column("case_ids", "Cases", "\n".join),
                   Column("reasons", "Why", "\n".join))


def stuck(
    limit: int = typer.Option(500, "--limit", min=1, max=10_000, help="At most this many cases from each source."),
    json_out: bool = typer.Option(False, "--json", help="Print the report as JSON."),
    csv_out: bool = CSV_OPTION,
    sweep: bool = typer.Option(False, "--sweep", help="Sweep every case (streamed, in bounded memory): counts by "
                                                      "reason and example case IDs, as the daily sweep job records them."),
    grace: int = typer.Option(300, "--grace", min=0, max=86_400, help="With --sweep: seconds a change must be old to count (visibility lags)."),
) -> None:
    """List stuck cases: overdue, failing, or Temporal and the CID disagreeing; why each one is.

    A report: exits 0 even when cases are stuck (5 when Temporal or the CID cannot be reached).

    Operator command: direct access to Temporal and the database (DATABASE_URL, TEMPORAL_*), not through the API.
    """
    if sweep:
        _print_sweep(asyncio.run(_sweep(timedelta(seconds=grace))), json_out)
        return
    now = datetime.now(timezone.utc)
    namespace, found = asyncio.run(_stuck(now, limit))
    if json_out:
        print_json({"checked_at": now, "namespace": namespace, "total": len(found),
                    "cases": [s.as_json() for s in found]})
        return
    if not found and not csv_out:
        console.print(f"No stuck cases in namespace {namespace} (checked {when(now)} UTC).")
        return
    emit(f"Stuck cases in namespace {namespace} (checked {when(now)} UTC), longest stuck first", STUCK_COLUMNS,
         [s.as_json() for s in found], csv_out=csv_out)
    if not csv_out:
        console.print(f"{len(found)} stuck case(s). Details: casework show CASE --purpose ...; history: the Web UI.")


async def _sweep(grace: timedelta) -> Any:
    from activities.sweep import sweep_report
    from starter import context
    from starter.failures import translated

    with translated():
        async with context.services() as (client, pool):
            assert client is not None
            return await sweep_report(client, pool, grace=grace)


def _print_sweep(report: Any, json_out: bool) -> None:
    """The sweep's counts by reason and its first case IDs of each (no personal data)."""
    from activities.sweep import REASONS

    if json_out:
        print_json(report.as_json())
        return
    emit(f"Sweep of every case (checked {when(report.checked_at)} UTC): {report.workflows_seen:,} running workflows,"
         f" {report.open_cases_seen:,} open cases, {report.overdue_tasks_seen:,} overdue tasks read", SWEEP_COLUMNS,
         [{"reason": code, "count": f"{report.counts[code]:,}", "meaning": REASONS[code],
           "cases": " ".join(report.examples[code][:5])} for code in REASONS])
    console.print(f"{report.stuck:,} finding(s) in {report.seconds:.1f} s. One case in detail: casework stuck (without --sweep).")


async def _stuck(now: datetime, limit: int) -> tuple[str, list[StuckCase]]:
    from starter import context
    from starter.failures import translated

    with translated():
        async with context.services() as (client, pool):
            assert client is not None
            return client.namespace, await find_stuck(client, pool, now, limit)


# ---------------------------------------------------------------------------- subject matching (R04)


def subject_check(json_out: bool = typer.Option(False, "--json", help="Print the report as JSON."),
                  csv_out: bool = CSV_OPTION) -> None:
    """List subjects that may join different people (R04).

    Matched by a name-and-date-of-birth key whose folded name is empty or too short, or
    keyed differently by today's fold.

    A report of subject and case IDs only (no personal data); exits 0 whatever it finds.

    Operator command: direct access to Temporal and the database (DATABASE_URL, TEMPORAL_*), not through the API.
    """
    found = asyncio.run(_subject_check())
    if json_out:
        print_json({"total": len(found), "subjects": [asdict(s) for s in found]})
        return
    if not found and not csv_out:
        console.print("No suspect subjects: every subject's cases are keyed as today's matching keys them (R04).")
        return
    emit("Subjects to review (R04): check each one's cases are one person (casework show CASE --purpose ...)",
         SUBJECT_COLUMNS, [asdict(s) for s in found], csv_out=csv_out)
    if not csv_out:
        console.print(f"{len(found)} subject(s) to review.")


async def _subject_check() -> list[Any]:
    from cid.subject_check import suspect_subjects
    from starter import context
    from starter.failures import translated

    with translated():
        pool = await context.open_pool()
        try:
            async with pool.acquire() as conn:
                return await suspect_subjects(conn)
        finally:
            await pool.close()


# ---------------------------------------------------------------------------- the daily jobs


def jobs_command(
    limit: int = typer.Option(10, "--limit", min=1, max=200, help="Recent runs to list."),
    json_out: bool = typer.Option(False, "--json", help="Print the schedules and runs as JSON."),
) -> None:
    """The daily jobs (the stuck-case sweep, the retention purge): each schedule, paused or
    not and when it runs next, and the recent runs with what each found.

    Stop a job by pausing its schedule (docs/operations.md, "Daily jobs"):
    temporal schedule toggle --schedule-id casework-sweep --pause --reason "..."

    Operator command: direct access to Temporal and the database (DATABASE_URL, TEMPORAL_*), not through the API.
    """
    states, runs = asyncio.run(_jobs(limit))
    if json_out:
        print_json({"schedules": [asdict(s) for s in states], "runs": [asdict(r) for r in runs]})
        return
    emit("Daily jobs (Temporal Schedules)", SCHEDULE_COLUMNS,
         [{"schedule_id": s.schedule_id, "workflow": s.workflow,
           "state": "missing" if not s.exists else ("paused" if s.paused else "active"),
           "next_runs": " ".join(when(t) for t in s.next_runs[:2]), "last_started": s.last_started} for s in states])
    emit("Recent runs (the CID's job_runs)", RUN_COLUMNS,
         [{"run_key": r.run_key, "job": r.job, "finished_at": r.finished_at, "outcome": r.outcome,
           "summary": _summary_line(r.summary)} for r in runs])


SWEEP_COLUMNS = (Column("reason", "Reason", id=True), Column("count", "Count"), Column("meaning", "What it means"),
                 Column("cases", "Cases (first few)"))
SCHEDULE_COLUMNS = (Column("schedule_id", "Schedule", id=True), Column("workflow", "Job"), Column("state", "State"),
                    Column("next_runs", "Next runs (UTC)"), Column("last_started", "Last started (UTC)", when))
RUN_COLUMNS = (Column("run_key", "Run", id=True), Column("job", "Job"), Column("finished_at", "Finished (UTC)", when),
               Column("outcome", "Outcome"), Column("summary", "Summary"))


def _summary_line(summary: dict[str, Any]) -> str:
    counts = summary.get("counts")
    if isinstance(counts, dict):
        return ", ".join(f"{k} {v}" for k, v in counts.items())
    return ", ".join(f"{k} {v}" for k, v in summary.items() if not isinstance(v, (list, dict)))


async def _jobs(limit: int) -> tuple[list[Any], list[Any]]:
    from casework import schedules
    from cid import jobs
    from starter import context
    from starter.failures import translated

    with translated():
        async with context.services() as (client, pool):
            assert client is not None
            return await schedules.states(client), await jobs.latest(pool, limit=limit)
