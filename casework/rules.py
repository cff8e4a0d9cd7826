"""The decisions of the guidance as pure functions, each named as a question.

No I/O and no clock: workflows call these with ``workflow.now()`` and tests table them.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Iterable, Sequence

from casework.decisions import REQUESTED, Decision, Fact, Source
from casework.referral import DISCLOSABLE_PURPOSE, Certificate, Referral, WhereaboutsStatus  # noqa: F401 (the workflow reads DISCLOSABLE_PURPOSE here)


#: R60: the longest purpose a read of personal data may state (the API, the CLI and the CID agree).
MAX_PURPOSE_CHARS = 500

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
    """R02: the purpose wording as compared: compatibility forms unified (NFKC, so a
    full-width "／" is "/"), case folded, runs of whitespace one space, no space either
    side of "/", and trailing punctuation (. , ; : !) and spaces dropped."""
    text = " ".join(unicodedata.normalize("NFKC", text).casefold().split())
    text = re.sub(r"\s*/\s*", "/", text)
    return text.rstrip(" .,;:!")


def is_disclosable(certificate: Certificate) -> bool:
    """R02: usable when requested for immigration/deportation, or when the offences are on the PNC.

    The wording matches when it differs from ``DISCLOSABLE_PURPOSE`` only in case,
    whitespace, spacing around the "/" or trailing punctuation (see ``_normalise_purpose``);
    any other difference - a missing slash, a word more or less - does not match.
    R61: a certificate requested for criminal proceedings is not usable for deportation.
    """
    return disclosable_decision(certificate).outcome == "disclosable"


def disclosable_decision(certificate: Certificate, *, by: str | None = None) -> Decision:
    """R02/R03: the decision on a certificate, with the two facts that make it: whether its
    offences are on the PNC, and whether its request purpose matches (the wording judged)."""
    on_pnc = certificate.offences_on_pnc
    matches = _normalise_purpose(certificate.request_purpose) == _normalise_purpose(DISCLOSABLE_PURPOSE)
    facts = (
        Fact("offences_on_pnc", on_pnc, Source.CERTIFICATE,
             "the offences are on the PNC" if on_pnc else "the offences are not on the PNC", by=by),
        Fact("request_purpose_matches", matches, Source.CERTIFICATE,
             f"requested for \"{DISCLOSABLE_PURPOSE}\"" if matches
             else f"not requested for \"{DISCLOSABLE_PURPOSE}\"", by=by),
    )
    return Decision("R02", "disclosable" if on_pnc or matches else "not_disclosable", facts)


def non_disclosable_reason(certificate: Certificate) -> str | None:
    """R02/R61: why a certificate is not disclosable, in words for the person handing it
    in; None when it is disclosable. Pure: ``submit`` says it before anything is destroyed."""
    if is_disclosable(certificate):
        return None
    given = certificate.request_purpose if len(certificate.request_purpose) <= 80 else certificate.request_purpose[:77] + "..."
    return (f"R02/R61: request purpose \"{given}\" is not \"{DISCLOSABLE_PURPOSE}\" and the offences are not "
            "on the PNC; R03: it will be destroyed and a certificate for immigration purposes requested from ACRO")


def referral_decision(*, by: str, eea: bool, nationalities: Iterable[str] = ()) -> Decision:
    """R01: the referral carries what ACRO has (its model refused anything less at the door)."""
    return Decision("R01", "accepted", (
        Fact("submitted_by", by, Source.REFERRAL, f"submitted by {by}", by=by),
        _nationality_fact(eea, nationalities)))


def criminal_proceedings_decision(certificate: Certificate) -> Decision:
    """R61: a certificate neither disclosable by purpose nor on the PNC (one for criminal
    proceedings, say) is never the basis of a deportation decision."""
    refused = not is_disclosable(certificate)
    return Decision("R61", "refused" if refused else "not_applicable", (
        Fact("disclosable", not refused, Source.CERTIFICATE,
             "not disclosable for immigration purposes" if refused else "disclosable for immigration purposes"),))


def destroyed_decision(seq: int) -> Decision:
    """R03: a non-disclosable certificate is noted, destroyed and asked for again."""
    return Decision("R03", "destroyed", (Fact("certificate", seq, Source.CERTIFICATE, f"certificate {seq}"),))


#: R04: the kinds of identifier a subject is matched by, as the trail names them.
IDENTIFIER_KINDS = {"pnc": "PNC ID", "doc": "identity document", "name-dob": "name and date of birth"}


def subject_decision(matched_key: str | None, keys: Sequence[str]) -> Decision:
    """R04: subject matched (by which kind of identifier - never its value) or created."""
    kinds = [IDENTIFIER_KINDS[k.split(":", 1)[0]] for k in keys]
    tried = Fact("identifiers", kinds, Source.REFERRAL,
                 f"no existing subject shares its {' or '.join(dict.fromkeys(kinds))}" if kinds
                 else "no identifier to match on")
    if matched_key is None:
        return Decision("R04", "created", (tried,))
    kind = IDENTIFIER_KINDS[matched_key.split(":", 1)[0]]
    return Decision("R04", "matched", (Fact("matched_by", kind, Source.CASE, f"same {kind} as an existing subject"),))


def is_eea(nationalities: Iterable[str], eea_countries: frozenset[str]) -> bool:
    """R31/R32/R41: EEA when any nationality is EEA (our dual-nationality choice, docs/design.md "Decisions in brief")."""
    return any(code in eea_countries for code in nationalities)


def _nationality_fact(eea: bool, nationalities: Iterable[str] = ()) -> Fact:
    """The person's nationality is personal: the trail shows only its category."""
    return Fact("eea", sorted(nationalities) or eea, Source.REFERRAL, "EEA national" if eea else "non-EEA national",
                personal=True)


