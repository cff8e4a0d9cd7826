"""The one client side of the case workflow: start a case, send it events, complete its
tasks, read its view, describe it.

The command line, the benchmark, the tests (and the HTTP API to come) all go through
``CaseClient``; it calls the workflow through ``CaseWorkflow.<method>`` references, so a
renamed method is a type error here rather than a string that silently stops matching.
The names the server records (signals, the update, the query) stay as ``workflows/case.py``
declares them: recorded histories depend on them.

The client talks only to Temporal. Intake holds the personal data in the CID first
(``cid.intake.hold_referral``, ``hold_certificate``), and the case gets only a reference
(docs/design.md, "Personal data held in the CID").

Messages go as the ``deliver_event`` update, whose answer is the case's own (applied,
already applied, refused); ``signal_event`` is for senders that fire and forget. A case
refuses updates for the moment it takes to continue as new (``case-busy``), the
server admits only a few updates in flight per case (RESOURCE_EXHAUSTED, 10 by default),
aborts those not yet accepted when a run ends (UNAVAILABLE) or when a workflow task fails
while they wait (FAILED_PRECONDITION, "workflow not ready"): the client sends again,
backing off. Sending again is safe: a message is applied once by its kind and event ID,
and an update that was not accepted did nothing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from typing import Any, Callable, TypeVar, Union

from temporalio.client import Client, WorkflowExecutionDescription, WorkflowHandle, WorkflowUpdateFailedError
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from casework.case import (
    CaseInput,
    CaseView,
    CertificateReceived,
    EventDelivery,
    EventReceipt,
    EventResult,
    LeftUk,
    PersonLocated,
    RepresentationsReceived,
    TaskCompleted,
    TaskCompletion,
    case_id_for,
    kind_of,
)
from casework.referral import Referral
from casework.rules import non_disclosable_reason
from workflows.case import CaseWorkflow
from workflows.continuing import CONTINUING_AS_NEW
from workflows.legacy import UNSUPPORTED

#: Every message another system or person can send a case.
CaseEvent = Union[PersonLocated, LeftUk, CertificateReceived, RepresentationsReceived]

#: The signal each event type is delivered by (names unchanged: recorded histories use them).
_SIGNAL_OF: dict[type, Callable[..., Any]] = {
    PersonLocated: CaseWorkflow.person_located,
    LeftUk: CaseWorkflow.left_uk_signal,
    CertificateReceived: CaseWorkflow.certificate_received,
    RepresentationsReceived: CaseWorkflow.representations_received,
}

#: How long a sender keeps sending again while a case is busy (it takes milliseconds).
BUSY_RETRY_FOR = timedelta(seconds=30)
T = TypeVar("T")

STATIC_DETAILS = "Case of the ACRO overseas-convictions process (no personal data here: see the CID)."


class Submitted(StrEnum):
    STARTED = "started"
    EXISTS = "already exists"
    CONFLICT = "refused"


@dataclass(frozen=True)
class SubmitResult:
    case_id: str
    status: Submitted
    reason: str = ""
    #: R02/R03: why the referral's certificate (certificate 1) was judged non-disclosable,
    #: when it was: the case destroys it and asks ACRO again. Said by the pure rule, before
    #: the case is started, so the person submitting hears it before anything is destroyed.
    non_disclosable: str | None = None

    @classmethod
    def conflicting(cls, referral: Referral) -> "SubmitResult":
        """R01: another referral holds this ACRO reference (``cid.intake.Held.CONFLICT``): nothing started."""
        return cls(case_id_for(referral.acro_reference), Submitted.CONFLICT,
                   f"a different referral with ACRO reference {referral.acro_reference} was submitted before")


class CaseClient:
    """Acting on cases as people and other systems do, through Temporal.

    ``task_queue`` is needed only by the methods that start a case.
    """

    def __init__(self, client: Client, *, task_queue: str | None = None) -> None:
        self.temporal = client
        self.task_queue = task_queue

    def handle(self, case_id: str) -> WorkflowHandle[CaseWorkflow, str]:
        return self.temporal.get_workflow_handle_for(CaseWorkflow.run, case_id)

    # ------------------------------------------------------------------ starting

    async def start(self, case_id: str, case_input: CaseInput, *, summary: str | None = None) -> WorkflowHandle[CaseWorkflow, str]:
        """Start the case ``case_id``; ``WorkflowAlreadyStartedError`` if it exists (one case per reference)."""
        if self.task_queue is None:
            raise ValueError("CaseClient needs a task_queue to start a case")
        return await self.temporal.start_workflow(
            CaseWorkflow.run, case_input, id=case_id, task_queue=self.task_queue,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            static_summary=summary, static_details=STATIC_DETAILS if summary else None,
        )

    async def submit(self, referral: Referral, *, actor: str) -> SubmitResult:
        """R01: start the case of a referral held in the CID (``cid.intake.hold_referral``,
        first): one case per ACRO reference; a repeat starts nothing and says it already exists.

        Held first, then started: a rerun after a failure in between finds the held referral
        and starts the case, so nothing is half-done.
        """
        case_id = case_id_for(referral.acro_reference)
        judged = non_disclosable_reason(referral.certificate)
        try:
            await self.start(case_id, CaseInput(acro_reference=referral.acro_reference, submitted_by=actor),
                             summary=f"ACRO referral {referral.acro_reference}")
        except WorkflowAlreadyStartedError:
            return SubmitResult(case_id, Submitted.EXISTS)
        return SubmitResult(case_id, Submitted.STARTED, non_disclosable=judged)

    # ------------------------------------------------------------------ events

    async def deliver_event(self, case_id: str, event: CaseEvent) -> EventReceipt:
        """Send a message and wait for what the case did with it: applied (and what it did),
        already applied (an identical repeat), or refused (why).

        A case started by an older release has no such update: it gets the signal, and the
        receipt says only that it was sent.
        """
        handle = self.handle(case_id)
        try:
            return await _sending_again(lambda: handle.execute_update(CaseWorkflow.deliver_event, EventDelivery.of(event)))
        except WorkflowUpdateFailedError as err:
            if not (isinstance(err.cause, ApplicationError) and err.cause.type == UNSUPPORTED):
                raise
        await self.send_event(case_id, event)
        return EventReceipt(kind=kind_of(event), event_id=event.event_id, result=EventResult.SENT,
                            detail="sent to a case of an older release, which applies it in its own time",
                            stage=(await self.view(case_id)).stage)

    async def send_event(self, case_id: str, event: CaseEvent) -> None:
        """Fire and forget: the case applies the message in order, in its own time."""
        try:
            signal = _SIGNAL_OF[type(event)]
        except KeyError:
            raise TypeError(f"not a case event: {type(event).__name__}") from None
        await self.handle(case_id).signal(signal, event)

    # ------------------------------------------------------------------ tasks and reading

    async def complete_task(
        self, case_id: str, completion: TaskCompletion, *, update_id: str | None = None,
        rpc_timeout: timedelta | None = None,
    ) -> TaskCompleted:
        """Complete a task through the workflow's update: its validator refuses an outcome
        that is not legal now (``WorkflowUpdateFailedError``) before anything is written."""
        handle = self.handle(case_id)
        return await _sending_again(lambda: handle.execute_update(
            CaseWorkflow.complete_task, completion, id=update_id, rpc_timeout=rpc_timeout))

    async def view(self, case_id: str, *, rpc_timeout: timedelta | None = None) -> CaseView:
        """The workflow's own account of the case (no personal data)."""
        return await self.handle(case_id).query(CaseWorkflow.view, rpc_timeout=rpc_timeout)

    async def describe(self, case_id: str, *, rpc_timeout: timedelta | None = None) -> WorkflowExecutionDescription:
        return await self.handle(case_id).describe(rpc_timeout=rpc_timeout)


async def _sending_again(send: Callable[[], Awaitable[T]]) -> T:
    """Call ``send`` (an update) again while the case or the server is busy, for up to
    BUSY_RETRY_FOR; anything else is raised at once."""
    loop = asyncio.get_running_loop()
    give_up = loop.time() + BUSY_RETRY_FOR.total_seconds()
    pause = 0.05
    while True:
        try:
            return await send()
        except WorkflowUpdateFailedError as err:
            busy = isinstance(err.cause, ApplicationError) and err.cause.type == CONTINUING_AS_NEW
            if not busy or loop.time() > give_up:
                raise
        except RPCError as err:
            if not _not_accepted(err) or loop.time() > give_up:
                raise
        await asyncio.sleep(pause)
        pause = min(pause * 2, 1.0)


def _not_accepted(err: RPCError) -> bool:
    """The update was not accepted, so it did nothing: too many in flight, aborted as the run
    continued as new, or a workflow task that failed (timed out on a busy worker) meanwhile."""
    if err.status in (RPCStatusCode.RESOURCE_EXHAUSTED, RPCStatusCode.UNAVAILABLE):
        return True
    return err.status is RPCStatusCode.FAILED_PRECONDITION and "workflow task" in err.message.lower()
