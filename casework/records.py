"""What the workflow asks the CID activities to record: one model per activity.

Kept apart from the activities themselves so that the workflow module imports no
database driver. Every model carries ``at``, the workflow's own clock: business times
in the CID are the case's times (simulated in tests), not the worker's wall clock.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from casework.case import Stage
from casework.referral import WhereaboutsStatus

SYSTEM_ACTOR = "system:case-workflow"
#: The audit log's word for a transition (``SetStage`` within a stage says what changed instead).
STAGE_ENTERED = "stage entered"


class Record(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    case_id: str
    at: datetime


class RecordReferral(Record):
    """R01/R02: take the submitted referral (held in the CID by reference) into the case."""

    actor: str


class ReferralFacts(BaseModel):
    """What the workflow's rules need from a referral - and nothing personal."""

    disclosable: bool
    eea: bool
    most_serious: bool
    whereabouts: WhereaboutsStatus
    release_date: date | None = None


class RecordCertificate(Record):
    """Take a certificate handed in after intake (by ``intake_certificates`` ID)."""

    seq: int
    certificate_id: int
    actor: str
    event_id: str


class CertificateFacts(BaseModel):
    disclosable: bool
    most_serious: bool
    #: Why the certificate could not be taken (none was handed in under that ID): no retry
    #: can make it right, so it is answered, not raised.
    refused: str | None = None


class DestroyCertificate(Record):
    """R03: note, new ACRO request, destruction of certificate ``seq``."""

    seq: int


class RegisterCase(Record):
    """R04, from the newest disclosable certificate."""


class RestrictedStep(Record):
    rule: str


class RouteCase(Record):
    eea: bool
    whereabouts: str


class RecordDecision(Record):
    """Issue 20: a decision the case took at ``step`` (casework/decisions.py), by ``actor``.

    ``facts`` are ``Fact.stored()`` forms: the activity rebuilds the decision, so the
    sentence recorded is the rule's template applied to it, not words the workflow sent."""

    step: str
    actor: str
    rule: str
    outcome: str
    subject: str | None = None
    facts: list[dict[str, Any]] = Field(default_factory=list)


class OpenInboxTask(Record):
    """Open a task's inbox row in the CID (the task as the case holds it: ``casework.case.OpenTask``)."""

    key: str
    kind: str
    title: str
    team: str
    due_at: datetime
    escalates: str | None = None


class CompleteTask(Record):
    key: str
    outcome: str
    details: dict[str, Any] = Field(default_factory=dict)
    actor: str


class EscalateTask(Record):
    key: str
    number: int
    review_key: str
    review_team: str
    review_due_at: datetime


class SendMessage(Record):
    key: str
    recipient: str
    form: str
    body: dict[str, Any] = Field(default_factory=dict)


class SetStage(Record):
    stage: Stage
    seq: int
    #: The audit entry's action: a transition is "stage entered"; a change within a stage is not.
    action: str = STAGE_ENTERED
    #: Clear the case's outcome (a dormant case open again is no longer "liable to deport").
    clear_outcome: bool = False
    status: str | None = None
    outcome: str | None = None
    case_owner: str | None = None
    detention_power: str | None = None
    custody: str | None = None
    disclosable: bool | None = None


class AddNote(Record):
    key: str
    text: str


class AuditEvent(Record):
    event_key: str
    actor: str
    action: str
    detail: dict[str, Any] = Field(default_factory=dict)


class RecordMessage(Record):
    """A message from another system, recorded once per (kind, event ID) with its content hash."""

    event_key: str
    actor: str
    action: str
    content_hash: str
    #: The case's count of messages it has applied: a retry of this activity carries the
    #: same number, so it is told "new" again, not mistaken for a repeat of the message.
    delivery: int
    #: The event ID is among those a run before messages-v2 saw (of any kind): the CID says
    #: whether it was this kind.
    legacy_action: str | None = None
    detail: dict[str, Any] = Field(default_factory=dict)


class MessageStatus(StrEnum):
    NEW = "new"
    REPEAT = "repeat"
    CONFLICT = "conflict"


class CloseCase(Record):
    outcome: str
