"""/tasks (docs/api.md): the task inbox, completion through the case's update, and who
holds a task (claim, unclaim, assign).

Every route reads the task from the CID, asks the policy about it as the CID records it
(team, assignee, overdue), and records the token's subject as the actor: on the task
(``completed_by``, written by the case's activity), on the assignee, in the audit log.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Header, Path, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.enums.v1 import WorkflowExecutionStatus
from temporalio.api.workflowservice.v1 import DescribeWorkflowExecutionRequest
from temporalio.client import WorkflowQueryFailedError, WorkflowUpdateFailedError, WorkflowUpdateRPCTimeoutOrCancelledError
from temporalio.service import RPCError, RPCStatusCode

from access.policy import Action, Assignment, allocation, decide
from access.principal import Principal
from api.door import StrictJsonRoute, body_limit
from api.auth import Who, allow
from api import cursors
from api.failures import RETRY_AFTER, transient
from api.problem_types import INVALID_REQUEST
from api.problems import FieldError, Problem, problem_responses
from api.security_events import Refused
from api.schemas import CompletionOut, Held, TaskDetail, TaskOut, TaskPage, legal_outcomes
from api.resources import task_ref, tasks_of
from api.services import Services, Svc
from casework.refusals import Refusal, RefusalCode, of_error
from casework.case import Acting, Stage, TaskCompletion
from casework.tasks import ALLOCATE_CASE_OWNER, TASK_KINDS, AllocationOutcome, StaffId
from cid import read_model
from cid.assignments import Holding, change_assignee

log = logging.getLogger(__name__)
router = APIRouter(tags=["tasks"], route_class=StrictJsonRoute)

#: How long a completion waits for the case's answer (a worker must be running).
UPDATE_TIMEOUT_SECONDS = 30.0

#: Query and body text: no control characters (PostgreSQL refuses NUL in text).
TEXT = r"^[^\x00-\x1f\x7f]*$"
TaskId = Annotated[int, Path(ge=1, le=2**63 - 1, description="The task's ID (``task_id`` in a listing)")]


class CompletionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    outcome: str = Field(min_length=1, max_length=100, pattern=TEXT, description="One of the task's ``outcomes``")
    details: dict[str, Any] = Field(default_factory=dict, description="What the outcome records (casework/tasks.py)")


class AssignmentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    assignee: str = Field(min_length=1, max_length=64, pattern=TEXT, description="A person of the directory, member of the task's team")


def _task_out(row: Any) -> TaskOut:
    spec = TASK_KINDS.get(row["kind"])
    return TaskOut(
        task_id=row["id"], case_id=row["case_id"], key=row["task_key"], kind=row["kind"], title=row["title"],
        team=row["team"], assignee=row["assignee"], status=row["status"], due_at=row["due_at"],
        overdue=bool(row["overdue"]), outcome=row["outcome"], completed_by=row["completed_by"],
        completed_at=row["completed_at"], created_at=row["created_at"],
        outcomes=sorted(str(o) for o in spec.details) if spec else [],
    )


def _cursor(row: Any) -> str:
    return cursors.encode(row["due_at"], row["id"])


def _after(cursor: str | None) -> tuple[datetime, int] | None:
    return cursors.decode(cursor, int, valid=lambda key: 0 <= key < 2**63)


async def _task_row(svc: Services, task_id: int, who: Principal) -> Any:
    """The task, when ``who`` may see it. One 404 for a task that does not exist and one out
    of the caller's sight (issue 25: 403 against 404 told a task's existence, as ``/cases``
    does not); a 403 only about a task the caller sees."""
    async with svc.pool.acquire() as conn:
        row = await read_model.api_task(conn, task_id)
    if row is None or not decide(who, Action.SEE_TASK, task_ref(row)):
        raise Problem(404, f"no task {task_id} that you may see", kind="no-such-task")
    return row


def _label(row: Any) -> str:
    return f"task {row['id']} ({row['task_key']} of {row['case_id']})"


def _not_open(row: Any) -> Problem:
    if row["status"] == "done":
        by = f": {row['outcome']} by {row['completed_by']}" if row["outcome"] else ""
        return Problem.refused(Refusal(RefusalCode.TASK_DONE, f"{_label(row)} is already done{by}"))
    return Problem.refused(Refusal(RefusalCode.CASE_CLOSED, f"{_label(row)} was cancelled: its case is closed"))


# ---------------------------------------------------------------------------- reading


@router.get("/tasks", response_model=TaskPage, summary="Open tasks the caller may see, soonest due first",
            responses=problem_responses(401, 403, 422))
async def list_tasks(
    who: Who, svc: Svc,
    team: str | None = Query(None, max_length=100, pattern=TEXT, description="The task's team (or the case owner's staff ID)"),
    kind: str | None = Query(None, max_length=60, pattern=TEXT, description="A task kind (casework/tasks.py)"),
    case_id: str | None = Query(None, max_length=200, pattern=TEXT),
    assignee: str | None = Query(None, max_length=64, pattern=TEXT),
    overdue: bool = Query(False, description="Only overdue tasks"),
    mine: bool = Query(False, description="Only tasks for me: my teams', my own as case owner, or assigned to me"),
    limit: int = Query(50, ge=1, le=200),
    cursor: str | None = Query(None, max_length=200, pattern=TEXT, description="``next_cursor`` of the page before"),
) -> TaskPage:
    filters = read_model.TaskFilters(
        team=team, kind=kind, case_id=case_id, assignee=assignee, overdue=overdue,
        mine_teams=tuple(sorted(who.teams)) if mine else None, mine_subject=who.subject if mine else None)
    after = _after(cursor)
    async with svc.pool.acquire() as conn:
        rows = await read_model.api_tasks(conn, filters, tasks_of(who), after=after, limit=limit + 1)
    more = len(rows) > limit
    rows = rows[:limit]
    shown = []
    for row in rows:
        # The SQL filter is the policy's task_scope; asked again here so that a filter wider
        # than the policy shows nothing it should not (and says so in the log).
        if decide(who, Action.SEE_TASK, task_ref(row)):
            shown.append(_task_out(row))
        else:
            log.error("task list filter admitted task %s the policy refuses", row["id"])
    return TaskPage(tasks=shown, next_cursor=_cursor(rows[-1]) if more and rows else None)


@router.get("/tasks/{task_id}", response_model=TaskDetail,
            summary="One task, with its legal outcomes and the fields each records",
            responses=problem_responses(401, 403, 404, 422))
async def get_task(task_id: TaskId, who: Who, svc: Svc) -> TaskDetail:
    row = await _task_row(svc, task_id, who)
    return TaskDetail(**_task_out(row).model_dump(), legal_outcomes=legal_outcomes(row["kind"]))


# ---------------------------------------------------------------------------- completing


def _refused_by_case(err: WorkflowUpdateFailedError, row: Any) -> Problem:
    """The case's refusal, word for word, with the status its code has (``REFUSAL_STATUS``):
    the case's own validator is the judge of what is legal now (unknown or settled task,
    illegal outcome, R30). Its own check of the verified principal is a security event too."""
    refusal = of_error(err.cause) or Refusal(RefusalCode.REFUSED, " ".join(str(err.cause or err).split()))
    if refusal.code is RefusalCode.NOT_PERMITTED:  # defence in depth
        return Problem.refused(refusal, refused=Refused("complete_task", f"task {row['task_key']} of {row['case_id']}",
                                                        "refused_by_case"))
    return Problem.refused(refusal)


_STAFF_ID = TypeAdapter(StaffId)


def _check_allocation(svc: Services, row: Any, body: CompletionIn) -> None:
    """R20: the owner named in an allocation is a caseworker of the case's team, as the
    directory says (access.policy.allocation); 422 naming the field otherwise."""
    if row["kind"] != ALLOCATE_CASE_OWNER or body.outcome != AllocationOutcome.ALLOCATED:
        return
    named = body.details.get("case_owner")
    try:
        staff_id = _STAFF_ID.validate_python(named)
    except ValidationError:
        return  # not a staff ID at all: the case's own check of the details refuses it, naming the field
    member = svc.directory.member(staff_id)
    decision = allocation(task_ref(row), member)
    if not decision:
        raise Problem(422, f"body.details.case_owner: {decision.reason}; nothing was recorded", kind=INVALID_REQUEST,
                      rule="R20", errors=[FieldError(field="body.details.case_owner", message=decision.reason)])


@router.post("/tasks/{task_id}/completion", response_model=CompletionOut,
             summary="Complete a task through the case's update; the case's refusals come back as they are",
             responses=problem_responses(400, 401, 403, 404, 409, 413, 422, 503), openapi_extra=body_limit(64 * 1024))
async def complete_task(task_id: TaskId, body: CompletionIn, who: Who, svc: Svc, request: Request,
                        response: Response, prefer: WaitPreference = None) -> CompletionOut:
    started = time.perf_counter()
    row = await _task_row(svc, task_id, who)
    read = time.perf_counter()
    allow(who, Action.COMPLETE_TASK, task_ref(row))
    if row["status"] != "open":
        raise _not_open(row)
    _check_allocation(svc, row, body)
    try:
        completion = TaskCompletion(
            task_key=row["task_key"], outcome=body.outcome, actor=who.subject, details=body.details,
            acting=Acting(subject=who.subject, roles=sorted(who.roles), teams=sorted(who.teams)),
        )
    except ValidationError:  # the token's subject (or a role's name) is not in the form a case records
        raise Problem(422, "your token's subject cannot be recorded as a case's actor (2-64 letters, digits or ._@:-)",
                      kind="subject-not-recordable") from None
    try:
        done = await asyncio.wait_for(svc.cases.complete_task(row["case_id"], completion), UPDATE_TIMEOUT_SECONDS)
    except (WorkflowUpdateRPCTimeoutOrCancelledError, asyncio.TimeoutError, TimeoutError):
        raise Problem(503, f"case {row['case_id']} did not answer in time; nothing was refused - look at the task "
                      "before sending again", kind="case-unavailable", retry_after=RETRY_AFTER) from None
    except (WorkflowUpdateFailedError, RPCError) as err:
        # A state that passes (continuing as new, updates in flight, a retried workflow
        # task, Temporal not answering) is 503 with Retry-After; only the case's refusal is a 4xx.
        busy = transient(err, row["case_id"])
        if busy is not None:
            raise busy from None
        if isinstance(err, WorkflowUpdateFailedError):
            raise _refused_by_case(err, row) from None
        if isinstance(err, RPCError) and err.status is RPCStatusCode.NOT_FOUND:
            raise Problem.refused(Refusal(RefusalCode.CASE_CLOSED, f"case {row['case_id']} is closed")) from None
        raise
    # Where a completion's time goes (docs/performance.md, "The API"): durations only.
    timing = {"token": getattr(request.state, "token_seconds", 0.0), "cid": read - started,
              "update": time.perf_counter() - read}
    response.headers["Server-Timing"] = ", ".join(f"{k};dur={v * 1e3:.1f}" for k, v in timing.items())
    log.debug("task %s completed: %s", task_id, response.headers["Server-Timing"])
    wait = waited_seconds(prefer)
    stage = await _stage_after(svc, row["case_id"], done.stage, wait) if wait else done.stage
    return CompletionOut(task_id=row["id"], case_id=row["case_id"], key=row["task_key"], outcome=done.outcome,
                         stage=stage.value, closed=stage is Stage.CLOSED, completed_by=who.subject)


WORKFLOW_EXECUTION_STATUS_RUNNING = WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_RUNNING
WORKFLOW_EXECUTION_STATUS_COMPLETED = WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_COMPLETED
#: The longest a completion's answer waits for the case to act on it (``Prefer: wait=N``).
SETTLE_SECONDS = 5.0
#: RFC 7240's request header, as completions read it.
WaitPreference = Annotated[str | None, Header(
    alias="Prefer", description="'wait=N' (RFC 7240): answer once the case has acted on the completion, waiting up to "
                                f"N seconds (at most {SETTLE_SECONDS:.0f}), with the stage it went to")]


def waited_seconds(prefer: str | None) -> float:
    """RFC 7240 section 4.3: the ``wait`` preference in seconds (0 when not asked)."""
    for part in (prefer or "").split(","):
        name, _, value = part.split(";")[0].partition("=")
        if name.strip().lower() == "wait":
            try:
                return max(0.0, min(float(value.strip()), SETTLE_SECONDS))
            except ValueError:
                return 0.0
    return 0.0


async def _stage_after(svc: Services, case_id: str, answered: Stage, wait: float) -> Stage:
    """Where the case is once it has acted on the completion (issue 24 item 8: a closing
    completion answered "the case is now at E-consideration"). The update answers when
    the task is recorded, with the stage it was completed in; the case then goes on, by
    activities, to its next wait or to 'closed'. So wait, up to ``wait`` seconds, until
    the case has no activity or workflow task pending, and ask its own view; if the case
    cannot be asked, the update's stage. Only when the caller asks (a person at a
    terminal): it costs the case's next activities' time (about 0.3 s on a busy laptop),
    which a system completing many tasks need not pay."""
    client = svc.cases.temporal
    request = DescribeWorkflowExecutionRequest(namespace=client.namespace, execution=WorkflowExecution(workflow_id=case_id))
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait
    try:
        while True:
            # The raw description: the pending work is all this needs (no search attributes decoded).
            raw = await client.workflow_service.describe_workflow_execution(request)
            status = raw.workflow_execution_info.status
            if status == WORKFLOW_EXECUTION_STATUS_COMPLETED:
                return Stage.CLOSED
            if status != WORKFLOW_EXECUTION_STATUS_RUNNING:
                return answered
            if (not raw.pending_activities and not raw.HasField("pending_workflow_task")) or loop.time() > deadline:
                break
            await asyncio.sleep(0.02)
        view = await svc.cases.view(case_id, rpc_timeout=timedelta(seconds=wait))
    except (RPCError, WorkflowQueryFailedError):
        return answered
    return view.stage


# ---------------------------------------------------------------------------- who holds it


async def _changed(svc: Services, row: Any, *, to: str | None, who: Principal, action: Holding) -> Held:
    async with svc.pool.acquire() as conn:
        ok = await change_assignee(conn, row["id"], expected=row["assignee"], to=to, actor=who.subject, action=action)
        now = await read_model.api_task(conn, row["id"])
    if not ok:  # settled, or someone else's change came first: nothing was written
        if now["status"] != "open":
            raise _not_open(now)
        if action is Holding.CLAIMED and now["assignee"] == who.subject:  # your own claim came first: a repeat
            return Held(**_task_out(now).model_dump(), changed=False)
        held = f"claimed by {now['assignee']}" if now["assignee"] else "no longer claimed"
        raise Problem(409, f"{_label(now)} is {held} now", kind="already-claimed")
    return Held(**_task_out(now).model_dump())


@router.post("/tasks/{task_id}/claim", response_model=Held,
             summary="Take a task: one winner when two claim at once; 200 with changed=false when it is yours already",
             responses=problem_responses(401, 403, 404, 409, 422))
async def claim_task(task_id: TaskId, who: Who, svc: Svc) -> Held:
    row = await _task_row(svc, task_id, who)
    ref = task_ref(row)
    if ref.assignee is not None:
        # Taken already: a state of the task (409) for whoever might have claimed it free;
        # a refusal (403) for whoever may not claim it at all.
        allow(who, Action.CLAIM_TASK, replace(ref, assignee=None))
        if ref.assignee == who.subject:  # already yours: 200, nothing to record (a repeat is harmless)
            if row["status"] != "open":
                raise _not_open(row)
            return Held(**_task_out(row).model_dump(), changed=False)
        raise Problem(409, f"{_label(row)} is claimed already by {ref.assignee}", kind="already-claimed")
    allow(who, Action.CLAIM_TASK, ref)
    if row["status"] != "open":
        raise _not_open(row)
    return await _changed(svc, row, to=who.subject, who=who, action=Holding.CLAIMED)


@router.post("/tasks/{task_id}/unclaim", response_model=Held, summary="Release a claimed task",
             responses=problem_responses(401, 403, 404, 409, 422))
async def unclaim_task(task_id: TaskId, who: Who, svc: Svc) -> Held:
    row = await _task_row(svc, task_id, who)
    ref = task_ref(row)
    if ref.assignee is None:
        raise Problem(409, f"{_label(row)} is not claimed", kind="not-claimed")
    allow(who, Action.UNCLAIM_TASK, ref)
    if row["status"] != "open":
        raise _not_open(row)
    return await _changed(svc, row, to=None, who=who, action=Holding.UNCLAIMED)


@router.post("/tasks/{task_id}/assignment", response_model=Held, summary="Assign a task to a member of its team",
             responses=problem_responses(400, 401, 403, 404, 409, 413, 422), openapi_extra=body_limit(4 * 1024))
async def assign_task(task_id: TaskId, body: AssignmentIn, who: Who, svc: Svc) -> Held:
    row = await _task_row(svc, task_id, who)
    ref = task_ref(row)
    member = svc.directory.member(body.assignee.strip())
    if member is None:
        where = "the directory" if svc.directory.source else "the directory (none is configured: CASEWORK_DIRECTORY)"
        raise Problem(422, f"body.assignee: '{body.assignee}' is not a person in {where}", kind="unknown-person",
                      errors=[FieldError(field="body.assignee", message="not a person in the directory")])
    allow(who, Action.ASSIGN_TASK, Assignment(ref, member))
    if row["status"] != "open":
        raise _not_open(row)
    if row["assignee"] == member.subject:
        return Held(**_task_out(row).model_dump(), changed=False)  # already theirs: nothing to change, nothing recorded
    return await _changed(svc, row, to=member.subject, who=who, action=Holding.ASSIGNED)
