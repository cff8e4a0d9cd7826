"""The example referrals that ``casework up`` submits: valid, and covering the paths a
newcomer should see in the UI (R01 intake, R02 disclosability, R10 whereabouts, R31/R32
EEA or not)."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from casework import rules
from casework.case import case_id_for
from casework.referral import DISCLOSABLE_PURPOSE, Referral, WhereaboutsStatus, parse_referral
from casework.settings import EEA_2016

EXAMPLES = Path(__file__).resolve().parent.parent / "examples" / "referrals"


def _examples() -> dict[str, Referral]:
    return {
        path.name: parse_referral(json.loads(path.read_text()), date.today())
        for path in sorted(EXAMPLES.glob("*.json"))
    }


def test_r01_every_example_is_a_valid_referral_with_a_stable_reference():
    examples = _examples()
    assert 5 <= len(examples) <= 7
    references = [r.acro_reference for r in examples.values()]
    assert len(set(references)) == len(references)
    for reference in references:
        assert reference.startswith("EX/"), reference
        assert case_id_for(reference).startswith("acro-case-EX_")


def test_r02_examples_cover_each_ground_of_disclosability():
    certificates = [r.certificate for r in _examples().values()]
    by_purpose = [c for c in certificates if c.request_purpose == DISCLOSABLE_PURPOSE]
    on_pnc_only = [c for c in certificates if c.request_purpose != DISCLOSABLE_PURPOSE and c.offences_on_pnc]
    not_disclosable = [c for c in certificates if not rules.is_disclosable(c)]
    assert by_purpose and all(rules.is_disclosable(c) for c in by_purpose)
    # R61: requested for criminal proceedings, disclosable only because the offences are on the PNC.
    assert on_pnc_only and all(rules.is_disclosable(c) for c in on_pnc_only)
    assert not_disclosable


@pytest.mark.parametrize("eea", [True, False])
def test_r31_r32_examples_cover_eea_and_non_eea(eea: bool):
    found = [r for r in _examples().values() if rules.is_eea(r.nationalities, EEA_2016) is eea]
    assert found


def test_examples_include_a_dual_national_who_is_eea_by_any_nationality():
    duals = [r for r in _examples().values() if len(r.nationalities) > 1]
    assert any(
        rules.is_eea(r.nationalities, EEA_2016) and not all(n in EEA_2016 for n in r.nationalities)
        for r in duals
    )


def test_r10_examples_cover_every_whereabouts():
    examples = list(_examples().values())
    statuses = {r.whereabouts.status for r in examples}
    assert statuses == set(WhereaboutsStatus)
    assert any(r.whereabouts.status is WhereaboutsStatus.IN_PRISON and r.whereabouts.release_date for r in examples)
    # The NBTC check (R10) is where the stack's restart test parks a case: it needs a
    # disclosable example whose whereabouts are unknown.
    assert any(not r.whereabouts.status.known and rules.is_disclosable(r.certificate) for r in examples)
