"""The client side of the case workflow: delivering a message and completing a task.

A case refuses updates for the moment it takes to continue as new (``ContinuingAsNew``),
and the server admits only a few updates in flight per case at once (RESOURCE_EXHAUSTED,
10 by default), aborts those not yet accepted when a run ends (UNAVAILABLE) or when a
workflow task fails while they wait (FAILED_PRECONDITION, "workflow not ready"): the
sender is then to send again, and these functions do so, backing off. Sending again is
safe: a message is applied once by its kind and event ID, and an update that was not
accepted did nothing.
Everything that talks to a case goes through here, by method reference, never by name.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from casework.case import (
    CertificateReceived, Event, EventDelivery, EventReceipt, EventResult, LeftUk, PersonLocated,
    RepresentationsReceived, TaskCompleted, TaskCompletion, kind_of,
)
from workflows.case import CONTINUING_AS_NEW, UNSUPPORTED, CaseWorkflow

#: The signal that carries each kind of message, for senders that fire and forget.
SIGNALS = {
    PersonLocated: CaseWorkflow.person_located,
    LeftUk: CaseWorkflow.left_uk_signal,
    CertificateReceived: CaseWorkflow.certificate_received,
    RepresentationsReceived: CaseWorkflow.representations_received,
}

#: How long a sender keeps retrying while a case continues as new (it takes milliseconds).
BUSY_RETRY_FOR = timedelta(seconds=30)


def _send_again(err: RPCError) -> bool:
    if err.status in (RPCStatusCode.RESOURCE_EXHAUSTED, RPCStatusCode.UNAVAILABLE):
        return True
    return err.status is RPCStatusCode.FAILED_PRECONDITION and "workflow task" in err.message.lower()


def _busy(err: WorkflowUpdateFailedError) -> bool:
    return isinstance(err.cause, ApplicationError) and err.cause.type == CONTINUING_AS_NEW


async def deliver_event(client: Client, case_id: str, event: Event) -> EventReceipt:
    """Send a message and wait for what the case did with it (applied / already applied / refused).

    A case started by an older release has no such update: it gets the signal, and the
    receipt says only that it was sent.
    """
    handle = client.get_workflow_handle(case_id)
    try:
        return await _retrying(lambda: handle.execute_update(CaseWorkflow.deliver_event, EventDelivery.of(event)))
    except WorkflowUpdateFailedError as err:
        if not (isinstance(err.cause, ApplicationError) and err.cause.type == UNSUPPORTED):
            raise
    await signal_event(client, case_id, event)
    return EventReceipt(kind=kind_of(event), event_id=event.event_id, result=EventResult.SENT,
                        detail="sent to a case of an older release, which applies it in its own time",
                        stage=(await handle.query(CaseWorkflow.view)).stage)


async def signal_event(client: Client, case_id: str, event: Event) -> None:
    """Fire and forget: the case applies the message in order, in its own time."""
    await client.get_workflow_handle(case_id).signal(SIGNALS[type(event)], event)


async def complete_task(client: Client, case_id: str, completion: TaskCompletion) -> TaskCompleted:
    """Complete a task; the case's validator (or, after a race, the case itself) may refuse it."""
    return await _retrying(lambda: client.get_workflow_handle(case_id).execute_update(
        CaseWorkflow.complete_task, completion))


async def retrying(send):  # type: ignore[no-untyped-def]
    """Call ``send`` (an update) again while the case is busy, for up to BUSY_RETRY_FOR."""
    return await _retrying(send)


async def _retrying(send):  # type: ignore[no-untyped-def]
    loop = asyncio.get_running_loop()
    give_up = loop.time() + BUSY_RETRY_FOR.total_seconds()
    pause = 0.05
    while True:
        try:
            return await send()
        except WorkflowUpdateFailedError as err:
            if not _busy(err) or loop.time() > give_up:
                raise
        except RPCError as err:
            # Not accepted, so not applied: too many in flight, aborted as the run continued as
            # new, or a workflow task that failed (timed out on a busy worker) while it waited.
            if not _send_again(err) or loop.time() > give_up:
                raise
        await asyncio.sleep(pause)
        pause = min(pause * 2, 1.0)
