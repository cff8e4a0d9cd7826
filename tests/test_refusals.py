"""R01: refusals read as the project's own words, not pydantic's (casework/refusals.py)."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

from starter.referral_files import read_referrals
from tests.support import referral_data

PYDANTIC_WORDS = ("Value error", "after validation", "Input should", "valid dictionary", "instance of",
                  "Field required", "Extra inputs", "errors.pydantic.dev")


def test_R01_refusals_are_in_our_words(tmp_path: Path):
    tomorrow = (date.today() + timedelta(days=1)).isoformat()
    documents = {
        "future.json": referral_data(date_of_birth=tomorrow),
        "no-convictions.json": referral_data(certificate={"request_purpose": "immigration", "convictions": []}),
        "numbers.json": [1, 2],
        "typo.json": referral_data(nationalitys=["PL"]),
        "purpose.json": referral_data(reason_for_request="bystander"),
    }
    for name, document in documents.items():
        (tmp_path / name).write_text(json.dumps(document))
    problems = read_referrals([str(tmp_path)], date.today()).problems
    text = "\n".join(problems)
    assert not [word for word in PYDANTIC_WORDS if word in text], text
    for expected in (
        f"future.json: date_of_birth: {tomorrow} is in the future",
        "no-convictions.json: certificate.convictions: needs at least 1 item, none given",
        "numbers.json[0]: (document): should be an object ({...}), not a number",
        "typo.json: nationalitys: not a field here (misspelt, or not part of the format)",
        "purpose.json: reason_for_request: should be one of: victim, witness, arrest",
    ):
        assert any(line.endswith(expected) for line in problems), (expected, problems)
