"""A decision the case takes, as a value: which rule, what it decided, and the facts that
made it (issue 20). Pure: no I/O, no clock.

The sentence a person reads is made from the decision by the rule's one template
(``sentence``), so what the trail says and what the case decided cannot disagree. A fact
that describes the person (name, date of birth, nationality, convictions, release date)
is ``personal``: it is kept with the decision but the trail shows only ``shown`` - the
category or process date it stands for ("EEA national", "release falls after the
window's end") - and the value itself only inside a recorded R60 read.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from casework.rule_ids import RULES


class Source(StrEnum):
    """Where a fact came from."""

    REFERRAL = "referral"
    CERTIFICATE = "certificate"
    MESSAGE = "message"  # ``by`` is its sender
    TASK = "task"  # ``by`` is who gave the outcome
    CLOCK = "clock"  # the case's business time (workflow.now())
    SETTINGS = "settings"  # configuration: the routing table, the most-serious list, the windows
    CASE = "case"  # what the case itself recorded earlier


@dataclass(frozen=True)
class Fact:
    """One named fact a decision rests on. ``shown`` is what the trail prints for it;
    for a personal fact it is a category, never the value."""

    name: str
    value: Any
    source: Source
    shown: str
    by: str | None = None
    personal: bool = False

    def public(self) -> dict[str, Any]:
        """The fact as the trail shows it: the value only when it is not personal."""
        out: dict[str, Any] = {"name": self.name, "source": self.source.value, "shown": self.shown}
        if self.by is not None:
            out["by"] = self.by
        if not self.personal:
            out["value"] = _plain(self.value)
        return out

    def stored(self) -> dict[str, Any]:
        """The fact as the CID stores it (the personal value too; read only under R60)."""
        return {**self.public(), "value": _plain(self.value), "personal": self.personal}


@dataclass(frozen=True)
class Decision:
    """What rule ``rule`` decided (``outcome``, one word from its template's list) and why."""

    rule: str
    outcome: str
    facts: tuple[Fact, ...] = ()
    #: Set by rules whose outcome names a thing (the team routed to, the power, the notice).
    subject: str | None = None

    def __post_init__(self) -> None:
        if self.rule not in RULES:
            raise ValueError(f"{self.rule} is not a rule of docs/rules.md")
        template = TEMPLATES.get(self.rule)
        if template is None:
            raise ValueError(f"{self.rule} has no template in casework/decisions.py")
        if self.outcome not in template.outcomes:
            raise ValueError(f"{self.rule} decides one of {sorted(template.outcomes)}, not {self.outcome!r}")

    @classmethod
    def from_stored(cls, rule: str, outcome: str, subject: str | None, facts: list[dict[str, Any]]) -> "Decision":
        """A decision back from its stored form (an activity's command, a CID row)."""
        return cls(rule, outcome, tuple(
            Fact(f["name"], f.get("value"), Source(f["source"]), f.get("shown", ""), by=f.get("by"),
                 personal=bool(f.get("personal", False))) for f in facts), subject=subject)

    def fact(self, name: str) -> Fact:
        for f in self.facts:
            if f.name == name:
                return f
        raise KeyError(f"{self.rule} has no fact {name!r}")

    @property
    def sentence(self) -> str:
        """The rule's template applied to this decision: "R42: 20 days to respond - ..."."""
        return f"{self.rule}: {TEMPLATES[self.rule].render(self)}"

    def public(self) -> dict[str, Any]:
        """The decision as the trail shows it (no personal values)."""
        return {"rule": self.rule, "outcome": self.outcome, "subject": self.subject, "sentence": self.sentence,
                "facts": [f.public() for f in self.facts]}

    def stored(self) -> dict[str, Any]:
        return {**self.public(), "facts": [f.stored() for f in self.facts]}


def _plain(value: Any) -> Any:
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, StrEnum):
        return value.value
    if isinstance(value, (tuple, list, frozenset, set)):
        return [_plain(v) for v in (sorted(value) if isinstance(value, (set, frozenset)) else value)]
    return value


# --- Templates: one per rule ------------------------------------------------------------


@dataclass(frozen=True)
class Template:
    """How one rule's decisions read: the outcomes it can give, and the sentence for each,
    made only from the decision's ``shown`` facts and subject."""

    outcomes: frozenset[str]
    render: Callable[[Decision], str] = field(repr=False)


def _why(d: Decision) -> str:
    return "; ".join(f.shown for f in d.facts if f.shown)


#: The outcome of a rule that asks another team or agency for something (R13 the marker,
#: R23 a further ACRO check, R45 ICE to detain): the workflow acts on it by this name.
REQUESTED = "requested"


def _t(outcomes: Mapping[str, str], *, why: bool = True) -> Template:
    """A template whose sentence is the outcome's words, a dash, and the facts shown."""
    def render(d: Decision) -> str:
        head = outcomes[d.outcome].format(subject=d.subject or "")
        reasons = _why(d) if why else ""
        return f"{head} — {reasons}" if reasons else head
    return Template(frozenset(outcomes), render)


def _window(d: Decision) -> str:
    days = d.fact("days").value
    end = d.fact("window_end").value
    return f"{days} days to respond — {_why_except(d, 'days', 'window_end')}; the window ends {end}"


def _why_except(d: Decision, *names: str) -> str:
    return "; ".join(f.shown for f in d.facts if f.shown and f.name not in names)


TEMPLATES: dict[str, Template] = {
    "R01": _t({"accepted": "referral accepted", "refused": "referral refused"}),
    "R02": _t({"disclosable": "certificate disclosable", "not_disclosable": "certificate not disclosable"}),
    "R03": _t({"destroyed": "certificate destroyed; a certificate for immigration purposes requested from ACRO"}),
    "R04": _t({"created": "subject created", "matched": "existing subject matched"}),
    "R06": _t({"routed": "referred to {subject}", "unrouted": "no routing row matches"}),
    "R10": _t({"known": "whereabouts known: straight to Stage C", "unknown": "whereabouts unknown: NBTC check"}),
    "R11": _t({"closed": "case closed: left the UK before deport action"}),
    "R12": _t({"considered": "exclusion consideration with a senior caseworker",
               "not_needed": "no exclusion consideration"}),
    "R13": _t({"requested": "wanted/missing marker requested (ICD.5079)"}),
    "R16": _t({"dormant": "unable to locate: dormant until located"}),
    "R21": _t({"sent": "marker removal sent (ICD5080)", "not_needed": "no marker removal needed"}),
    "R23": _t({"requested": "further ACRO check requested", "not_needed": "no further ACRO check"}),
    "R30": _t({"allowed": "detention may be considered", "refused": "detention refused"}),
    "R31": _t({"power": "detention under {subject}"}),
    "R32": _t({"power": "detention under {subject}"}),
    "R33": _t({"non_detained": "managed on a non-detained basis"}),
    "R41": _t({"served": "{subject} served"}),
    "R42": Template(frozenset({"long"}), _window),
    "R43": Template(frozenset({"short"}), _window),
    "R45": _t({"requested": "ICE asked to detain", "not_requested": "ICE not asked to detain"}),
    "R47": _t({"not_pursued": "deportation not pursued: Stage F"}),
    "R50": _t({"submitted": "submission to the CC Director"}),
    "R51": _t({"agreed": "Director agrees", "disagreed": "Director disagrees: back to Stage E"}),
    "R52": _t({"advised": "ACRO advised that deportation is not being pursued"}),
    "R60": _t({"read": "personal data read"}),
    "R61": _t({"refused": "certificate for criminal proceedings is not a basis for deportation",
               "not_applicable": "certificate not requested for criminal proceedings"}),
}
