"""Made-up referrals for the benchmark: every one a different person (R04 matches none
of them to another), disclosable, whereabouts unknown, so each case runs Stage A and
opens its NBTC check (R10) - the path most referrals take."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from casework.referral import DISCLOSABLE_PURPOSE, Referral

_GIVEN = ["Jan", "Ana", "Ionut", "Maria", "Tomas", "Elena", "Arben", "Chidi", "Lina", "Marek"]
_FAMILY = ["Nowak", "Popescu", "Kazlauskas", "Hoxha", "Okafor", "Silva", "Horvat", "Berg", "Dvorak", "Costa"]
_NATIONALITIES = ["PL", "RO", "LT", "AL", "NG", "PT", "HR", "BR"]


def reference(prefix: str, n: int) -> str:
    return f"{prefix}-{n:06d}"


def referral_data(ref: str, n: int) -> dict[str, Any]:
    nationality = _NATIONALITIES[n % len(_NATIONALITIES)]
    return {
        "acro_reference": ref,
        "name": f"{_GIVEN[n % 10]} {_FAMILY[(n // 10) % 10]}",
        "date_of_birth": (date(1960, 1, 1) + timedelta(days=n % 15000)).isoformat(),
        "nationalities": [nationality],
        "identity_documents": [{"kind": "passport", "number": f"P{ref.replace('-', '')}", "issuing_country": nationality}],
        "certificate": {
            "request_purpose": DISCLOSABLE_PURPOSE,
            "convictions": [
                {"country": nationality, "offence": "Robbery", "category": "robbery",
                 "conviction_date": "2012-05-06", "sentence": "4 years"},
            ],
        },
        "reason_for_request": "arrest",
        "whereabouts": {"status": "unknown"},
    }


def referral(ref: str, n: int) -> Referral:
    return Referral.model_validate(referral_data(ref, n), context={"today": date.today()})
