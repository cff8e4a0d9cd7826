"""Test helpers: referrals, a running worker, and a driver that acts as people would."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from datetime import date, timedelta
from typing import Any, AsyncIterator, Awaitable, Callable

import asyncpg
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowHandle
from temporalio.service import RPCError, RPCStatusCode
from temporalio.worker import Worker

from casework.case import (
    CaseView,
    CertificateReceived,
    EventReceipt,
    LeftUk,
    PersonLocated,
    RepresentationsReceived,
    TaskCompleted,
    TaskCompletion,
)
from casework.referral import DISCLOSABLE_PURPOSE, Certificate, Referral
from local_stack.polling import until  # the one polling helper, re-exported for the tests
from casework.settings import ProcessSettings
from cid import intake
from worker.service import build_worker
from workflows.client import CaseClient, Submitted, SubmitResult

CASEWORKER = "cw.jones"


def json_paths(value: Any, prefix: tuple = ()) -> list[tuple]:
    """Every path into a JSON-like document (keys and list indexes), the root included:
    where the property tests mutate a valid document."""
    found = [prefix]
    if isinstance(value, dict):
        for key, inner in value.items():
            found += json_paths(inner, prefix + (key,))
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            found += json_paths(inner, prefix + (index,))
    return found


def unique_ref() -> str:
    return f"T{uuid.uuid4().hex[:10].upper()}"


def referral_data(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "acro_reference": unique_ref(),
        "name": "Jan Kowalski",
        "date_of_birth": "1980-02-03",
        "nationalities": ["PL"],
        "certificate": {
            "request_purpose": DISCLOSABLE_PURPOSE,
            "offences_on_pnc": False,
            "convictions": [
                {"country": "PL", "offence": "Robbery", "category": "robbery",
                 "conviction_date": "2010-05-06", "sentence": "4 years"},
            ],
        },
        "reason_for_request": "arrest",
        "whereabouts": {"status": "unknown"},
    }
    data.update(overrides)
    return data


def referral(**overrides: Any) -> Referral:
    return Referral.model_validate(referral_data(**overrides), context={"today": date.today()})


@contextlib.asynccontextmanager
async def running_worker(
    client: Client, pool: asyncpg.Pool, task_queue: str, settings: ProcessSettings | None = None
) -> AsyncIterator[Worker]:
    worker = build_worker(client, pool, task_queue, settings)
    async with worker:
        yield worker


#: Every case a test started, for the history recorder (tests/histories/README.md).
STARTED: list[WorkflowHandle] = []


async def submit(cases: CaseClient, pool: asyncpg.Pool, ref: Referral, *, actor: str) -> SubmitResult:
    """As the API submits a referral: held in the CID first, then its case started (R01)."""
    if await intake.hold_referral(pool, ref, actor=actor) is intake.Held.CONFLICT:
        return SubmitResult.conflicting(ref)
    return await cases.submit(ref, actor=actor)


class Case:
    """Drives one case as the people and systems around it would."""

    def __init__(self, client: Client, pool: asyncpg.Pool, handle: WorkflowHandle, ref: Referral) -> None:
        self.client = client
        self.pool = pool
        self.handle = handle
        self.referral = ref
        self.id = handle.id
        self.cases = CaseClient(client)

    @classmethod
    async def start(cls, client: Client, pool: asyncpg.Pool, task_queue: str, ref: Referral) -> "Case":
        cases = CaseClient(client, task_queue=task_queue)
        result = await submit(cases, pool, ref, actor="acro.referrals")
        assert result.status is Submitted.STARTED, result
        case = cls(client, pool, cases.handle(result.case_id), ref)
        STARTED.append(case.handle)
        return case

    async def view(self, rpc_timeout: timedelta | None = None) -> CaseView:
        return await self.cases.view(self.id, rpc_timeout=rpc_timeout)

    async def wait_for(self, predicate: Any, *, timeout: float = 15.0) -> CaseView:
        """Poll the query until ``predicate(view)`` holds (no time passes on the test server)."""
        async def view() -> CaseView | None:
            try:
                return await self.view(rpc_timeout=timedelta(seconds=5))
            except RPCError as err:  # a query that met the case between two runs (continue-as-new): ask again
                if err.status not in (RPCStatusCode.DEADLINE_EXCEEDED, RPCStatusCode.CANCELLED) and "deadline" not in err.message:
                    raise
                return None

        return await until(view, f"{self.id} to be as the test expects", timeout, 0.05,
                           holds=lambda seen: seen is not None and predicate(seen))

    async def task(self, kind: str) -> str:
        view = await self.wait_for(lambda v: any(t.kind == kind for t in v.open_tasks))
        return next(t.key for t in view.open_tasks if t.kind == kind)

    async def complete(self, kind: str, outcome: str, actor: str = CASEWORKER, **details: Any) -> TaskCompleted:
        key = await self.task(kind)
        return await self.cases.complete_task(
            self.id, TaskCompletion(task_key=key, outcome=outcome, actor=actor, details=details))

    async def located(self, actor: str = "ice.system", event_id: str | None = None, **kw: Any) -> None:
        await self.cases.send_event(self.id, PersonLocated(event_id=event_id or uuid.uuid4().hex, actor=actor, **kw))

    async def left_uk(self, actor: str = "nbtc.system", event_id: str | None = None) -> None:
        await self.cases.send_event(self.id, LeftUk(event_id=event_id or uuid.uuid4().hex, actor=actor))

    async def certificate(self, certificate: dict[str, Any], actor: str = "acro.system", event_id: str | None = None) -> int:
        """Hold a certificate in the CID and signal its case (fire and forget); its ID in the CID."""
        event_id = event_id or uuid.uuid4().hex
        held = await intake.hold_certificate(self.pool, self.id, Certificate.model_validate(certificate),
                                             event_id=event_id, actor=actor)
        assert held is not None, f"certificate event {event_id} was handed in before with a different certificate"
        await self.cases.send_event(self.id, CertificateReceived(event_id=event_id, actor=actor, certificate_id=held))
        return held

    async def deliver(self, event: Any) -> EventReceipt:
        """Send a message as the CLI and API do, and get the case's own answer."""
        return await self.cases.deliver_event(self.id, event)

    async def representations(self, actor: str = CASEWORKER, event_id: str | None = None) -> None:
        await self.cases.send_event(self.id, RepresentationsReceived(event_id=event_id or uuid.uuid4().hex, actor=actor))

    # --- reading the CID --------------------------------------------------------------

    async def row(self, sql: str, *args: Any) -> asyncpg.Record | None:
        return await self.pool.fetchrow(sql, self.id, *args)

    async def rows(self, sql: str, *args: Any) -> list[asyncpg.Record]:
        return await self.pool.fetch(sql, self.id, *args)

    async def case_row(self) -> asyncpg.Record:
        row = await self.row("SELECT * FROM cases WHERE id = $1")
        assert row is not None, f"no CID case row for {self.id}"
        return row

    async def messages(self) -> list[tuple[str, str]]:
        return [(m["recipient"], m["form"]) for m in await self.rows(
            "SELECT recipient, form FROM outbound_messages WHERE case_id = $1 ORDER BY id")]

    async def audit_actions(self) -> list[str]:
        return [a["action"] for a in await self.rows("SELECT action FROM audit_log WHERE case_id = $1 ORDER BY id")]

    async def tasks(self) -> list[asyncpg.Record]:
        return await self.rows("SELECT * FROM tasks WHERE case_id = $1 ORDER BY id")


