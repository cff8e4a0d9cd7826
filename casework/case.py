"""The case as the workflow sees it: its input, its state, and the messages it takes.

The state holds no names, dates of birth or conviction texts: those live in the CID
(the read model and the record). What the workflow keeps are the facts its rules need.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from casework.keys import WORKFLOW_ID_PREFIX
from casework.referral import WhereaboutsStatus

Actor = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[A-Za-z0-9._@:-]{2,64}$")]
# No control characters: an event ID is recorded in the CID (PostgreSQL refuses NUL), and a
# signal whose ID fails this is dropped by the worker instead of wedging its case.
EventId = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=128, pattern=r"^[^\x00-\x1f\x7f]+$")]



def case_id_for(acro_reference: str) -> str:
    """The workflow ID (and CID case ID) of a referral: one case per ACRO reference.

    "/" is not allowed in IDs people type, so it becomes "_", which a reference never contains.
    """
    return WORKFLOW_ID_PREFIX + acro_reference.upper().replace("/", "_")


class Stage(StrEnum):
    INTAKE = "A-intake"
    AWAITING_CERTIFICATE = "A-awaiting-certificate"
    REGISTRATION = "A-registration"
    FIRST_ACTIONS = "B-first-actions"
    DORMANT = "B-dormant"
    LOCATED = "C-located"
    DETENTION = "D-detention"
    CONSIDERATION = "E-consideration"
    NOT_PURSUED = "F-not-pursued"
    CLOSED = "closed"


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class OpenTask(Model):
    key: str
    kind: str
    team: str
    due_at: datetime
    overdue: bool = False
    escalations: int = 0


class TaskResult(Model):
    key: str
    kind: str
    outcome: str
    details: dict[str, Any] = Field(default_factory=dict)
    actor: str
    at: datetime


class CaseState(Model):
    """Everything a case carries across continue-as-new."""

    case_id: str
    stage: Stage = Stage.INTAKE
    eea: bool = False
    most_serious: bool = False
    whereabouts: WhereaboutsStatus = WhereaboutsStatus.UNKNOWN
    release_date: date | None = None
    #: R30: the convictions are disclosable for immigration purposes and available.
    convictions_disclosable: bool = False
    #: Certificate 1 came with the referral; later ones arrive by message.
    certificates_received: int = 1
    team: str | None = None
    case_owner: str | None = None
    marker_added: bool = False  # R13 -> R21
    located: bool = False
    left_uk: bool = False
    detained: bool = False
    notice_served_at: datetime | None = None
    respond_by: datetime | None = None
    representations_at: datetime | None = None
    outcome: str | None = None
    waiting_on: str | None = None
    task_seq: dict[str, int] = Field(default_factory=dict)
    open_tasks: dict[str, OpenTask] = Field(default_factory=dict)
    results: dict[str, TaskResult] = Field(default_factory=dict)
    seen_events: list[str] = Field(default_factory=list)
    runs: int = 1
    transitions: int = 0
    dormant_periods: int = 0


class CaseInput(Model):
    """A new case names its submitted referral; a continued case carries its state.

    The referral itself stays in the CID (``intake_referrals``): personal data never
    travels through Temporal history, so destroying it in the CID destroys it (R03).
    """

    acro_reference: str | None = None
    submitted_by: Actor = "system:intake"
    state: CaseState | None = None


# --- Signals: messages from other systems and people (any stage, repeats harmless) -----


class Event(Model):
    event_id: EventId
    actor: Actor


class PersonLocated(Event):
    """R16 -> R20: the person has been found."""

    custody: WhereaboutsStatus = WhereaboutsStatus.CONFIRMED_ADDRESS
    release_date: date | None = None


class LeftUk(Event):
    """R11: NBTC (or another source) confirms the person has left the UK."""


class CertificateReceived(Event):
    """R03 -> R04: a new ACRO certificate has arrived (held in ``intake_certificates``)."""

    certificate_id: int


class RepresentationsReceived(Event):
    """R43: representations against the Stage 1 notice."""


# --- Updates -----------------------------------------------------------------------


class TaskCompletion(Model):
    task_key: str
    outcome: str
    actor: Actor
    details: dict[str, Any] = Field(default_factory=dict)


class TaskCompleted(Model):
    task_key: str
    outcome: str
    stage: Stage


# --- Query -------------------------------------------------------------------------


class CaseView(Model):
    case_id: str
    stage: Stage
    waiting_on: str | None
    team: str | None
    case_owner: str | None
    outcome: str | None
    open_tasks: list[OpenTask]
    notice_served_at: datetime | None
    respond_by: datetime | None
    overdue: bool
    runs: int
