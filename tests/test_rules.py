"""The pure rules of casework/rules.py, tabled with their rule IDs (no server, no database)."""

from __future__ import annotations

import itertools
from datetime import date, datetime, timedelta, timezone

import pytest

from casework import rules
from casework.referral import DISCLOSABLE_PURPOSE, Certificate, WhereaboutsStatus
from casework.rules import Identity, Route, subject_match_keys
from casework.settings import EEA_2016, ProcessSettings
from tests.support import referral

CRIMINAL_PROCEEDINGS = "Request for criminal proceedings"


def certificate(purpose: str, on_pnc: bool = False) -> Certificate:
    return Certificate(
        request_purpose=purpose,
        offences_on_pnc=on_pnc,
        convictions=[{"country": "FR", "offence": "Theft", "category": "theft", "conviction_date": "2012-01-01"}],
    )


# --- R02 / R61: disclosability ------------------------------------------------------------


@pytest.mark.parametrize(
    ("purpose", "on_pnc", "disclosable"),
    [
        (DISCLOSABLE_PURPOSE, False, True),  # R02 first limb: the purpose wording
        ("request for administrative purpose immigration/deportation", False, True),
        ("  REQUEST FOR ADMINISTRATIVE   PURPOSE\timmigration/deportation \n", False, True),
        (CRIMINAL_PROCEEDINGS, False, False),  # R61: police request for criminal proceedings
        (CRIMINAL_PROCEEDINGS, True, True),  # R02 second limb: the offences are on the PNC
        ("Request for administrative purpose immigration", False, False),  # a partial wording is not enough
        ("Request for administrative purpose immigration/deportation (draft)", False, False),
        ("Request for administrative purpose immigration deportation", False, False),
    ],
)
def test_R02_R61_is_disclosable(purpose: str, on_pnc: bool, disclosable: bool) -> None:
    assert rules.is_disclosable(certificate(purpose, on_pnc)) is disclosable


def test_R30_may_detain_only_on_disclosable_convictions() -> None:
    assert rules.may_detain(True) is True
    assert rules.may_detain(False) is False


# --- EEA (R31/R32/R41) ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("nationalities", "eea"),
    [
        (["PL"], True),
        (["CH"], True),  # Switzerland, as the EEA Regulations 2006 treat it
        (["NO"], True),
        (["IS"], True),
        (["LI"], True),
        (["HR"], True),  # an EU member state in 2016
        (["NG"], False),
        (["US"], False),
        (["TR"], False),
        (["NG", "FR"], True),  # dual nationality: EEA when any nationality is EEA
        (["FR", "NG"], True),
        ([], False),
    ],
)
def test_is_eea_any_nationality(nationalities: list[str], eea: bool) -> None:
    assert rules.is_eea(nationalities, EEA_2016) is eea


def test_eea_list_is_the_2016_one() -> None:
    assert len(EEA_2016) == 28 - 1 + 3 + 1  # EU-28 less the UK, plus IS/LI/NO, plus CH
    assert "GB" not in EEA_2016
    assert ProcessSettings().eea_countries == EEA_2016


@pytest.mark.parametrize(("eea", "power"), [(True, rules.POWER_EEA), (False, rules.POWER_NON_EEA)])
def test_R31_R32_detention_power(eea: bool, power: str) -> None:
    assert rules.detention_power(eea) == power


def test_R31_R32_power_wording() -> None:
    assert "regulation 24(1)" in rules.POWER_EEA and "2006" in rules.POWER_EEA
    assert rules.POWER_NON_EEA == "paragraph 2, Schedule 3, Immigration Act 1971"


@pytest.mark.parametrize(
    ("eea", "notice"),
    [(True, "Stage 1 Liability to Deportation Notice"), (False, "Stage 1 Decision Notice")],
)
def test_R41_notice_for(eea: bool, notice: str) -> None:
    assert rules.notice_for(eea) == notice


# --- R42 / R43: the response window -----------------------------------------------------------