def days(n: float) -> timedelta:
    return timedelta(days=n)


# --- Process walks for tests/test_process_*: the routine steps between the ones a test proves.

#: R28: the three things a pursuit decision records.
PURSUIT_FACTORS = {
    "foreign_convictions": "robbery (PL, 2010), 4 years",
    "uk_convictions": "none",
    "outstanding_law_enforcement": "none known",
}


async def through_stage_c(
    case: Case, *, owner: str = "co.smith", history: str = "full_history_on_pnc", police: str = "no_pending_prosecution"
) -> None:
    """Stage C as a case owner would do it: allocate (if not yet), check the history, contact the police."""
    view = await case.wait_for(lambda v: any(t.kind in ("allocate_case_owner", "offending_history_check") for t in v.open_tasks))
    if any(t.kind == "allocate_case_owner" for t in view.open_tasks):
        await case.complete("allocate_case_owner", "allocated", case_owner=owner)
    await case.complete("offending_history_check", history)
    await case.complete("police_contact", police)


async def to_consideration(case: Case, *, detention: str = "not_detained", **stage_c: Any) -> None:
    """Stages C and D with a decision to pursue, until the Stage 1 notice is served."""
    await through_stage_c(case, **stage_c)
    details = {} if detention == "detain" else {"reason": "managed in the community"}
    await case.complete("detention_decision", detention, **details)
    await case.complete("pursuit_decision", "pursue", **PURSUIT_FACTORS)
    # Waiting on representations: the notice is recorded in the CID (the query alone says
    # it was served as soon as the workflow decides to, before its activity has run).
    await case.wait_for(lambda v: v.notice_served_at is not None and "representations" in (v.waiting_on or ""))




