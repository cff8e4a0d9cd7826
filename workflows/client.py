"""The one client side of the case workflow: start a case, send it events, complete its
tasks, read its view, describe it.

The command line, the benchmark, the tests (and the HTTP API to come) all go through
``CaseClient``; it calls the workflow through ``CaseWorkflow.<method>`` references, so a
renamed method is a type error here rather than a string that silently stops matching.
The names the server records (signals, the update, the query) stay as ``workflows/case.py``
declares them: recorded histories depend on them.

Intake (``submit``, ``hand_in_certificate``) holds the personal data in the CID first
and gives the case only a reference (docs/design.md, "Personal data held in the CID").
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from typing import Any, Callable, Union

import asyncpg
from temporalio.client import Client, WorkflowExecutionDescription, WorkflowHandle
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

from casework.case import (
    CaseInput,
    CaseView,
    CertificateReceived,
    LeftUk,
    PersonLocated,
    RepresentationsReceived,
    TaskCompleted,
    TaskCompletion,
    case_id_for,
)
from casework.referral import Certificate, Referral
from cid import intake
from workflows.case import CaseWorkflow

#: Every message another system or person can send a case.
CaseEvent = Union[PersonLocated, LeftUk, CertificateReceived, RepresentationsReceived]

#: The signal each event type is delivered by (names unchanged: recorded histories use them).
_SIGNAL_OF: dict[type, Callable[..., Any]] = {
    PersonLocated: CaseWorkflow.person_located,
    LeftUk: CaseWorkflow.left_uk_signal,
    CertificateReceived: CaseWorkflow.certificate_received,
    RepresentationsReceived: CaseWorkflow.representations_received,
}

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


def fingerprint(model: Referral | Certificate) -> str:
    """What makes two submissions "the same": the canonical JSON of the validated model."""
    canonical = json.dumps(model.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


class CaseClient:
    """Acting on cases as people and other systems do, through Temporal (and the CID for intake).

    ``pool`` is needed only by ``submit`` and ``hand_in_certificate``; ``task_queue`` only
    by the methods that start a case.
    """

    def __init__(self, client: Client, *, pool: asyncpg.Pool | None = None, task_queue: str | None = None) -> None:
        self.temporal = client
        self.pool = pool
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
        """R01: one case per ACRO reference; a repeat starts nothing and says it already exists.

        The referral is held first, then the case is started; a rerun after a failure in
        between finds the held referral and starts the case, so nothing is half-done.
        """
        case_id = case_id_for(referral.acro_reference)
        async with self._pool().acquire() as conn:
            held = await intake.submit_referral(conn, case_id, referral, fingerprint(referral), actor)
        if held == "conflict":
            return SubmitResult(case_id, Submitted.CONFLICT,
                                f"a different referral with ACRO reference {referral.acro_reference} was submitted before")
        try:
            await self.start(case_id, CaseInput(acro_reference=referral.acro_reference, submitted_by=actor),
                             summary=f"ACRO referral {referral.acro_reference}")
        except WorkflowAlreadyStartedError:
            return SubmitResult(case_id, Submitted.EXISTS)
        return SubmitResult(case_id, Submitted.STARTED)

    # ------------------------------------------------------------------ events

    async def send_event(self, case_id: str, event: CaseEvent) -> None:
        """Deliver one event to its case. Today each event type is its signal; the event ID
        makes a repeat harmless (the workflow ignores an ID it has seen)."""
        try:
            signal = _SIGNAL_OF[type(event)]
        except KeyError:
            raise TypeError(f"not a case event: {type(event).__name__}") from None
        await self.handle(case_id).signal(signal, event)

    async def hand_in_certificate(self, case_id: str, certificate: Certificate, *, event_id: str, actor: str) -> int:
        """R03 -> R04: hold a new ACRO certificate in the CID and tell its case (a repeat is harmless)."""
        async with self._pool().acquire() as conn:
            certificate_id = await intake.submit_certificate(
                conn, case_id, event_id, certificate, fingerprint(certificate), actor)
        await self.send_event(case_id, CertificateReceived(event_id=event_id, actor=actor, certificate_id=certificate_id))
        return certificate_id

    # ------------------------------------------------------------------ tasks and reading

    async def complete_task(
        self, case_id: str, completion: TaskCompletion, *, update_id: str | None = None,
        rpc_timeout: timedelta | None = None,
    ) -> TaskCompleted:
        """Complete a task through the workflow's update: its validator refuses an outcome
        that is not legal now (``WorkflowUpdateFailedError``) before anything is written."""
        return await self.handle(case_id).execute_update(
            CaseWorkflow.complete_task, completion, id=update_id, rpc_timeout=rpc_timeout)

    async def view(self, case_id: str, *, rpc_timeout: timedelta | None = None) -> CaseView:
        """The workflow's own account of the case (no personal data)."""
        return await self.handle(case_id).query(CaseWorkflow.view, rpc_timeout=rpc_timeout)

    async def describe(self, case_id: str, *, rpc_timeout: timedelta | None = None) -> WorkflowExecutionDescription:
        return await self.handle(case_id).describe(rpc_timeout=rpc_timeout)

    def _pool(self) -> asyncpg.Pool:
        if self.pool is None:
            raise ValueError("CaseClient needs the CID's pool for intake")
        return self.pool
