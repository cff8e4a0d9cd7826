"""Issue 20: each decision a case takes is recorded in the CID as it takes it - rule, outcome,
facts and the sentence its template rendered - driven through the real stack (time-skipping
server, real worker, real CID). Personal values stay out of what the trail shows."""

from __future__ import annotations

import json
from typing import Any

from casework import rules
from casework.referral import DISCLOSABLE_PURPOSE
from tests.support import PURSUIT_FACTORS, Case, days, eventually, not_pursued_to_closure, to_consideration, unique_ref
from tests.test_process_dormancy import to_dormant

CRIMINAL_PROCEEDINGS = "Request for criminal proceedings"
MOST_SERIOUS = {"request_purpose": DISCLOSABLE_PURPOSE,
                "convictions": [{"country": "PL", "offence": "Murder", "category": "homicide",
                                 "conviction_date": "2009-01-02"}]}


async def decisions(case: Case) -> list[dict[str, Any]]:
    rows = await case.rows("SELECT step, rule, outcome, subject, sentence, facts, personal, actor FROM case_decisions"
                           " WHERE case_id = $1 ORDER BY decided_at, id")
    return [dict(r) for r in rows]


def taken(rows: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(r["rule"], r["outcome"]) for r in rows]


def sentence(rows: list[dict[str, Any]], rule: str) -> str:
    [found] = [r["sentence"] for r in rows if r["rule"] == rule]
    return found


def shown_without_personal(rows: list[dict[str, Any]], *values: str) -> None:
    """R60: what the trail shows (sentence, facts) holds none of the referral's values."""
    shown = json.dumps([{k: r[k] for k in ("sentence", "facts", "subject")} for r in rows])
    for value in values:
        assert value not in shown, value


async def test_not_pursued_walk_records_each_decision_R01_R02_R04_R06_R10_R21_R23_R33_R41_R43_R47_R50_R51_R52(start):
    name = f"Jan Kowalski {unique_ref()}"
    case = await start(name=name, nationalities=["NG"], whereabouts={"status": "confirmed_address"})
    await not_pursued_to_closure(case)
    assert await case.handle.result() == rules.OUTCOME_NOT_PURSUED

    rows = await decisions(case)
    assert taken(rows) == [
        ("R01", "accepted"), ("R02", "disclosable"), ("R12", "not_needed"), ("R04", "created"), ("R06", "routed"),
        ("R10", "known"), ("R21", "not_needed"), ("R23", "not_needed"), ("R33", "non_detained"),
        ("R41", "served"), ("R43", "short"), ("R47", "not_pursued"), ("R50", "submitted"), ("R51", "agreed"),
        ("R52", "advised"),
    ]
    assert sentence(rows, "R01") == "R01: referral accepted — submitted by acro.referrals; non-EEA national"
    assert sentence(rows, "R04") == "R04: subject created — no existing subject shares its name and date of birth"
    assert sentence(rows, "R06").startswith("R06: referred to ") and "routing row" in sentence(rows, "R06")
    assert sentence(rows, "R10") == "R10: whereabouts known: straight to Stage C — a confirmed current location"
    assert sentence(rows, "R21") == "R21: no marker removal needed — this case added no marker"
    assert sentence(rows, "R33") == "R33: managed on a non-detained basis — detention decision: unsuitable"
    assert sentence(rows, "R41") == f"R41: {rules.NOTICE_NON_EEA} served — non-EEA national"
    assert sentence(rows, "R43").startswith("R43: 10 days to respond — at a confirmed address; the window ends ")
    assert sentence(rows, "R51") == "R51: Director agrees — Director: agree"
    # Who gave the outcome a decision rests on is named with the fact.
    [r47] = [r for r in rows if r["rule"] == "R47"]
    assert r47["facts"][0]["by"] == "co.smith"
    # R04 names the identifier's kind, never its value; R60: no referral value is shown.
    shown_without_personal(rows, name, "kowalski", "1980-02-03", "NG\"", "Robbery")
    assert [r for r in rows if r["rule"] == "R01"][0]["personal"] == {"eea": ["NG"]}