SERVED = datetime(2024, 3, 1, 10, 30, tzinfo=timezone.utc)
LAST_DAY = date(2024, 3, 21)  # served + 20 calendar days


@pytest.mark.parametrize(
    ("custody", "release", "days"),
    [
        (WhereaboutsStatus.IN_PRISON, date(2025, 1, 1), 20),  # R42: plenty of sentence left
        (WhereaboutsStatus.IN_PRISON, LAST_DAY + timedelta(days=1), 20),  # released the day after the window
        (WhereaboutsStatus.IN_PRISON, LAST_DAY, 10),  # boundary: released on the window's last day -> R43
        (WhereaboutsStatus.IN_PRISON, LAST_DAY - timedelta(days=1), 10),
        (WhereaboutsStatus.IN_PRISON, date(2024, 3, 2), 10),  # released almost at once
        (WhereaboutsStatus.IN_PRISON, None, 10),  # no release date: sufficient time cannot be shown
        (WhereaboutsStatus.DETAINED, None, 10),  # R43: detained under immigration powers
        (WhereaboutsStatus.CONFIRMED_ADDRESS, None, 10),  # R43 interpretation: any other case
        (WhereaboutsStatus.UNKNOWN, None, 10),
    ],
)
def test_R42_R43_response_window(custody: WhereaboutsStatus, release: date | None, days: int) -> None:
    assert rules.response_window(custody, release, SERVED) == timedelta(days=days)


def test_R42_window_counts_calendar_days_from_service() -> None:
    """The boundary moves with the service date, month ends included."""
    served = datetime(2024, 2, 20, 23, 0, tzinfo=timezone.utc)  # leap year: +20 days is 11 March
    assert rules.response_window(WhereaboutsStatus.IN_PRISON, date(2024, 3, 11), served).days == 10
    assert rules.response_window(WhereaboutsStatus.IN_PRISON, date(2024, 3, 12), served).days == 20


# --- R45: ask ICE to detain -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("detained", "decided", "address", "appeal"), list(itertools.product([False, True], repeat=4))
)
def test_R45_must_request_ice_detention_all_16(detained: bool, decided: bool, address: bool, appeal: bool) -> None:
    expected = (detained, decided, address, appeal) == (False, True, True, False)
    assert rules.must_request_ice_detention(
        detained=detained, decided_to_deport=decided, address_known=address, in_country_right_of_appeal=appeal
    ) is expected


# --- R12 / R23 ----------------------------------------------------------------------------------

MOST_SERIOUS = ProcessSettings().most_serious_categories


@pytest.mark.parametrize(
    ("categories", "serious"),
    [
        (["homicide"], True),
        (["theft", "sexual"], True),
        (["theft", "fraud"], False),
        ([], False),
        (["Homicide"], False),  # categories are lower-cased by the referral model, not here
    ],
)
def test_R12_is_most_serious(categories: list[str], serious: bool) -> None:
    assert rules.is_most_serious(categories, MOST_SERIOUS) is serious


def test_R12_most_serious_is_configuration() -> None:
    assert rules.is_most_serious(["fraud"], frozenset({"fraud"})) is True
    assert rules.is_most_serious(["homicide"], frozenset()) is False


@pytest.mark.parametrize(("evidence", "check"), [(True, True), (False, False)])
def test_R23_needs_further_acro_check(evidence: bool, check: bool) -> None:
    assert rules.needs_further_acro_check(evidence) is check


# --- R04: subject match keys ----------------------------------------------------------------------

DOB = date(1975, 6, 7)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("José Núñez", "JOSE NUNEZ"),  # accents and case
        ("Seán O'Brien", "sean o brien"),  # punctuation
        ("Zoë  Müller-Lüdenscheidt", "zoe muller ludenscheidt"),  # hyphen, doubled space
        ("  Anna Nowak ", "anna nowak"),
    ],
)
def test_R04_name_folding_matches(a: str, b: str) -> None:
    assert subject_match_keys(Identity(a, DOB)) == subject_match_keys(Identity(b, DOB))