def notice_decision(eea: bool, nationalities: Iterable[str] = ()) -> Decision:
    """R41: which Stage 1 notice is served, because of the nationality's category."""
    return Decision("R41", "served", (_nationality_fact(eea, nationalities),), subject=notice_for(eea))


def power_decision(eea: bool, nationalities: Iterable[str] = ()) -> Decision:
    """R31 (EEA) / R32 (non-EEA): the power a detention is made under."""
    return Decision("R31" if eea else "R32", "power", (_nationality_fact(eea, nationalities),),
                    subject=detention_power(eea))


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
    return long if window_decision(custody, release_date, served_at, long=long, short=short).rule == "R42" else short


def window_decision(
    custody: WhereaboutsStatus, release_date: date | None, served_at: datetime,
    *, long: timedelta = LONG_WINDOW, short: timedelta = SHORT_WINDOW,
) -> Decision:
    """R42/R43: the response window as a decision: its length, its end, and why.

    The release date is personal: the trail shows only whether it falls after the long
    window's end. The window's end is a process date (service plus the window)."""
    long_end = (served_at + long).date()
    serving = custody is WhereaboutsStatus.IN_PRISON and release_date is not None
    after = serving and release_date is not None and release_date > long_end
    window = long if after else short
    facts = [Fact("custody", custody, Source.CASE, "serving a sentence" if custody is WhereaboutsStatus.IN_PRISON
                  else {WhereaboutsStatus.DETAINED: "detained under immigration powers",
                        WhereaboutsStatus.CONFIRMED_ADDRESS: "at a confirmed address"}.get(custody, "whereabouts unknown"))]
    if serving:
        facts.append(Fact("release_date", release_date, Source.REFERRAL,
                          "release falls after the window's end" if after else "release falls within the window",
                          personal=True))
    days = window.days if window == timedelta(days=window.days) else window / timedelta(days=1)
    facts += [Fact("served_at", served_at, Source.CLOCK, ""),
              Fact("days", days, Source.SETTINGS, ""),
              Fact("window_end", (served_at + window).date(), Source.CLOCK, "")]
    return Decision("R42" if after else "R43", "long" if after else "short", tuple(facts))


