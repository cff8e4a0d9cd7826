"""What the API answers, as pydantic models: the routes return them and the ``casework``
command reads its answers with them (starter/api_client.py), so the two cannot drift.

Light to import (pydantic and the pure ``casework`` package only): the command line loads
it at every start. The problem document is here too, for the same reason.
"""

from __future__ import annotations

import typing
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, StringConstraints

from access.policy import Purpose
from casework.case import EventKind, EventResult, Stage
from casework.refusals import RefusalCode
from casework.rules import MAX_PURPOSE_CHARS
from casework.tasks import TASK_KINDS


class FieldError(BaseModel):
    field: str = Field(description="Where in the request: 'body.certificate.issued_on', 'query.limit'")
    message: str


class ProblemDocument(BaseModel):
    """RFC 9457. ``rule`` names the guidance's rule (docs/rules.md) when one refused."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None
    rule: str | None = None
    code: RefusalCode | None = Field(None, description="The refusal's code (docs/api.md, 'Refusals'), when the case refused")
    errors: list[FieldError] | None = None


# ---------------------------------------------------------------------------- cases


class CaseSummary(BaseModel):
    """A case as the list shows it: no personal data."""

    case_id: str
    stage: str
    status: str = Field(description="open, dormant or closed")
    team: str | None
    case_owner: str | None
    outcome: str | None
    opened_at: datetime
    next_due: datetime | None = Field(description="The soonest open task's due time (or the Stage 1 window's end)")
    overdue: bool
    open_task_count: int


class CasePage(BaseModel):
    cases: list[CaseSummary]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last page")


class OpenTask(BaseModel):
    """An open task of a case; its fields are named as a task's (``TaskOut``)."""

    task_id: int
    key: str
    kind: str
    title: str
    team: str
    assignee: str | None
    due_at: datetime
    overdue: bool


class CaseDetail(CaseSummary):
    """One case: no personal data (that is POST /cases/{case_id}/personal-data)."""

    updated_at: datetime
    closed_at: datetime | None
    open_tasks: list[OpenTask]


class PersonalDataRequest(BaseModel):
    """R60: why the personal data is read. The purpose must be one the caller's role has
    (docs/access.md); the reason is recorded as given: say why, do not repeat personal data."""

    model_config = {"extra": "forbid"}
    purpose: Purpose
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_PURPOSE_CHARS,
                                             pattern=r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]+$")]


class PersonalData(BaseModel):
    """The case's personal data as the CID holds it; the read is recorded as ``audit_event``."""

    case_id: str
    audit_event: str = Field(description="The audit log's record of this read (R60)")
    acro_reference: str
    purged_at: datetime | None = Field(description="When retention purged the personal data, if it has (then little is left)")
    referral: dict[str, Any] | None
    subject: dict[str, Any] | None
    convictions: list[dict[str, Any]]
    certificates: list[dict[str, Any]]


# ---------------------------------------------------------------------------- tasks


class OutcomeField(BaseModel):
    """One detail a person records with an outcome (``--detail name=value``)."""

    name: str
    type: Literal["text", "boolean", "date"] = Field(description="text; boolean (true/false); date (YYYY-MM-DD)")
    required: bool


class LegalOutcome(BaseModel):
    """An outcome a person may complete the task with, and the details it records."""

    outcome: str
    fields: list[OutcomeField]
    needs_disclosable: str | None = Field(
        None, description="R30/R61: taken only when the case's convictions are disclosable and available: why")


class TaskOut(BaseModel):
    """A task, without the details recorded with its outcome (free text people typed)."""

    task_id: int
    case_id: str
    key: str
    kind: str
    title: str
    team: str = Field(description="A fixed team, the case's routed team, or the case owner's staff ID once allocated")
    assignee: str | None
    status: str = Field(description="open, done or cancelled")
    due_at: datetime
    overdue: bool
    outcome: str | None
    completed_by: str | None
    completed_at: datetime | None
    created_at: datetime
    outcomes: list[str] = Field(description="The outcomes a person may complete it with (none: an event settles it)")


class TaskDetail(TaskOut):
    """One task, with what completing it needs: each legal outcome and its fields (the task table)."""

    legal_outcomes: list[LegalOutcome]


class TaskPage(BaseModel):
    tasks: list[TaskOut]
    next_cursor: str | None = Field(description="Give as ``cursor`` for the next page; null on the last")


class CompletionOut(BaseModel):
    task_id: int
    case_id: str
    key: str
    outcome: str
    stage: str = Field(description="The case's stage as the case says: with 'Prefer: wait=N', once it has acted on "
                                   "the completion ('closed' when the outcome closed it); else the stage it took the "
                                   "completion in")
    closed: bool = Field(default=False, description="The completion closed the case (known when waited for)")
    completed_by: str


