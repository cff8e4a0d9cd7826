"""The decisions of the guidance as pure functions, each named as a question.

No I/O and no clock: workflows call these with ``workflow.now()`` and tests table them.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Iterable, Sequence

from casework.referral import DISCLOSABLE_PURPOSE, Certificate, Referral, WhereaboutsStatus  # noqa: F401 (the workflow reads DISCLOSABLE_PURPOSE here)


NON_DISCLOSABLE_NOTE = (
    "non-disclosable ACRO certificate received – no further action until a disclosable "
    "certificate is obtained"
)
ACRO_REFERRAL_EVENT = "CC - ACRO Referral"
OUTCOME_LEFT_UK = "ACRO overseas conviction – left UK before deport action"
OUTCOME_LIABLE_TO_DEPORT = "ACRO: liable to deport – PNC updated 'wanted/missing'"
OUTCOME_DEPORTED = "Deported – relevant departments informed"
OUTCOME_NOT_PURSUED = "Deportation not pursued – ACRO advised"
NOTICE_EEA = "Stage 1 Liability to Deportation Notice"
NOTICE_NON_EEA = "Stage 1 Decision Notice"
POWER_EEA = "regulation 24(1), Immigration (European Economic Area) Regulations 2006"
POWER_NON_EEA = "paragraph 2, Schedule 3, Immigration Act 1971"


def _normalise_purpose(text: str) -> str:
    return " ".join(text.casefold().split())


def is_disclosable(certificate: Certificate) -> bool:
    """R02: usable when requested for immigration/deportation, or when the offences are on the PNC.

    R61: a certificate requested for criminal proceedings is not usable for deportation.
    """
    purpose_ok = _normalise_purpose(certificate.request_purpose) == _normalise_purpose(DISCLOSABLE_PURPOSE)
    return purpose_ok or certificate.offences_on_pnc


def is_eea(nationalities: Iterable[str], eea_countries: frozenset[str]) -> bool:
    """R31/R32/R41: EEA when any nationality is EEA (our dual-nationality choice, see README)."""
    return any(code in eea_countries for code in nationalities)


def notice_for(eea: bool) -> str:
    """R41: which Stage 1 notice to serve."""
    return NOTICE_EEA if eea else NOTICE_NON_EEA


def detention_power(eea: bool) -> str:
    """R31 (EEA) / R32 (non-EEA): the power a detention is made under."""
    return POWER_EEA if eea else POWER_NON_EEA


LONG_WINDOW = timedelta(days=20)
SHORT_WINDOW = timedelta(days=10)


def response_window(
    custody: WhereaboutsStatus, release_date: date | None, served_at: datetime,
    *, long: timedelta = LONG_WINDOW, short: timedelta = SHORT_WINDOW,
) -> timedelta:
    """R42/R43: 20 days when serving a sentence that ends after the 20-day window, else 10.

    Days are calendar days counted from service; "sufficient time" means the release
    date falls after the last day of the 20-day window. ``long``/``short`` come from
    ProcessSettings (the guidance's 20 and 10 unless configured, e.g. shorter in tests).
    """
    if custody is WhereaboutsStatus.IN_PRISON and release_date is not None:
        if release_date > (served_at + long).date():
            return long
    return short


def must_request_ice_detention(
    *, detained: bool, decided_to_deport: bool, address_known: bool, in_country_right_of_appeal: bool
) -> bool:
    """R45: not detained, decision to deport, address known, no in-country right of appeal."""
    return (not detained) and decided_to_deport and address_known and not in_country_right_of_appeal


def is_most_serious(categories: Iterable[str], most_serious: frozenset[str]) -> bool:
    """R12: offences of the most serious nature, by a configurable category list."""
    return any(category in most_serious for category in categories)


def needs_further_acro_check(evidence_left_and_offended: bool) -> bool:
    """R23: a further ACRO check only on evidence of leaving the UK and offending since."""
    return evidence_left_and_offended


def may_detain(convictions_disclosable: bool) -> bool:
    """R30/R61: never detain on non-disclosable information."""
    return convictions_disclosable


# --- Subject matching (R04: no duplicate subjects) -----------------------------------


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    letters = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return re.sub(r"[^a-z0-9]+", " ", letters.casefold()).strip()


@dataclass(frozen=True)
class Identity:
    """The identifying part of a referral, as subject matching needs it."""

    name: str
    date_of_birth: date | None = None
    pnc_id: str | None = None
    documents: tuple[tuple[str, str, str], ...] = ()  # (issuing country, kind, number)

    @classmethod
    def of(cls, referral: Referral) -> "Identity":
        return cls(
            name=referral.name,
            date_of_birth=referral.date_of_birth,
            pnc_id=referral.pnc_id,
            documents=tuple((d.issuing_country, d.kind, d.number) for d in referral.identity_documents),
        )


def subject_match_keys(identity: Identity) -> list[str]:
    """The identifiers under which a subject is matched, strongest first.

    Two referrals name the same person when they share any key:
    * ``pnc:<PNC ID>`` - the police identity, when the referral has one;
    * ``doc:<country>:<kind>:<number>`` - each identity document;
    * ``name-dob:<folded name>:<date of birth>`` - name (accents, case and punctuation
      folded) with date of birth, only when the date of birth is known.
    A referral with none of these cannot be matched safely and gets a subject of its own.
    """
    keys: list[str] = []
    if identity.pnc_id:
        keys.append(f"pnc:{identity.pnc_id.upper()}")
    for country, kind, number in identity.documents:
        keys.append(f"doc:{country}:{kind}:{_fold(number).replace(' ', '')}")
    if identity.date_of_birth is not None:
        keys.append(f"name-dob:{_fold(identity.name)}:{identity.date_of_birth.isoformat()}")
    return keys


# --- Routing (R06) ---------------------------------------------------------------------


@dataclass(frozen=True)
class Route:
    """One row of the routing table: a criterion left as None matches anything."""

    priority: int
    team: str
    eea: bool | None = None
    whereabouts: str | None = None


def route_team(routes: Sequence[Route], *, eea: bool, whereabouts: str) -> str | None:
    """R06: the first route, by priority, whose criteria all match."""
    for route in sorted(routes, key=lambda r: r.priority):
        if route.eea is not None and route.eea != eea:
            continue
        if route.whereabouts is not None and route.whereabouts != whereabouts:
            continue
        return route.team
    return None
