"""Handing referrals and certificates to the system: validated, held in the CID, then
given to the case workflow by reference. Used by the command line and the tests."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from enum import StrEnum

import asyncpg
from temporalio.client import Client, WorkflowHandle
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

from casework.case import CaseInput, CertificateReceived, case_id_for
from casework.referral import Certificate, Referral
from casework.rules import non_disclosable_reason
from cid import intake
from workflows.case import CaseWorkflow


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


def fingerprint(model: Referral | Certificate) -> str:
    canonical = json.dumps(model.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


async def submit_referral(
    client: Client, pool: asyncpg.Pool, referral: Referral, *, actor: str, task_queue: str
) -> SubmitResult:
    """One case per ACRO reference: a repeat starts nothing and says it already exists.

    The referral is held first, then the case is started; a rerun after a failure in
    between finds the held referral and starts the case, so nothing is half-done.
    """
    case_id = case_id_for(referral.acro_reference)
    judged = non_disclosable_reason(referral.certificate)
    async with pool.acquire() as conn:
        held = await intake.submit_referral(conn, case_id, referral, fingerprint(referral), actor)
    if held == "conflict":
        return SubmitResult(case_id, Submitted.CONFLICT,
                            f"a different referral with ACRO reference {referral.acro_reference} was submitted before")
    try:
        await client.start_workflow(
            CaseWorkflow.run,
            CaseInput(acro_reference=referral.acro_reference, submitted_by=actor),
            id=case_id,
            task_queue=task_queue,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            static_summary=f"ACRO referral {referral.acro_reference}",
            static_details="Case of the ACRO overseas-convictions process (no personal data here: see the CID).",
        )
    except WorkflowAlreadyStartedError:
        return SubmitResult(case_id, Submitted.EXISTS)
    return SubmitResult(case_id, Submitted.STARTED, non_disclosable=judged)


async def hold_certificate(
    pool: asyncpg.Pool, case_id: str, certificate: Certificate, *, event_id: str, actor: str
) -> int | None:
    """R03 -> R04: hold a new ACRO certificate for its case; the same event ID with the same
    certificate gives the same ID, with another certificate None (a conflicting repeat)."""
    async with pool.acquire() as conn:
        return await intake.submit_certificate(conn, case_id, event_id, certificate, fingerprint(certificate), actor)


async def hand_in_certificate(
    client: Client, pool: asyncpg.Pool, case_id: str, certificate: Certificate, *, event_id: str, actor: str
) -> int:
    """Hold a certificate and signal its case (fire and forget; ``casework event`` waits for the answer)."""
    certificate_id = await hold_certificate(pool, case_id, certificate, event_id=event_id, actor=actor)
    if certificate_id is None:
        raise ValueError(f"certificate event {event_id} was handed in before with a different certificate")
    handle: WorkflowHandle = client.get_workflow_handle(case_id)
    await handle.signal(CaseWorkflow.certificate_received, CertificateReceived(event_id=event_id, actor=actor, certificate_id=certificate_id))
    return certificate_id
