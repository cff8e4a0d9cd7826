"""The case as the workflow sees it: its input, its state, and the messages it takes.

The state holds no names, dates of birth or conviction texts: those live in the CID
(the read model and the record). What the workflow keeps are the facts its rules need.
"""

from __future__ import annotations

import hashlib
import json
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationInfo, model_validator

from casework.keys import WORKFLOW_ID_PREFIX
from casework.referral import WhereaboutsStatus, check_release_date
from casework.refusals import RefusalCode

Actor = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[A-Za-z0-9._@:-]{2,64}$")]
# No control characters: an event ID is recorded in the CID (PostgreSQL refuses NUL), and a
# signal whose ID fails this is dropped by the worker instead of wedging its case.
EventId = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=128, pattern=r"^[^\x00-\x1f\x7f]+$")]

#: The validation context of a message as a person or system hands it in (not as the workflow decodes it).
AT_THE_DOOR = {"at_the_door": True}


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
    #: When the next escalation or reminder falls due (carried across continue-as-new).
    next_deadline: datetime | None = None


class TaskResult(Model):
    key: str
    kind: str
    outcome: str
    details: dict[str, Any] = Field(default_factory=dict)
    actor: str
    at: datetime


class DoneTask(Model):
    """A task settled recently: enough to tell a late completion who settled it and when."""

    key: str
    outcome: str
    actor: str
    at: datetime


class CaseState(Model):
    """Everything a case carries across continue-as-new.

    Bounded (docs/design.md, "Messages"): results hold the current stage visit's tasks
    only, ``recent_events`` and ``recent_done`` are windows of fixed size, and the inbox
    carries only messages not yet applied. The CID keeps the full record.
    """

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
    #: Event IDs of runs before messages-v2 (IDs of every kind in one list); no longer grows.
    seen_events: list[str] = Field(default_factory=list)
    runs: int = 1
    transitions: int = 0
    dormant_periods: int = 0
    # --- messages-v2 (workflow.patched): messages queued, applied by the main line ---------
    #: Messages received and not yet applied, in arrival order (only signals are carried).
    inbox: list["Inbound"] = Field(default_factory=list)
    #: (kind:event ID) -> content hash of the most recent messages applied (a bounded window;
    #: older repeats are recognised by the CID's audit log).
    recent_events: dict[str, str] = Field(default_factory=dict)
    recent_done: list[DoneTask] = Field(default_factory=list)
    messages_applied: int = 0
    #: What the current stage visit has done: a stage re-entered after continue-as-new
    #: resumes its open task instead of repeating what it did (cleared on each stage entry).
    visit_tasks: dict[str, str] = Field(default_factory=dict)
    visit_steps: list[str] = Field(default_factory=list)
    #: Who sent the message that set each fact: a task it settles is credited to them (R30 audit).
    located_by: str | None = None
    left_uk_by: str | None = None
    certificate_by: str | None = None
    #: The task that recorded the latest decision not to pursue (R50's submission points to it).
    not_pursue_task: str | None = None
    #: None in runs before messages-v2: the window ended with the notice's stage visit.
    window_ended: bool | None = None
    #: A case owner confirmed, in Stage C-F, that the person has left the UK (R11).
    left_uk_confirmed: bool = False

    def mark_located(self, detained: bool) -> None:
        """The person has been found (R16 -> R20); detained, if so."""
        self.located = True
        if detained:
            self.detained = True
            self.whereabouts = WhereaboutsStatus.DETAINED


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

    @model_validator(mode="after")
    def _in_prison_has_a_release_date(self, info: ValidationInfo) -> "PersonLocated":
        # At the door only (validated with ``AT_THE_DOOR``): decoded in the workflow, a
        # message taken before this rule existed must replay as it ran.
        if isinstance(info.context, dict) and info.context.get("at_the_door"):
            check_release_date(self.custody, self.release_date, field="custody")
        return self


class LeftUk(Event):
    """R11: NBTC (or another source) confirms the person has left the UK."""


class CertificateReceived(Event):
    """R03 -> R04: a new ACRO certificate has arrived (held in ``intake_certificates``)."""

    certificate_id: int


class RepresentationsReceived(Event):
    """R43: representations against the Stage 1 notice."""