async def not_pursued_to_closure(case: Case) -> None:
    """The not-pursued path from allocation to closure: stages C and D with a decision to
    pursue (the person unsuitable for detention, R33), representations in the Stage 1
    window, then not pursued (R47), the Director agreeing (R50, R51) and no referral to
    Removals Casework (R52)."""
    await case.complete("allocate_case_owner", "allocated", case_owner="co.smith")
    await case.complete("offending_history_check", "full_history_on_pnc")
    await case.complete("police_contact", "no_pending_prosecution")
    await case.complete("detention_decision", "unsuitable", actor="co.smith", reason="medical")
    await case.complete("pursuit_decision", "pursue", **PURSUIT_FACTORS)
    await case.wait_for(lambda v: v.notice_served_at is not None)
    await case.representations()
    await case.complete("consideration_decision", "not_pursue", actor="co.smith", reason="Article 8")
    await case.complete("director_decision", "agree", actor="director.cc", reason="agree")
    await case.complete("removals_consideration", "resides_lawfully", actor="co.smith", reason="considered")


async def eventually(case: Case, sql: str, *args: Any, timeout: float = 15.0) -> None:
    """Poll the CID until ``sql`` (the case ID is $1) returns true: for effects of signals,
    which the query cannot show."""
    await until(lambda: case.pool.fetchval(sql, case.id, *args), f"{sql} {args}", timeout, 0.05)


async def busy(handle: WorkflowHandle) -> bool:
    """Whether the current run has a workflow task or an activity in flight, from its history
    (the time-skipping server's describe does not report them)."""
    history = await handle.fetch_history()
    activities: set[int] = set()
    workflow_task = False
    for event in history.events:
        kind = event.event_type
        if kind == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            activities.add(event.event_id)
        elif kind in _ACTIVITY_CLOSED:
            attributes = getattr(event, _ACTIVITY_CLOSED[kind])
            activities.discard(attributes.scheduled_event_id)
        elif kind == EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED:
            workflow_task = True
        elif kind in _WORKFLOW_TASK_CLOSED:
            workflow_task = False
    return workflow_task or bool(activities)


_ACTIVITY_CLOSED = {
    EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED: "activity_task_completed_event_attributes",
    EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED: "activity_task_failed_event_attributes",
    EventType.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT: "activity_task_timed_out_event_attributes",
    EventType.EVENT_TYPE_ACTIVITY_TASK_CANCELED: "activity_task_canceled_event_attributes",
}
_WORKFLOW_TASK_CLOSED = {
    EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED,
    EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED,
    EventType.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT,
}


async def describe_raw(handle: WorkflowHandle) -> Any:
    """The server's description, undecoded.

    ``handle.describe()`` decodes search attributes, and the time-skipping server keeps an
    unset Datetime attribute (NextDeadline, once a case waits on nothing) as a null the
    SDK cannot decode; the dev server and a real cluster remove it as they should.
    """
    from temporalio.api.common.v1 import WorkflowExecution
    from temporalio.api.workflowservice.v1 import DescribeWorkflowExecutionRequest

    raw = await handle._client.workflow_service.describe_workflow_execution(
        DescribeWorkflowExecutionRequest(
            namespace=handle._client.namespace, execution=WorkflowExecution(workflow_id=handle.id)
        )
    )
    return raw.workflow_execution_info


async def stop(case: Case, *, settle: float = 10.0) -> None:
    """Terminate a case still running, so that none of its timers fires in a later test.

    It is terminated only once idle: the time-skipping server holds a time lock for each
    scheduled activity and workflow task and never releases it if the workflow is
    terminated first, so every later ``env.sleep`` of the session would hang.
    """
    loop = asyncio.get_running_loop()
    end = loop.time() + settle
    while WorkflowExecutionStatus((await describe_raw(case.handle)).status) == WorkflowExecutionStatus.RUNNING:
        if not await busy(case.handle) or loop.time() > end:
            await case.handle.terminate(reason="test finished")
            return
        await asyncio.sleep(0.05)


@contextlib.asynccontextmanager
async def case_starter(
    client: Client, pool: asyncpg.Pool, task_queue: str
) -> AsyncIterator[Callable[..., Awaitable[Case]]]:
    """``start(**referral_overrides)`` starts a case; on exit the cases still running are stopped."""
    started: list[Case] = []

    async def start(**overrides: Any) -> Case:
        case = await Case.start(client, pool, task_queue, referral(**overrides))
        started.append(case)
        return case

    try:
        yield start
    finally:
        for case in started:
            await stop(case)


async def every_event(client: Client, case_id: str) -> list[Any]:
    """The events of every run of a case, oldest first: it may continue as new inside a wait."""
    events: list[Any] = []
    run_id: str | None = None
    while True:
        history = await client.get_workflow_handle(case_id, run_id=run_id).fetch_history()
        events = list(history.events) + events
        run_id = history.events[0].workflow_execution_started_event_attributes.continued_execution_run_id or None
        if run_id is None:
            return events