class Held(TaskOut):
    """A task after a claim, an unclaim or an assignment."""

    changed: bool = Field(True, description="false: it was so already (e.g. claimed by you), nothing was recorded")


def _field_type(annotation: Any) -> Literal["text", "boolean", "date"]:
    kinds = {annotation, *typing.get_args(annotation)}
    if bool in kinds:
        return "boolean"
    if date in kinds:
        return "date"
    return "text"


def legal_outcomes(kind: str) -> list[LegalOutcome]:
    """The outcomes a person may complete a task of this kind with, from the task table."""
    spec = TASK_KINDS.get(kind)
    if spec is None:
        return []
    return [
        LegalOutcome(
            outcome=str(outcome),
            fields=[OutcomeField(name=name, type=_field_type(info.annotation), required=info.is_required())
                    for name, info in model.model_fields.items()],
            needs_disclosable=spec.needs_disclosable.get(outcome),
        )
        for outcome, model in sorted(spec.details.items())
    ]


# ---------------------------------------------------------------------------- feeds


class Message(BaseModel):
    message_id: int
    case_id: str
    acro_reference: str
    form: str
    body: dict[str, Any]
    sent_at: datetime = Field(description="When the case sent it (the case's business time)")
    acknowledged_by: str | None
    acknowledged_at: datetime | None


class FeedPage(BaseModel):
    recipient: str
    messages: list[Message]
    next_after: int = Field(description="Give as ``after`` to read on (the last message ID read, or ``after`` itself)")
    more: bool = Field(description="More messages follow this page")


# ---------------------------------------------------------------------------- referrals and events


class Started(BaseModel):
    """The case for the referral: started now (201), or there already (200)."""

    case_id: str = Field(description="The case's ID (acro-case-…): where it is found, /cases/{case_id}")
    status: Literal["started", "already exists"]
    non_disclosable: str | None = Field(
        None, description="R02/R03: why certificate 1 was judged non-disclosable, when it was: the case destroys it "
                          "and asks ACRO again")


class BatchItem(BaseModel):
    index: int = Field(description="The referral's place in the batch, from 0")
    status: int = Field(description="What POST /referrals would have answered for it: 201, 200, 409 or 422")
    result: Literal["started", "already exists", "refused"]
    case_id: str | None = None
    non_disclosable: str | None = None
    problem: ProblemDocument | None = Field(None, description="Why it was refused (409, 422)")


class BatchAnswer(BaseModel):
    results: list[BatchItem]
    started: int
    already_existed: int
    refused: int


class Receipt(BaseModel):
    """What the case did with the message, as the case says."""

    case_id: str
    kind: EventKind
    event_id: str
    result: EventResult = Field(description="'applied'; 'already applied' (an identical repeat: nothing changed); "
                                            "'sent' (sent asynchronously, or to a case of an older release: "
                                            "the case applies it in its own time)")
    detail: str
    stage: Stage | None = Field(description="The case's stage when it applied the message; null when only sent")
    non_disclosable: str | None = Field(None, description="A certificate judged non-disclosable (R02/R03): why")


# ---------------------------------------------------------------------------- decisions (issue 20)


class DecisionFact(BaseModel):
    """A fact a decision rests on, as the trail shows it: a personal fact's value is never here."""

    name: str
    source: str = Field(description="referral, certificate, message, task, clock, settings or case")
    shown: str
    by: str | None = Field(None, description="The sender of a message or who gave a task's outcome")
    value: Any = Field(None, description="Absent for a fact that describes the person (R60)")


class DecisionOut(BaseModel):
    id: int
    case_id: str
    step: str
    rule: str
    outcome: str
    subject: str | None = None
    sentence: str = Field(description="The rule's template applied to the decision")
    facts: list[DecisionFact]
    actor: str
    decided_at: datetime


class DecisionPage(BaseModel):
    decisions: list[DecisionOut]
    next_after: int = Field(description="Give as ``after`` to read on")


class TimelineEntry(BaseModel):
    """One row of a case's trail: an audit row or a decision (its sentence only: no personal data)."""

    kind: Literal["audit", "decision"]
    id: int = Field(description="The audit row's or the decision's ID (unique within its kind)")
    at: datetime
    actor: str
    action: str = Field(description="The audit row's action, or the decision's step")
    rule: str | None = None
    stage: str | None = None
    task_key: str | None = None
    outcome: str | None = None
    sentence: str | None = Field(None, description="A decision's rendered sentence")


class TimelinePage(BaseModel):
    entries: list[TimelineEntry]
    next_cursor: str | None = Field(description="Give as ``cursor`` to read on; null on the last page")