async def test_dormant_then_located_and_detained_R13_R16_R21_R23_R30_R31_R42_R45(start, ts_env):
    case = await start(nationalities=["PL"])
    await to_dormant(case)
    await case.located(actor="police.pnc", custody="confirmed_address")
    await case.complete("allocate_case_owner", "allocated", case_owner="co.smith")
    await case.complete("offending_history_check", "full_history_on_pnc", evidence_left_and_offended=True)
    await case.complete("police_contact", "no_pending_prosecution")
    await case.complete("detention_decision", "detain")
    await case.complete("pursuit_decision", "pursue", **PURSUIT_FACTORS)
    await case.wait_for(lambda v: v.notice_served_at is not None)
    await case.representations()
    await case.complete("consideration_decision", "deport", address_known=True, in_country_right_of_appeal=False)
    await case.task("deportation_enforcement")

    rows = await decisions(case)
    by_rule = {r["rule"]: r for r in rows}
    assert [(rule, by_rule[rule]["outcome"]) for rule in ("R10", "R13", "R16", "R21", "R23", "R30", "R31", "R43", "R45")] == [
        ("R10", "unknown"), ("R13", "requested"), ("R16", "dormant"), ("R21", "sent"), ("R23", "requested"),
        ("R30", "allowed"), ("R31", "power"), ("R43", "short"), ("R45", "not_requested")]
    assert by_rule["R13"]["sentence"] == "R13: wanted/missing marker requested (ICD.5079) — NBTC check: in_uk"
    assert by_rule["R13"]["facts"][0]["by"] == "nbtc.officer"
    assert by_rule["R16"]["sentence"] == "R16: unable to locate: dormant until located — ICE tasking: unable_to_locate"
    assert by_rule["R21"]["sentence"] == "R21: marker removal sent (ICD5080) — this case added a wanted/missing marker"
    assert by_rule["R23"]["sentence"] == ("R23: further ACRO check requested — evidence of leaving the UK and "
                                          "offending since")
    assert by_rule["R31"]["sentence"] == f"R31: detention under {rules.POWER_EEA} — EEA national"
    # R45 names the condition that failed: the person is detained.
    assert by_rule["R45"]["sentence"] == ("R45: ICE not asked to detain — failed: already detained; decision to deport; "
                                          "address known; no in-country right of appeal")
    shown_without_personal(rows, "Jan Kowalski", "1980-02-03", "\"PL\"")


async def test_left_uk_with_most_serious_offences_R11_R12(start):
    case = await start(certificate=MOST_SERIOUS)
    await case.complete("nbtc_check", "left_uk", actor="nbtc.officer")
    await case.task("exclusion_consideration")
    rows = await decisions(case)
    by_rule = {r["rule"]: r for r in rows}
    assert by_rule["R12"]["outcome"] == "considered"
    assert by_rule["R12"]["sentence"] == ("R12: exclusion consideration with a senior caseworker — offences of the "
                                          "most serious nature")
    assert by_rule["R12"]["personal"] == {"most_serious": ["homicide"]}  # kept, shown only under R60
    assert by_rule["R11"]["sentence"].startswith("R11: case closed: left the UK before deport action — ")
    shown_without_personal(rows, "homicide", "Murder")


async def test_non_disclosable_certificate_R02_R03_R61(start):
    case = await start(certificate={**MOST_SERIOUS, "request_purpose": CRIMINAL_PROCEEDINGS})
    await case.task("await_certificate")
    await eventually(case, "SELECT EXISTS (SELECT 1 FROM case_decisions WHERE case_id = $1 AND rule = 'R03')")
    rows = await decisions(case)
    assert taken(rows) == [("R01", "accepted"), ("R02", "not_disclosable"), ("R61", "refused"), ("R03", "destroyed")]
    assert sentence(rows, "R02") == (f'R02: certificate not disclosable — the offences are not on the PNC; not requested '
                                     f'for "{DISCLOSABLE_PURPOSE}"')
    assert sentence(rows, "R61") == ("R61: certificate for criminal proceedings is not a basis for deportation — "
                                     "not disclosable for immigration purposes")


async def test_serving_a_sentence_past_the_window_R41_R42(start, ts_env):
    release = ((await ts_env.get_current_time()) + days(200)).date().isoformat()
    case = await start(nationalities=["PL"], whereabouts={"status": "in_prison", "release_date": release})
    await to_consideration(case)
    await eventually(case, "SELECT EXISTS (SELECT 1 FROM case_decisions WHERE case_id = $1 AND rule = 'R42')")
    rows = await decisions(case)
    [r42] = [r for r in rows if r["rule"] == "R42"]
    [served] = await case.rows("SELECT body FROM outbound_messages WHERE case_id = $1 AND message_key = 'stage1-notice'")
    end = served["body"]["respond_by"][:10]
    assert r42["sentence"] == ("R42: 20 days to respond — serving a sentence; release falls after the window's end; "
                               f"the window ends {end}")
    assert r42["personal"] == {"release_date": release}  # kept, never shown
    assert sentence(rows, "R41") == f"R41: {rules.NOTICE_EEA} served — EEA national"
    shown_without_personal(rows, release)