def must_request_ice_detention(
    *, detained: bool, decided_to_deport: bool, address_known: bool, in_country_right_of_appeal: bool
) -> bool:
    """R45: not detained, decision to deport, address known, no in-country right of appeal."""
    return ice_detention_decision(detained=detained, decided_to_deport=decided_to_deport, address_known=address_known,
                                  in_country_right_of_appeal=in_country_right_of_appeal).outcome == REQUESTED


def ice_detention_decision(
    *, detained: bool, decided_to_deport: bool, address_known: bool, in_country_right_of_appeal: bool,
    by: str | None = None,
) -> Decision:
    """R45: each of the four conditions as a fact; the trail names the one(s) that failed."""
    conditions = (
        ("not_detained", not detained, "not detained", "already detained"),
        ("decided_to_deport", decided_to_deport, "decision to deport", "no decision to deport"),
        ("address_known", address_known, "address known", "address not known"),
        ("no_in_country_appeal", not in_country_right_of_appeal, "no in-country right of appeal",
         "an in-country right of appeal"),
    )
    facts = tuple(Fact(name, held, Source.TASK, yes if held else f"failed: {no}", by=by)
                  for name, held, yes, no in conditions)
    return Decision("R45", REQUESTED if all(f.value for f in facts) else "not_requested", facts)


def is_most_serious(categories: Iterable[str], most_serious: frozenset[str]) -> bool:
    """R12: offences of the most serious nature, by a configurable category list."""
    return any(category in most_serious for category in categories)


def exclusion_decision(categories: Iterable[str], most_serious: frozenset[str]) -> Decision:
    """R12: exclusion consideration when the offences are most serious. The categories are
    convictions (personal): the trail says only whether one is on the configured list."""
    cats = tuple(categories)
    serious = is_most_serious(cats, most_serious)
    return Decision("R12", "considered" if serious else "not_needed", (
        Fact("most_serious", cats, Source.CERTIFICATE,
             "offences of the most serious nature" if serious else "no offence of the most serious nature",
             personal=True),))


def needs_further_acro_check(evidence_left_and_offended: bool) -> bool:
    """R23: a further ACRO check only on evidence of leaving the UK and offending since."""
    return further_check_decision(evidence_left_and_offended).outcome == REQUESTED


def further_check_decision(evidence_left_and_offended: bool, *, by: str | None = None) -> Decision:
    """R23 as a decision: the evidence recorded by the offending-history check."""
    return Decision("R23", REQUESTED if evidence_left_and_offended else "not_needed", (
        Fact("evidence_left_and_offended", evidence_left_and_offended, Source.TASK,
             "evidence of leaving the UK and offending since" if evidence_left_and_offended
             else "no evidence of leaving the UK and offending since", by=by),))


def may_detain(convictions_disclosable: bool) -> bool:
    """R30/R61: never detain on non-disclosable information."""
    return detention_decision(convictions_disclosable).outcome == "allowed"


def detention_decision(convictions_disclosable: bool) -> Decision:
    """R30: detention is considered only on convictions disclosable to the deciding officer."""
    return Decision("R30", "allowed" if convictions_disclosable else "refused", (
        Fact("convictions_disclosable", convictions_disclosable, Source.CASE,
             "the overseas convictions are disclosable" if convictions_disclosable
             else "the overseas convictions are not disclosable"),))


def whereabouts_decision(whereabouts: WhereaboutsStatus) -> Decision:
    """R10: known whereabouts go straight to Stage C; unknown ones to the NBTC check."""
    return Decision("R10", "known" if whereabouts.known else "unknown", (
        Fact("whereabouts", whereabouts, Source.REFERRAL,
             "a confirmed current location" if whereabouts.known else "no confirmed current location"),))


# --- Subject matching (R04: no duplicate subjects) -----------------------------------


