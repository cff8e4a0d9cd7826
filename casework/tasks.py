"""Every human task of the process: who does it, which outcomes are legal, what each records.

One table drives the task mechanism: the workflow opens a task of a kind, the update
validator checks an outcome and its details against this table, and the CLI lists the
legal outcomes from it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, StringConstraints, ValidationError

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
    case_owner: StaffId


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


@dataclass(frozen=True)
class TaskKind:
    name: str
    title: str
    team: str
    outcomes: dict[str, type[Details]]
    rules: tuple[str, ...] = ()
    #: Outcomes a case may only take when its convictions are disclosable (R30).
    needs_disclosable: frozenset[str] = field(default_factory=frozenset)


def _kind(name: str, title: str, team: str, outcomes: dict[str, type[Details]], *rules: str, needs_disclosable: frozenset[str] = frozenset()) -> TaskKind:
    return TaskKind(name, title, team, outcomes, rules, needs_disclosable)


TASK_KINDS: dict[str, TaskKind] = {
    k.name: k
    for k in [
        _kind("await_certificate", "Obtain a disclosable ACRO certificate", CC_WORKFLOW,
              {}, "R03"),
        _kind("nbtc_check", "NBTC check: has the person left the UK?", NBTC,
              {"left_uk": NoDetails, "in_uk": NoDetails}, "R10", "R11", "R13"),
        _kind("exclusion_consideration", "Consider exclusion decision / exclusion order", SENIOR_CASEWORKER,
              {"exclusion_order_sought": WithReason, "exclusion_decision_made": WithReason, "no_exclusion": WithReason}, "R12"),
        _kind("ice_tasking", "ICE tasking: locate the person", ICE,
              {"located": IceLocated, "unable_to_locate": WithReason}, "R14", "R16"),
        _kind("allocate_case_owner", "Allocate a CC case owner", CASE_OWNER,
              {"allocated": Allocated}, "R20"),
        _kind("offending_history_check", "Check the full offending history is on the PNC or a usable ACRO certificate is held", CASE_OWNER,
              {"full_history_on_pnc": HistoryChecked, "acro_certificate_held": HistoryChecked, "not_available": HistoryChecked}, "R23"),
        _kind("police_contact", "Contact the police investigating officer; pending prosecutions", CASE_OWNER,
              {"no_pending_prosecution": PoliceContact, "not_pursued": PoliceContact, "acquittal_likely": PoliceContact, "continuing": PoliceContact},
              "R24", "R25", "R26", "R27"),
        _kind("prosecution_decision", "Prosecution continuing: decide now or wait for it", CASE_OWNER,
              {"proceed_now": WithReason, "await_prosecution": WithReason}, "R27"),
        _kind("prosecution_outcome", "Record the outcome of the UK prosecution", CASE_OWNER,
              {"convicted": WithReason, "acquitted": WithReason, "discontinued": WithReason}, "R27"),
        _kind("detention_decision", "Consider detention", CASE_OWNER,
              {"detain": NoDetails, "unsuitable": WithReason, "not_detained": WithReason},
              "R22", "R26", "R30", "R31", "R32", "R33", needs_disclosable=frozenset({"detain"})),
        _kind("pursuit_decision", "Decide whether to pursue deportation", CASE_OWNER,
              {"pursue": PursuitDecision, "not_pursue": PursuitDecision}, "R28"),
        _kind("consideration_decision", "Deportation consideration decision", CASE_OWNER,
              {"deport": DeportDecision, "not_pursue": WithReason}, "R44", "R45", "R47"),
        _kind("deportation_enforcement", "Enforce deportation", CASE_OWNER,
              {"enforced": Enforced}, "R46"),
        _kind("director_decision", "Submission: deportation not appropriate", DIRECTOR,
              {"agree": WithReason, "disagree": WithReason}, "R50", "R51"),
        _kind("removals_consideration", "Consider referral to Removals Casework", CASE_OWNER,
              {"referred_to_removals": WithReason, "resides_lawfully": WithReason}, "R51"),
        _kind("overdue_review", "Review an overdue case", SENIOR_CASEWORKER,
              {"reviewed": WithReason}),
    ]
}


class OutcomeRefused(ValueError):
    """An outcome that is not legal now; the message says why."""


def validate_outcome(kind: str, outcome: str, details: dict[str, Any]) -> Details:
    """Check an outcome and its details against the task table (no process state)."""
    spec = TASK_KINDS.get(kind)
    if spec is None:
        raise OutcomeRefused(f"unknown task kind '{kind}'")
    model = spec.outcomes.get(outcome)
    if model is None:
        legal = ", ".join(sorted(spec.outcomes)) or "none (it is completed by an event)"
        raise OutcomeRefused(f"'{outcome}' is not an outcome of {kind}; legal outcomes: {legal}")
    try:
        return model.model_validate(details)
    except ValidationError as err:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'details'}: {e['msg']}" for e in err.errors()
        )
        raise OutcomeRefused(f"{kind} {outcome}: {problems}") from None
