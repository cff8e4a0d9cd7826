"""Decisions as values (issue 20): each pure rule's decision, its facts and the sentence its
template renders, tabled by rule ID; personal facts never shown in the trail's form."""

from __future__ import annotations

import json
from datetime import date, datetime, timezone

import pytest

from casework import rules
from casework.decisions import TEMPLATES, Decision, Fact, Source
from casework.referral import DISCLOSABLE_PURPOSE, Certificate, WhereaboutsStatus
from casework.rules import Route

SERVED = datetime(2026, 12, 1, 9, 0, tzinfo=timezone.utc)
ROUTES = (Route(10, "cc-eea", eea=True), Route(20, "cc-prison", whereabouts="in_prison"), Route(99, "cc-general"))


def _cert(purpose: str, on_pnc: bool = False) -> Certificate:
    return Certificate(request_purpose=purpose, offences_on_pnc=on_pnc,
                       convictions=[{"country": "FR", "offence": "Theft", "category": "theft",
                                     "conviction_date": "2012-01-01"}])


CASES: list[tuple[str, Decision, str, str]] = [
    # (why, decision, outcome, sentence)
    ("R02 purpose matches", rules.disclosable_decision(_cert(DISCLOSABLE_PURPOSE)), "disclosable",
     f'R02: certificate disclosable — the offences are not on the PNC; requested for "{DISCLOSABLE_PURPOSE}"'),
    ("R02/R03 neither limb", rules.disclosable_decision(_cert("Request for criminal proceedings")), "not_disclosable",
     f'R02: certificate not disclosable — the offences are not on the PNC; not requested for "{DISCLOSABLE_PURPOSE}"'),
    ("R42 release after the window", rules.window_decision(WhereaboutsStatus.IN_PRISON, date(2027, 3, 1), SERVED),
     "long", "R42: 20 days to respond — serving a sentence; release falls after the window's end; "
             "the window ends 2026-12-21"),
    ("R43 release within the window", rules.window_decision(WhereaboutsStatus.IN_PRISON, date(2026, 12, 10), SERVED),
     "short", "R43: 10 days to respond — serving a sentence; release falls within the window; "
              "the window ends 2026-12-11"),
    ("R43 detained", rules.window_decision(WhereaboutsStatus.DETAINED, None, SERVED), "short",
     "R43: 10 days to respond — detained under immigration powers; the window ends 2026-12-11"),
    ("R41 EEA", rules.notice_decision(True, ["FR"]), "served",
     "R41: Stage 1 Liability to Deportation Notice served — EEA national"),
    ("R41 non-EEA", rules.notice_decision(False, ["NG"]), "served", "R41: Stage 1 Decision Notice served — non-EEA national"),
    ("R31 EEA power", rules.power_decision(True, ["FR"]), "power",
     f"R31: detention under {rules.POWER_EEA} — EEA national"),
    ("R32 non-EEA power", rules.power_decision(False, ["NG"]), "power",
     f"R32: detention under {rules.POWER_NON_EEA} — non-EEA national"),
    ("R45 all four hold", rules.ice_detention_decision(detained=False, decided_to_deport=True, address_known=True,
                                                       in_country_right_of_appeal=False), "requested",
     "R45: ICE asked to detain — not detained; decision to deport; address known; no in-country right of appeal"),
    ("R45 address unknown", rules.ice_detention_decision(detained=False, decided_to_deport=True, address_known=False,
                                                         in_country_right_of_appeal=False), "not_requested",
     "R45: ICE not asked to detain — not detained; decision to deport; failed: address not known; "
     "no in-country right of appeal"),
    ("R12 most serious", rules.exclusion_decision(["murder"], frozenset({"murder"})), "considered",
     "R12: exclusion consideration with a senior caseworker — offences of the most serious nature"),
    ("R12 not", rules.exclusion_decision(["theft"], frozenset({"murder"})), "not_needed",
     "R12: no exclusion consideration — no offence of the most serious nature"),
    ("R23 evidence", rules.further_check_decision(True), "requested",
     "R23: further ACRO check requested — evidence of leaving the UK and offending since"),
    ("R23 none", rules.further_check_decision(False), "not_needed",
     "R23: no further ACRO check — no evidence of leaving the UK and offending since"),
    ("R30 refused", rules.detention_decision(False), "refused",
     "R30: detention refused — the overseas convictions are not disclosable"),
    ("R30 allowed", rules.detention_decision(True), "allowed",
     "R30: detention may be considered — the overseas convictions are disclosable"),
    ("R10 unknown", rules.whereabouts_decision(WhereaboutsStatus.UNKNOWN), "unknown",
     "R10: whereabouts unknown: NBTC check — no confirmed current location"),
    ("R06 EEA row", rules.route_decision(ROUTES, eea=True, whereabouts="in_prison"), "routed",
     "R06: referred to cc-eea — EEA national; whereabouts in_prison; routing row 10"),
    ("R06 second row", rules.route_decision(ROUTES, eea=False, whereabouts="in_prison"), "routed",
     "R06: referred to cc-prison — non-EEA national; whereabouts in_prison; routing row 20"),
    ("R06 no row", rules.route_decision(ROUTES[:1], eea=False, whereabouts="unknown"), "unrouted",
     "R06: no routing row matches — non-EEA national; whereabouts unknown"),
]