#: R04: a folded name with fewer letters and digits than this is no key (one letter is an initial).
MIN_NAME_FOLD = 2
#: R04: a document number with fewer letters and digits than this is no key (real ones have 6 or more).
MIN_DOCUMENT_FOLD = 4
#: Latin letters whose accent or stroke is not a combining mark, so decomposing leaves them whole.
_LATIN_BASE = str.maketrans({"ł": "l", "ø": "o", "đ": "d", "ħ": "h", "ı": "i", "ŧ": "t", "ƀ": "b",
                             "æ": "ae", "œ": "oe", "þ": "th", "ð": "d", "ŀ": "l"})


#: Scripts whose combining marks are accents or optional vowel signs, not parts of letters.
_MARKS_OPTIONAL = ("LATIN", "GREEK", "ARABIC", "HEBREW")
_TATWEEL = "\u0640"


def _fold(text: str) -> str:
    """R04: a name or document number as it is compared, in any script.

    * NFKC, then case folded (compatibility forms such as full-width letters unified;
      "ß" is "ss", a final sigma is a sigma);
    * letters (L*) and digits (N*) of every script are kept; a decimal digit of any
      script is its ASCII digit (a number is the same number however it is written);
    * accents are folded on Latin and Greek letters ("José" is "jose", "Γιώργος" is
      "γιωργοσ"), and the optional vowel marks of Arabic and Hebrew dropped (with the
      Arabic tatweel, a stretching stroke); the marks of other scripts are kept, because
      there they are part of the letter (a Devanagari vowel sign, the Cyrillic "й");
    * format characters (zero-width joiners) vanish; anything else - spaces,
      punctuation, symbols - separates words.
    No transliteration: "Иван Петров" and "Ivan Petrov" fold differently and are
    different keys; a PNC ID or an identity document links such referrals.
    """
    decomposed = unicodedata.normalize("NFD", unicodedata.normalize("NFKC", text).casefold())
    kept: list[str] = []
    marks_kept = False  # whether a mark here belongs to a letter whose marks are kept
    for ch in decomposed:
        category = unicodedata.category(ch)
        if category.startswith("M"):
            if marks_kept:
                kept.append(ch)
            continue
        script = unicodedata.name(ch, "")
        marks_kept = category[0] in "LN" and not script.startswith(_MARKS_OPTIONAL)
        if ch == _TATWEEL or category == "Cf":
            continue
        if category == "Nd":
            kept.append(str(unicodedata.decimal(ch)))
        elif category[0] in "LN":
            kept.append(ch.translate(_LATIN_BASE) if script.startswith("LATIN") else ch)
        else:
            kept.append(" ")
    return " ".join(unicodedata.normalize("NFC", "".join(kept)).split())