def test_R04_name_without_dob_is_no_key() -> None:
    assert subject_match_keys(Identity("José Núñez")) == []


def test_R04_same_name_other_dob_differs() -> None:
    assert subject_match_keys(Identity("José Núñez", DOB)) != subject_match_keys(Identity("José Núñez", date(1975, 6, 8)))


def test_R04_keys_strongest_first() -> None:
    identity = Identity(
        "José Núñez", DOB, pnc_id="12/345678a", documents=(("ES", "passport", "ab 12-345"), ("FR", "national_id", "X9 87")),
    )
    assert subject_match_keys(identity) == [
        "pnc:12/345678A",
        "doc:ES:passport:ab12345",
        "doc:FR:national_id:x987",
        "name-dob:jose nunez:1975-06-07",
    ]


def test_R04_identity_of_referral() -> None:
    ref = referral(
        name="Jan Kowalski", date_of_birth="1980-02-03", pnc_id="01/2345z",
        identity_documents=[{"kind": "passport", "number": "EA 123", "issuing_country": "pl"}],
    )
    assert subject_match_keys(Identity.of(ref)) == [
        "pnc:01/2345Z", "doc:PL:passport:ea123", "name-dob:jan kowalski:1980-02-03",
    ]


# --- R06: routing ----------------------------------------------------------------------------------

SEED_ROUTES = [  # as seeded in cid/migrations/0001_cid.sql
    Route(10, "CC FNO Prison Team", whereabouts="in_prison"),
    Route(20, "CC EEA Team", eea=True),
    Route(30, "CC Non-EEA Team", eea=False),
]


@pytest.mark.parametrize(
    ("eea", "whereabouts", "team"),
    [
        (True, "in_prison", "CC FNO Prison Team"),  # priority 10 beats the EEA row
        (False, "in_prison", "CC FNO Prison Team"),
        (True, "unknown", "CC EEA Team"),
        (True, "detained", "CC EEA Team"),
        (False, "unknown", "CC Non-EEA Team"),
        (False, "confirmed_address", "CC Non-EEA Team"),
    ],
)
def test_R06_route_team_seed(eea: bool, whereabouts: str, team: str) -> None:
    assert rules.route_team(SEED_ROUTES, eea=eea, whereabouts=whereabouts) == team
    # The order rows are given in does not matter: priority does.
    assert rules.route_team(list(reversed(SEED_ROUTES)), eea=eea, whereabouts=whereabouts) == team


def test_R06_null_criteria_match_anything_and_no_match_is_none() -> None:
    catch_all = Route(99, "CC Workflow")
    assert rules.route_team([catch_all], eea=True, whereabouts="unknown") == "CC Workflow"
    assert rules.route_team([Route(1, "A", eea=True, whereabouts="detained"), catch_all],
                            eea=True, whereabouts="unknown") == "CC Workflow"
    assert rules.route_team([Route(1, "A", eea=True, whereabouts="detained"), catch_all],
                            eea=True, whereabouts="detained") == "A"
    assert rules.route_team([Route(1, "A", eea=True)], eea=False, whereabouts="unknown") is None
    assert rules.route_team([], eea=False, whereabouts="unknown") is None


def test_R03_note_and_R04_event_wording() -> None:
    assert rules.NON_DISCLOSABLE_NOTE == (
        "non-disclosable ACRO certificate received – no further action until a disclosable certificate is obtained"
    )
    assert rules.ACRO_REFERRAL_EVENT == "CC - ACRO Referral"
    assert rules.OUTCOME_LEFT_UK == "ACRO overseas conviction – left UK before deport action"
    assert rules.OUTCOME_LIABLE_TO_DEPORT == "ACRO: liable to deport – PNC updated 'wanted/missing'"


# --- R02 / R61: the purpose wording, matched robustly (issue 12, defect 6) -----------------


