"""Every human task of the process: who does it, which outcomes are legal, what each records.

One table drives the task mechanism, one entry per kind: its team, its outcomes (an
enum), the details a person records with each, its default deadline and the outcomes a
message settles it with. The workflow opens a task of a kind, the update validator
checks an outcome and its details against this table, the process settings take their
default deadlines from it (and refuse a kind not in it), and the CLI lists the legal
outcomes from it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, ValidationInfo, field_validator

from casework import refusals
from casework.keys import DIRECTOR  # noqa: F401 - the Director is a team of this table

StaffId = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[A-Za-z0-9._-]{2,40}$")]
Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]

SENIOR_CASEWORKER = "Senior caseworker"
CC_WORKFLOW = "CC Workflow"
NBTC = "NBTC"
ICE = "ICE Tasking and Detention Gatekeeper"
#: Tasks for "the case owner" go to the routed team until an owner is allocated (R20).
CASE_OWNER = "case owner"


class Details(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class NoDetails(Details):
    pass


class WithReason(Details):
    reason: Reason


class Allocated(Details):
    case_owner: StaffId = Field(description="The case owner's staff ID, for example cw.ben")


class IceLocated(Details):
    location: Reason | None = None
    detained: bool = False


class HistoryChecked(Details):
    #: R23: evidence that the person left the UK and offended abroad since the referral.
    evidence_left_and_offended: bool = False


class PoliceContact(Details):
    charges: Reason | None = None
    information_held: Reason | None = None


class PursuitDecision(Details):
    """R28: the three things the decision must take account of, recorded with it."""

    foreign_convictions: Reason
    uk_convictions: Reason
    outstanding_law_enforcement: Reason


class DeportDecision(Details):
    address_known: bool
    in_country_right_of_appeal: bool


class Enforced(Details):
    departed_on: date

    @field_validator("departed_on")
    @classmethod
    def _not_in_the_future(cls, value: date, info: ValidationInfo) -> date:
        # R46: a deportation is recorded once it has happened. "Today" is the case's
        # business date (workflow.now()), given by validate_outcome.
        today = info.context.get("today") if isinstance(info.context, dict) else None
        if today is not None and value > today:
            raise ValueError(f"{value.isoformat()} is in the future (today is {today.isoformat()}): "
                             "record a deportation once it has been enforced")
        return value


# ---------------------------------------------------------------------- outcomes, one enum per kind
# StrEnum members equal their strings: what histories and the CID recorded stays valid.


class AwaitCertificateOutcome(StrEnum):
    DISCLOSABLE_CERTIFICATE_RECEIVED = "disclosable_certificate_received"


class NbtcCheckOutcome(StrEnum):
    LEFT_UK = "left_uk"
    IN_UK = "in_uk"


class ExclusionOutcome(StrEnum):
    EXCLUSION_ORDER_SOUGHT = "exclusion_order_sought"
    EXCLUSION_DECISION_MADE = "exclusion_decision_made"
    NO_EXCLUSION = "no_exclusion"


class IceTaskingOutcome(StrEnum):
    LOCATED = "located"
    UNABLE_TO_LOCATE = "unable_to_locate"
    LEFT_UK = "left_uk"  # R11 holds while ICE looks too (docs/design.md, "Decisions in brief")


class LeftUkReviewOutcome(StrEnum):
    LEFT_UK = "left_uk"  # R11: the case closes (R12's exclusion task where it applies)
    NOT_LEFT = "not_left"


class AllocationOutcome(StrEnum):
    ALLOCATED = "allocated"


#: R20's task: its outcome names the case owner (``Allocated.case_owner``).
ALLOCATE_CASE_OWNER = "allocate_case_owner"


class HistoryCheckOutcome(StrEnum):
    FULL_HISTORY_ON_PNC = "full_history_on_pnc"
    ACRO_CERTIFICATE_HELD = "acro_certificate_held"
    NOT_AVAILABLE = "not_available"


class PoliceContactOutcome(StrEnum):
    NO_PENDING_PROSECUTION = "no_pending_prosecution"
    NOT_PURSUED = "not_pursued"
    ACQUITTAL_LIKELY = "acquittal_likely"
    CONTINUING = "continuing"


class ProsecutionDecisionOutcome(StrEnum):
    PROCEED_NOW = "proceed_now"
    AWAIT_PROSECUTION = "await_prosecution"


class ProsecutionOutcome(StrEnum):
    CONVICTED = "convicted"
    ACQUITTED = "acquitted"
    DISCONTINUED = "discontinued"


class DetentionOutcome(StrEnum):
    DETAIN = "detain"
    UNSUITABLE = "unsuitable"
    NOT_DETAINED = "not_detained"


class PursuitOutcome(StrEnum):
    PURSUE = "pursue"
    NOT_PURSUE = "not_pursue"


class ConsiderationOutcome(StrEnum):
    DEPORT = "deport"
    NOT_PURSUE = "not_pursue"


class EnforcementOutcome(StrEnum):
    ENFORCED = "enforced"


class DirectorOutcome(StrEnum):
    AGREE = "agree"
    DISAGREE = "disagree"


class RemovalsOutcome(StrEnum):
    REFERRED_TO_REMOVALS = "referred_to_removals"
    RESIDES_LAWFULLY = "resides_lawfully"


class ReviewOutcome(StrEnum):
    REVIEWED = "reviewed"


# ---------------------------------------------------------------------- the table


@dataclass(frozen=True)
class TaskKind:
    """One kind of human task, defined once: who does it, its outcomes, what a person
    records with each, its default deadline, and which outcomes a message settles it with."""

    name: str
    title: str
    team: str
    outcomes: type[StrEnum]
    #: The outcomes a person may complete it with (the update), and the details each records.
    details: dict[StrEnum, type[Details]]
    #: Days to the deadline unless the process configuration says otherwise (casework/settings.py).
    deadline_days: float
    #: Outcomes an event from another system settles it with, without an update (resolvers).
    settled_by_message: frozenset[StrEnum] = frozenset()
    rules: tuple[str, ...] = ()
    #: R30/R61: outcomes a case may only take when its convictions are disclosable and
    #: available - each is, or leads to, a deportation decision or a detention - with
    #: what it is, for the refusal. See ``convictions_refusal`` and docs/design.md.
    needs_disclosable: dict[StrEnum, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for outcome in (*self.details, *self.settled_by_message, *self.needs_disclosable):
            if not isinstance(outcome, self.outcomes):
                raise TypeError(f"task kind {self.name}: {outcome!r} is not one of {self.outcomes.__name__}")
        if set(self.outcomes) != set(self.details) | set(self.settled_by_message):
            raise TypeError(f"task kind {self.name}: every outcome is either a person's or a message's")


def _kind(
    name: str, title: str, team: str, outcomes: type[StrEnum], details: dict[StrEnum, type[Details]],
    deadline_days: float, *rules: str, settled_by_message: frozenset[StrEnum] = frozenset(),
    needs_disclosable: dict[StrEnum, str] | None = None,
) -> TaskKind:
    return TaskKind(name, title, team, outcomes, details, deadline_days, settled_by_message, rules, needs_disclosable or {})


A, N, X, I = AwaitCertificateOutcome, NbtcCheckOutcome, ExclusionOutcome, IceTaskingOutcome
H, P, D = HistoryCheckOutcome, PoliceContactOutcome, DetentionOutcome

TASK_KINDS: dict[str, TaskKind] = {
    k.name: k
    for k in [
        _kind("await_certificate", "Obtain a disclosable ACRO certificate", CC_WORKFLOW, A,
              {}, 90, "R03", settled_by_message=frozenset(A)),
        _kind("nbtc_check", "NBTC check: has the person left the UK?", NBTC, N,
              {N.LEFT_UK: NoDetails, N.IN_UK: NoDetails}, 5, "R10", "R11", "R13",
              settled_by_message=frozenset(N)),
        _kind("exclusion_consideration", "Consider exclusion decision / exclusion order", SENIOR_CASEWORKER, X,
              {X.EXCLUSION_ORDER_SOUGHT: WithReason, X.EXCLUSION_DECISION_MADE: WithReason, X.NO_EXCLUSION: WithReason},
              20, "R12"),
        _kind("ice_tasking", "ICE tasking: locate the person", ICE, I,
              {I.LOCATED: IceLocated, I.UNABLE_TO_LOCATE: WithReason, I.LEFT_UK: NoDetails}, 28, "R14", "R16", "R11",
              settled_by_message=frozenset({I.LOCATED, I.LEFT_UK})),
        _kind(ALLOCATE_CASE_OWNER, "Allocate a CC case owner", CASE_OWNER, AllocationOutcome,
              {AllocationOutcome.ALLOCATED: Allocated}, 5, "R20"),
        _kind("offending_history_check", "Check the full offending history is on the PNC or a usable ACRO certificate is held",
              CASE_OWNER, H,
              {H.FULL_HISTORY_ON_PNC: HistoryChecked, H.ACRO_CERTIFICATE_HELD: HistoryChecked, H.NOT_AVAILABLE: HistoryChecked},
              10, "R23"),
        _kind("police_contact", "Contact the police investigating officer; pending prosecutions", CASE_OWNER, P,
              {P.NO_PENDING_PROSECUTION: PoliceContact, P.NOT_PURSUED: PoliceContact, P.ACQUITTAL_LIKELY: PoliceContact,
               P.CONTINUING: PoliceContact},
              10, "R24", "R25", "R26", "R27"),
        _kind("prosecution_decision", "Prosecution continuing: decide now or wait for it", CASE_OWNER,
              ProsecutionDecisionOutcome, {o: WithReason for o in ProsecutionDecisionOutcome}, 10, "R27"),
        _kind("prosecution_outcome", "Record the outcome of the UK prosecution", CASE_OWNER,
              ProsecutionOutcome, {o: WithReason for o in ProsecutionOutcome}, 180, "R27"),
        _kind("detention_decision", "Consider detention", CASE_OWNER, D,
              {D.DETAIN: NoDetails, D.UNSUITABLE: WithReason, D.NOT_DETAINED: WithReason},
              5, "R22", "R26", "R30", "R31", "R32", "R33", needs_disclosable={D.DETAIN: "detains the person"}),
        _kind("pursuit_decision", "Decide whether to pursue deportation", CASE_OWNER,
              PursuitOutcome, {o: PursuitDecision for o in PursuitOutcome}, 20, "R28",
              needs_disclosable={PursuitOutcome.PURSUE: "decides to pursue deportation (a Stage 1 notice follows)"}),
        _kind("consideration_decision", "Deportation consideration decision", CASE_OWNER, ConsiderationOutcome,
              {ConsiderationOutcome.DEPORT: DeportDecision, ConsiderationOutcome.NOT_PURSUE: WithReason},
              28, "R44", "R45", "R47",
              needs_disclosable={ConsiderationOutcome.DEPORT: "is a decision to deport (and may ask ICE to detain, R45)"}),
        _kind("deportation_enforcement", "Enforce deportation", CASE_OWNER,
              EnforcementOutcome, {EnforcementOutcome.ENFORCED: Enforced}, 90, "R46"),
        _kind("director_decision", "Submission: deportation not appropriate", DIRECTOR,
              DirectorOutcome, {o: WithReason for o in DirectorOutcome}, 20, "R50", "R51",
              needs_disclosable={DirectorOutcome.DISAGREE: "sends the case back to the deportation decision (Stage E)"}),
        _kind("removals_consideration", "Consider referral to Removals Casework", CASE_OWNER,
              RemovalsOutcome, {o: WithReason for o in RemovalsOutcome}, 20, "R51"),
        _kind("left_uk_review", "Reported to have left the UK: close under R11, or go on", CASE_OWNER,
              LeftUkReviewOutcome, {o: WithReason for o in LeftUkReviewOutcome}, 10, "R11", "R12"),
        _kind("overdue_review", "Review an overdue case", SENIOR_CASEWORKER,
              ReviewOutcome, {ReviewOutcome.REVIEWED: WithReason}, 5),
    ]
}
del A, N, X, I, H, P, D


class OutcomeRefused(ValueError):
    """An outcome that is not legal now; the message says why."""


def convictions_refusal(kind: str, outcome: str) -> str | None:
    """R30/R61: why ``outcome`` is refused while the convictions are not disclosable or not
    available to the deciding officer; None when the outcome does not need them."""
    spec = TASK_KINDS.get(kind)
    what = spec.needs_disclosable.get(outcome) if spec else None  # type: ignore[call-overload]
    if what is None:
        return None
    return (
        f"R30/R61: refused – '{outcome}' {what}, but the overseas convictions are not disclosable for "
        "immigration purposes or not available to the deciding officer, and no detention or deportation "
        "decision may rest on them (never detain on non-disclosable information). The case waits for a "
        "usable ACRO certificate, already requested from ACRO: hand it in with 'casework event certificate', "
        "then complete this task"
    )


def validate_outcome(kind: str, outcome: str, details: dict[str, Any], *, today: date) -> Details:
    """Check an outcome and its details against the task table (no process state).

    ``today`` is the case's business date (``workflow.now()``): a date recorded as
    past, such as a departure, may not be after it.
    """
    spec = TASK_KINDS.get(kind)
    if spec is None:
        raise OutcomeRefused(f"unknown task kind '{kind}'")
    model = spec.details.get(outcome)  # type: ignore[call-overload] - a StrEnum key is found by its string
    if model is None:
        legal = ", ".join(sorted(spec.details)) or "none (it is completed by an event)"
        raise OutcomeRefused(f"'{outcome}' is not an outcome of {kind}; legal outcomes: {legal}")
    try:
        return model.model_validate(details, context={"today": today})
    except ValidationError as err:
        problems = "; ".join(refusals.problems(err, whole="details"))
        raise OutcomeRefused(f"{kind} {outcome}: {problems}") from None