def _significant(folded: str) -> int:
    """How many letters and digits a fold has (spaces and marks not counted)."""
    return sum(1 for ch in folded if unicodedata.category(ch)[0] in "LN")


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
    * ``doc:<country>:<kind>:<number>`` - each identity document whose folded number has
      at least ``MIN_DOCUMENT_FOLD`` letters and digits;
    * ``name-dob:<folded name>:<date of birth>`` - name folded by ``_fold`` (any script)
      with date of birth, only when the date of birth is known and the folded name has
      at least ``MIN_NAME_FOLD`` letters and digits.
    A key is never made from an empty or too-short fold: it would join different people.
    A referral with none of these cannot be matched safely and gets a subject of its own.
    """
    keys: list[str] = []
    if identity.pnc_id:
        keys.append(f"pnc:{identity.pnc_id.upper()}")
    for country, kind, number in identity.documents:
        folded = _fold(number).replace(" ", "")
        if _significant(folded) >= MIN_DOCUMENT_FOLD:
            keys.append(f"doc:{country}:{kind}:{folded}")
    name = _fold(identity.name)
    if identity.date_of_birth is not None and _significant(name) >= MIN_NAME_FOLD:
        keys.append(f"name-dob:{name}:{identity.date_of_birth.isoformat()}")
    return keys


def is_weak_name_key(key: str) -> bool:
    """A stored ``name-dob`` key whose folded name is empty or too short: made by the old
    Latin-only fold from a name in another script, it matched on date of birth alone."""
    if not key.startswith("name-dob:"):
        return False
    name = key.removeprefix("name-dob:").rpartition(":")[0]
    return _significant(name) < MIN_NAME_FOLD


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
    return route_decision(routes, eea=eea, whereabouts=whereabouts).subject


def route_decision(routes: Sequence[Route], *, eea: bool, whereabouts: str) -> Decision:
    """R06: which routing row matched (by its priority), and the two facts it was matched on."""
    facts = (_nationality_fact(eea), Fact("whereabouts", whereabouts, Source.REFERRAL, f"whereabouts {whereabouts}"))
    for route in sorted(routes, key=lambda r: r.priority):
        if route.eea is not None and route.eea != eea:
            continue
        if route.whereabouts is not None and route.whereabouts != whereabouts:
            continue
        row = Fact("routing_row", route.priority, Source.SETTINGS, f"routing row {route.priority}")
        return Decision("R06", "routed", (*facts, row), subject=route.team)
    return Decision("R06", "unrouted", facts)


# --- Decisions the stages take on a task's outcome or a message (issue 20) ----------------


def _given(name: str, outcome: str, shown: str, by: str | None, source: Source = Source.TASK) -> Fact:
    return Fact(name, outcome, source, shown, by=by)


def left_uk_decision(outcome: str, by: str | None) -> Decision:
    """R11: the person left before any deport action: the case closes with that outcome."""
    return Decision("R11", "closed", (_given("left_uk", outcome, f"reported to have left the UK ({outcome})", by),),
                    subject=OUTCOME_LEFT_UK)


def marker_decision(outcome: str, by: str | None) -> Decision:
    """R13: likely in the UK and not located: ICD.5079 for a wanted/missing marker."""
    return Decision("R13", REQUESTED, (_given("nbtc_check", outcome, f"NBTC check: {outcome}", by),))


def dormant_decision(outcome: str, by: str | None) -> Decision:
    """R16: ICE could not locate the person: dormant until located."""
    return Decision("R16", "dormant", (_given("ice_tasking", outcome, f"ICE tasking: {outcome}", by),),
                    subject=OUTCOME_LIABLE_TO_DEPORT)


def marker_removal_decision(marker_added: bool) -> Decision:
    """R21: ICD5080 only when this case added the wanted/missing marker."""
    return Decision("R21", "sent" if marker_added else "not_needed", (
        Fact("marker_added", marker_added, Source.CASE,
             "this case added a wanted/missing marker" if marker_added else "this case added no marker"),))


def non_detained_decision(outcome: str, by: str | None) -> Decision:
    """R33: unsuitable for detention: managed on a non-detained basis."""
    return Decision("R33", "non_detained", (_given("detention_decision", outcome, f"detention decision: {outcome}", by),))


def not_pursued_decision(outcome: str, by: str | None) -> Decision:
    """R47: the case owner decided not to proceed: Stage F."""
    return Decision("R47", "not_pursued", (_given("consideration_decision", outcome,
                                                   f"consideration decision: {outcome}", by),))


def submission_decision(reasons_task: str | None) -> Decision:
    """R50: the submission to the Director points at the reasons recorded with the decision."""
    return Decision("R50", "submitted", (Fact("reasons_recorded_with", reasons_task, Source.CASE,
                                              f"reasons recorded with task {reasons_task}" if reasons_task
                                              else "no reasons task recorded"),))


def director_decision(agreed: bool, outcome: str, by: str | None) -> Decision:
    """R51: the Director agrees (removals considered) or disagrees (back to Stage E)."""
    return Decision("R51", "agreed" if agreed else "disagreed", (_given("director_decision", outcome,
                                                                       f"Director: {outcome}", by),))


def acro_advised_decision() -> Decision:
    """R52: ACRO is told deportation is not being pursued."""
    return Decision("R52", "advised", (Fact("outcome", OUTCOME_NOT_PURSUED, Source.CASE, OUTCOME_NOT_PURSUED),))