@pytest.mark.parametrize(
    "purpose",
    [
        "Request for administrative purpose immigration / deportation",
        "Request for administrative purpose immigration /deportation",
        "Request for administrative purpose Immigration/Deportation.",
        "request for administrative purpose immigration/deportation;",
        "REQUEST FOR ADMINISTRATIVE PURPOSE IMMIGRATION / DEPORTATION .",
        "Request for administrative purpose immigration／deportation",  # full-width solidus (NFKC)
        "Request for administrative purpose immigration/deportation!  ",
    ],
)
def test_R02_disclosable_wording_ignores_spacing_and_punctuation_around_the_slash_and_at_the_end(purpose: str) -> None:
    assert rules.is_disclosable(certificate(purpose)) is True
    assert rules.non_disclosable_reason(certificate(purpose)) is None


@pytest.mark.parametrize(
    "purpose",
    [
        "Request for administrative purpose immigration - deportation",  # another separator
        "Request for administrative purpose immigration",
        ".Request for administrative purpose immigration/deportation",  # leading punctuation is a change
        "Request for criminal proceedings.",
    ],
)
def test_R02_R61_other_wordings_stay_non_disclosable_and_say_why(purpose: str) -> None:
    assert rules.is_disclosable(certificate(purpose)) is False
    reason = rules.non_disclosable_reason(certificate(purpose))
    assert reason is not None and reason.startswith("R02/R61: request purpose")
    assert purpose.strip()[:40] in reason and DISCLOSABLE_PURPOSE in reason and "R03" in reason


def test_R02_offences_on_pnc_need_no_reason() -> None:
    assert rules.non_disclosable_reason(certificate(CRIMINAL_PROCEEDINGS, on_pnc=True)) is None


# --- R04: names and documents in every script (issue 12, defect 1) ---------------------------

#: One person per script, and another person of that script, as a referral might give them.
SCRIPTS = {
    "cyrillic": ("Иван Петров", "Сергей Смирнов"),
    "arabic": ("محمد علي", "أحمد حسن"),
    "greek": ("Γιώργος Παπαδόπουλος", "Νίκος Οικονόμου"),
    "han": ("王伟", "李娜"),
    "devanagari": ("राम शर्मा", "सीता वर्मा"),
    "hebrew": ("דוד כהן", "משה לוי"),
    "latin": ("Jan Kowalski", "Piotr Nowak"),
}


@pytest.mark.parametrize("script", sorted(SCRIPTS))
def test_R04_different_people_of_one_script_and_dob_never_share_a_key(script: str) -> None:
    one, other = SCRIPTS[script]
    a, b = subject_match_keys(Identity(one, DOB)), subject_match_keys(Identity(other, DOB))
    assert a and b, "a name in any script gives a name-dob key"
    assert not set(a) & set(b)


def test_R04_no_two_scripts_share_a_key() -> None:
    keys = [k for pair in SCRIPTS.values() for name in pair for k in subject_match_keys(Identity(name, DOB))]
    assert len(keys) == len(set(keys)) == 2 * len(SCRIPTS)


@pytest.mark.parametrize("script", sorted(SCRIPTS))
def test_R04_the_same_person_written_the_same_way_still_matches(script: str) -> None:
    name = SCRIPTS[script][0]
    assert subject_match_keys(Identity(name, DOB)) == subject_match_keys(Identity(f"  {name} ", DOB))
    assert subject_match_keys(Identity(name, DOB)) == subject_match_keys(Identity(name.upper(), DOB))


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("ИВАН ПЕТРОВ", "иван петров"),  # case, in Cyrillic
        ("ΓΙΏΡΓΟΣ ΠΑΠΑΔΌΠΟΥΛΟΣ", "Γιωργος Παπαδοπουλος"),  # Greek accents and final sigma
        ("مُحَمَّد عَلِي", "محمد علي"),  # Arabic vowel marks are optional
        ("محـمد علي", "محمد علي"),  # the tatweel stretches a word, it is not a letter
        ("Łukasz Żółć", "lukasz zolc"),  # Latin letters with a stroke fold to their base letter
        ("ＪＡＮ　ＫＯＷＡＬＳＫＩ", "Jan Kowalski"),  # full-width forms (NFKC)
    ],
)
def test_R04_folding_within_a_script_matches(a: str, b: str) -> None:
    assert subject_match_keys(Identity(a, DOB)) == subject_match_keys(Identity(b, DOB))


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Иван Петров", "Ivan Petrov"),  # no transliteration: different keys (a PNC ID or document links them)
        ("Йоган", "Иоган"),  # the Cyrillic short i is its own letter, not an accented one
        ("राम", "रम"),  # a Devanagari vowel sign is part of the name
        ("王伟", "王"),
    ],
)
def test_R04_different_spellings_across_or_within_scripts_do_not_match(a: str, b: str) -> None:
    assert subject_match_keys(Identity(a, DOB)) != subject_match_keys(Identity(b, DOB))