class EventKind(StrEnum):
    """The kinds of message other systems send a case; the CLI and API name them so."""

    LOCATED = "located"
    LEFT_UK = "left-uk"
    CERTIFICATE = "certificate"
    REPRESENTATIONS = "representations"


EVENT_KINDS: dict[type[Event], EventKind] = {
    PersonLocated: EventKind.LOCATED,
    LeftUk: EventKind.LEFT_UK,
    CertificateReceived: EventKind.CERTIFICATE,
    RepresentationsReceived: EventKind.REPRESENTATIONS,
}


def kind_of(event: Event) -> EventKind:
    return EVENT_KINDS[type(event)]


def message_key(kind: EventKind, event_id: str) -> str:
    """What identifies one message: its kind and the sender's event ID (never the ID alone)."""
    return f"{kind.value}:{event_id}"


def content_hash(event: Event) -> str:
    """A repeat must carry the same content as the first delivery: compared by this hash."""
    body = json.dumps(event.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(body.encode()).hexdigest()[:32]


class OneEvent(Model):
    """One message in one of four shapes: exactly one field is set."""

    located: PersonLocated | None = None
    left_uk: LeftUk | None = None
    certificate: CertificateReceived | None = None
    representations: RepresentationsReceived | None = None

    def events(self) -> list[Event]:
        return [e for e in (self.located, self.left_uk, self.certificate, self.representations) if e is not None]

    @property
    def event(self) -> Event:
        found = self.events()
        assert len(found) == 1, "exactly one event"
        return found[0]


_SHAPE_FIELD = {
    EventKind.LOCATED: "located", EventKind.LEFT_UK: "left_uk",
    EventKind.CERTIFICATE: "certificate", EventKind.REPRESENTATIONS: "representations",
}


class EventDelivery(OneEvent):
    """The ``deliver_event`` update: one message whose sender waits for what the case did."""

    @classmethod
    def of(cls, event: Event) -> "EventDelivery":
        return cls(**{_SHAPE_FIELD[kind_of(event)]: event})


class Inbound(OneEvent):
    """A message or a task completion waiting for the main line to apply it, in order.

    ``ticket`` names the update whose sender waits for the answer; such items never cross
    continue-as-new (the case answers them first), so only signals' messages are carried.
    """

    completion: "TaskCompletion | None" = None
    ticket: int | None = None

    @classmethod
    def of(cls, event: Event, ticket: int | None = None) -> "Inbound":
        return cls(ticket=ticket, **{_SHAPE_FIELD[kind_of(event)]: event})


class EventResult(StrEnum):
    APPLIED = "applied"
    ALREADY_APPLIED = "already applied"
    REFUSED = "refused"
    #: Only by the client, for a case of an older release: signalled, no answer to be had.
    SENT = "sent"


class EventReceipt(Model):
    """What the case did with a message, as the case itself says."""

    kind: EventKind
    event_id: str
    result: EventResult
    detail: str
    stage: Stage
    #: A refusal's code and rule (issue 20); None unless ``result`` is refused.
    code: RefusalCode | None = None
    rule: str | None = None


# --- Updates -----------------------------------------------------------------------


class Acting(Model):
    """Who completes a task as the API verified them (issue 15): the token's subject, roles
    and teams. The workflow's validator checks them against the task's team too (defence
    in depth); ``actor`` is then ``subject``."""

    subject: Actor
    roles: list[str] = Field(default_factory=list)
    teams: list[str] = Field(default_factory=list)


class TaskCompletion(Model):
    task_key: str
    outcome: str
    actor: Actor
    details: dict[str, Any] = Field(default_factory=dict)
    #: Set by the API; None from older clients and operator tools.
    acting: Acting | None = None


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

    @classmethod
    def of(cls, s: CaseState) -> "CaseView":
        return cls(
            case_id=s.case_id, stage=s.stage, waiting_on=s.waiting_on, team=s.team, case_owner=s.case_owner,
            outcome=s.outcome, open_tasks=sorted(s.open_tasks.values(), key=lambda t: t.due_at),
            notice_served_at=s.notice_served_at, respond_by=s.respond_by,
            overdue=any(t.overdue for t in s.open_tasks.values()), runs=s.runs,
        )


Inbound.model_rebuild()
CaseState.model_rebuild()