@pytest.mark.parametrize(("why", "decision", "outcome", "sentence"), CASES, ids=[c[0] for c in CASES])
def test_each_rule_decides_with_its_facts_and_renders_its_sentence(why: str, decision: Decision, outcome: str,
                                                                     sentence: str) -> None:
    assert decision.rule == why.split()[0].split("/")[0]
    assert decision.outcome == outcome
    assert decision.sentence == sentence
    assert decision.public()["sentence"] == sentence


def test_booleans_are_read_from_the_decisions_so_they_cannot_disagree() -> None:
    """R02, R42/R43, R45, R06, R23, R30: the old questions answer what the decision says."""
    assert rules.is_disclosable(_cert(DISCLOSABLE_PURPOSE)) is True
    assert rules.is_disclosable(_cert("Request for criminal proceedings")) is False
    assert rules.response_window(WhereaboutsStatus.IN_PRISON, date(2027, 3, 1), SERVED).days == 20
    assert rules.route_team(ROUTES, eea=False, whereabouts="unknown") == "cc-general"
    assert rules.must_request_ice_detention(detained=True, decided_to_deport=True, address_known=True,
                                            in_country_right_of_appeal=False) is False


def test_personal_facts_are_stored_but_never_shown() -> None:
    """R60: the release date and nationality are kept with the decision, shown as categories."""
    d = rules.window_decision(WhereaboutsStatus.IN_PRISON, date(2027, 3, 1), SERVED)
    shown = json.dumps(d.public())
    assert "2027-03-01" not in shown
    assert d.fact("release_date").stored()["value"] == "2027-03-01"
    notice = rules.notice_decision(True, ["FR", "NG"])
    assert '"FR"' not in json.dumps(notice.public())
    assert notice.fact("eea").stored()["value"] == ["FR", "NG"]
    exclusion = rules.exclusion_decision(["murder"], frozenset({"murder"}))
    assert "murder" not in json.dumps(exclusion.public())


def test_a_decision_must_name_a_rule_and_an_outcome_its_template_knows() -> None:
    with pytest.raises(ValueError, match="Z01 is not a rule"):
        Decision("Z01", "x")
    with pytest.raises(ValueError, match="decides one of"):
        Decision("R30", "maybe")
    with pytest.raises(ValueError, match="has no template"):
        Decision("R05", "x")


def test_every_template_renders_each_of_its_outcomes() -> None:
    fact = Fact("x", 1, Source.CASE, "a fact")
    for rule, template in TEMPLATES.items():
        for outcome in template.outcomes:
            facts = (fact,) if rule not in ("R42", "R43") else (
                fact, Fact("days", 10, Source.SETTINGS, ""), Fact("window_end", "2026-01-01", Source.CLOCK, ""))
            sentence = Decision(rule, outcome, facts, subject="S").sentence
            assert sentence.startswith(f"{rule}: ") and "{" not in sentence