@pytest.mark.parametrize("name", ["", "   ", "-- ' --", "李", "X", "٭٭٭", "\u200d\u200d"])
def test_R04_no_key_from_an_empty_or_too_short_name(name: str) -> None:
    assert subject_match_keys(Identity(name, DOB)) == []


def test_R04_names_in_other_scripts_without_dob_are_no_key() -> None:
    for one, other in SCRIPTS.values():
        assert subject_match_keys(Identity(one)) == subject_match_keys(Identity(other)) == []


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        ("АВ 123456", "ав123456", True),  # Cyrillic document number: case and spacing folded
        ("АВ 123456", "АГ 123456", False),  # another letter, another document
        ("АВ 123456", "AB 123456", False),  # Cyrillic АВ is not Latin AB (no transliteration)
        ("١٢٣٤٥٦٧", "1234567", True),  # Arabic-Indic digits are the same number
        ("ア123456", "イ123456", False),
    ],
)
def test_R04_document_numbers_in_other_scripts(a: str, b: str, same: bool) -> None:
    ka = subject_match_keys(Identity("x", documents=(("RU", "passport", a),)))
    kb = subject_match_keys(Identity("x", documents=(("RU", "passport", b),)))
    assert len(ka) == len(kb) == 1
    assert (ka == kb) is same


@pytest.mark.parametrize("number", ["", "---", "АБ", "12 3", "٭٭٭٭٭"])
def test_R04_no_key_from_an_empty_or_too_short_document_number(number: str) -> None:
    assert subject_match_keys(Identity("x", documents=(("RU", "passport", number),))) == []


def test_R04_weak_name_keys_are_recognised() -> None:
    assert rules.is_weak_name_key("name-dob::1975-06-07")  # what the old fold made of "Иван Петров"
    assert rules.is_weak_name_key("name-dob:x:1975-06-07")
    assert not rules.is_weak_name_key("name-dob:иван петров:1975-06-07")
    assert not rules.is_weak_name_key("doc:RU:passport:")


def test_R04_subject_check_finds_merged_and_rekeyed_subjects() -> None:
    from cid.subject_check import REKEYED, SPLIT, WEAK_KEY, diagnose

    ivan = subject_match_keys(Identity("Иван Петров", DOB))
    sergei = subject_match_keys(Identity("Сергей Смирнов", DOB))
    # Two people merged by the old key: both reasons.
    assert diagnose({"name-dob::1975-06-07"}, {"c1": ivan, "c2": sergei}) == [WEAK_KEY, SPLIT, REKEYED]
    # One person, keyed as today: nothing to say.
    assert diagnose(set(ivan), {"c1": ivan, "c2": ivan}) == []
    # Keyed by the old fold ("Łukasz" lost its first letter): a new referral would not find it.
    lukasz = subject_match_keys(Identity("Łukasz Nowak", DOB))
    assert diagnose({"name-dob:ukasz nowak:1975-06-07"}, {"c1": lukasz}) == [REKEYED]
    # Linked through a third case that shares a key with each: one group.
    assert diagnose(set(ivan) | {"pnc:1/2A"}, {"c1": ivan, "c2": ["pnc:1/2A"], "c3": ivan + ["pnc:1/2A"]}) == []
