"""The referral model (R01, R02) and reading referral files: refused field by field, never a crash."""

from __future__ import annotations

import copy
import json
import re
import tempfile
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from casework.referral import Referral, WhereaboutsStatus, parse_referral
from starter.referral_files import read_referrals
from tests.support import json_paths, referral_data

TODAY = date(2024, 6, 1)
TOMORROW = (TODAY + timedelta(days=1)).isoformat()


def fields_refused(data: Any, today: date | None = TODAY) -> set[str]:
    """The dotted paths of the fields a referral is refused for (empty when accepted)."""
    try:
        if today is None:
            Referral.model_validate(data)
        else:
            parse_referral(data, today)
    except ValidationError as err:
        return {".".join(str(p) for p in e["loc"]) for e in err.errors()}
    return set()


def minimal() -> dict[str, Any]:
    return {
        "acro_reference": "16/123456A",
        "name": "Jan Kowalski",
        "nationalities": ["PL"],
        "certificate": {
            "request_purpose": "Request for criminal proceedings",
            "convictions": [{"country": "DE", "offence": "Fraud", "category": "fraud", "conviction_date": "2015-01-02"}],
        },
    }


# --- R01: required and optional fields --------------------------------------------------------


def test_R01_minimal_referral_and_its_defaults() -> None:
    ref = parse_referral(minimal(), TODAY)
    assert ref.acro_reference == "16/123456A"
    assert ref.aliases == [] and ref.identity_documents == []
    assert ref.date_of_birth is None and ref.pnc_id is None and ref.reason_for_request is None
    assert ref.requesting_officer is None and ref.last_known_address is None and ref.interpol_check_outcome is None
    assert ref.whereabouts.status is WhereaboutsStatus.UNKNOWN and not ref.whereabouts.status.known
    assert ref.certificate.offences_on_pnc is False and ref.certificate.issued_on is None


@pytest.mark.parametrize("field", ["acro_reference", "name", "nationalities", "certificate"])
def test_R01_required_fields(field: str) -> None:
    data = minimal()
    del data[field]
    assert fields_refused(data) == {field}


@pytest.mark.parametrize(
    ("path", "value", "refused"),
    [
        (("name",), "   ", "name"),  # blank after stripping
        (("nationalities",), [], "nationalities"),
        (("certificate", "convictions"), [], "certificate.convictions"),  # ACRO refers only on convictions
        (("certificate", "request_purpose"), "", "certificate.request_purpose"),
        (("acro_reference",), "no spaces allowed", "acro_reference"),
        (("reason_for_request",), "bystander", "reason_for_request"),
        (("pnc_id",), "1234", "pnc_id"),
        (("whereabouts",), {"status": "detained", "release_date": "2030-01-01"}, "whereabouts"),
        (("certificate", "convictions", 0, "category"), "", "certificate.convictions.0.category"),
        (("requesting_officer",), {"name": "PC Smith", "email": "not an email"}, "requesting_officer.email"),
    ],
)
def test_R01_malformed_field_is_named(path: tuple, value: Any, refused: str) -> None:
    data = minimal()
    target = data
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    assert fields_refused(data) == {refused}


def test_R01_every_optional_field_accepted() -> None:
    data = minimal() | {
        "aliases": ["Janek K", "J. Kowalsky"],
        "date_of_birth": "1980-02-03",
        "identity_documents": [{"kind": "passport", "number": "EA1234567", "issuing_country": "pl"}],
        "pnc_id": "01/234567x",
        "interpol_check_outcome": "No trace",
        "requesting_officer": {"name": "DC Smith", "force": "Kent Police", "email": "dc.smith@kent.police.uk",
                               "phone": "+44 1622 690690"},
        "reason_for_request": "witness",
        "last_known_address": {"lines": ["1 High Street", "Maidstone"], "postcode": "me14 1xx"},
        "whereabouts": {"status": "in_prison", "release_date": "2026-01-01"},
    }
    ref = parse_referral(data, TODAY)
    assert ref.pnc_id == "01/234567X"  # normalised
    assert ref.identity_documents[0].issuing_country == "PL"
    assert ref.last_known_address is not None and ref.last_known_address.postcode == "ME14 1XX"
    assert ref.whereabouts.status.known


def test_R01_reference_and_codes_normalised() -> None:
    data = minimal() | {"acro_reference": " acro-2016-0001 ", "nationalities": ["fr", " ng "]}
    ref = parse_referral(data, TODAY)
    assert ref.acro_reference == "ACRO-2016-0001"
    assert ref.nationalities == ["FR", "NG"]


def test_R01_unknown_fields_refused() -> None:
    assert fields_refused(minimal() | {"nationality": "PL"}) == {"nationality"}
    data = minimal()
    data["certificate"]["purpose"] = "x"
    assert fields_refused(data) == {"certificate.purpose"}


# --- dates: not in the future, only checked at intake ----------------------------------------------


@pytest.mark.parametrize(
    ("path", "refused"),
    [
        (("date_of_birth",), "date_of_birth"),
        (("certificate", "issued_on"), "certificate.issued_on"),
        (("certificate", "convictions", 0, "conviction_date"), "certificate.convictions.0.conviction_date"),
    ],
)
def test_R01_future_dates_refused_only_at_intake(path: tuple, refused: str) -> None:
    data = minimal()
    if path == ("date_of_birth",):  # no one is convicted before being born (defect 5)
        data["certificate"]["convictions"][0]["conviction_date"] = TODAY.isoformat()
    target = data
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = TOMORROW
    assert fields_refused(data) == {refused}
    # Without the intake context (as inside the workflow sandbox) there is no clock: accepted.
    assert fields_refused(data, today=None) == set()
    # Today itself is not the future.
    target[path[-1]] = TODAY.isoformat()
    assert fields_refused(data) == set()


def test_R01_country_codes_checked_only_at_intake() -> None:
    data = minimal() | {"nationalities": ["XX"]}
    assert fields_refused(data) == {"nationalities"}
    assert fields_refused(data, today=None) == set()


# --- who is a foreign national -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("nationalities", "accepted"),
    [
        (["GB"], False),
        (["gb"], False),
        (["FR", "GB"], False),  # dual British nationality: not a foreign national
        (["GB", "NG"], False),
        (["FR", "NG"], True),  # dual foreign nationality is accepted
        (["FR", "FR"], False),  # listed twice
        (["PL", "DE", "FR", "IT", "ES"], True),
        (["PL", "DE", "FR", "IT", "ES", "PT"], False),  # at most five
    ],
)
def test_british_and_dual_nationality(nationalities: list[str], accepted: bool) -> None:
    refused = fields_refused(minimal() | {"nationalities": nationalities})
    assert refused == (set() if accepted else {"nationalities"})


def test_british_refusal_says_why() -> None:
    with pytest.raises(ValidationError, match="British national is not a foreign national"):
        parse_referral(minimal() | {"nationalities": ["FR", "GB"]}, TODAY)


# --- reading files: never a crash, always referrals or problems naming a field ---------------------

# JSON values as a sender's JSON library writes them: no Infinity (json.dumps's own extension)
# and no integer of more digits than casework.strict_json reads; those are refused whole, as
# "not JSON", by tests of their own (test_api_door, test_faults_bad_input).
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(10**30), 10**30) | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=5),
    max_leaves=20,
)
LINE = re.compile(r"^(?P<label>[^:]+?)(\[\d+\])?: (?P<where>.+?): (?P<msg>.+)$", re.DOTALL)
REFERRAL_FIELDS = set(Referral.model_fields)
FILE_PROBLEMS = ("not JSON (", "no referral in this file")


def _read(raw: bytes) -> tuple[str, Any]:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "referral.json"
        path.write_bytes(raw)
        return str(path), read_referrals([str(path)], TODAY)


def _check_result(path: str, result: Any) -> None:
    assert result.problems or result.referrals, "neither referrals nor a problem"
    for line in result.problems:
        assert line.startswith(path), line
        if line.startswith(tuple(f"{path}: {problem}" for problem in FILE_PROBLEMS)):
            continue  # a problem of the file as a whole
        assert LINE.match(line), line


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(json_values)
def test_any_json_document_is_read_or_refused(document: Any) -> None:
    path, result = _read(json.dumps(document).encode())
    _check_result(path, result)
    if not result.problems:
        assert isinstance(document, (dict, list))


@settings(max_examples=80, deadline=None)
@given(st.binary(max_size=200))
def test_any_bytes_are_read_or_refused(raw: bytes) -> None:
    path, result = _read(raw)
    _check_result(path, result)


@st.composite
def mutated_referrals(draw: st.DrawFn) -> tuple[dict[str, Any], str]:
    data = referral_data(
        acro_reference="16/000001A", date_of_birth="1980-02-03", pnc_id="12/34567A",
        identity_documents=[{"kind": "passport", "number": "EA123", "issuing_country": "PL"}],
        whereabouts={"status": "in_prison", "release_date": "2030-01-01"},
    )
    data = copy.deepcopy(data)
    paths = [p for p in json_paths(data) if p]
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(paths))
        parent = data
        try:
            for key in path[:-1]:
                parent = parent[key]
            kind = draw(st.sampled_from(["delete", "replace", "add"]))
            if kind == "delete" and isinstance(parent, dict):
                parent.pop(path[-1], None)
            elif kind == "add" and isinstance(parent, dict):
                parent[draw(st.text(min_size=1, max_size=10))] = draw(json_values)
            else:
                parent[path[-1]] = draw(json_values)
        except (KeyError, IndexError, TypeError):
            continue  # an earlier mutation removed or replaced this path
    return data, json.dumps(data)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_referrals())
def test_mutated_referral_is_read_or_refused_naming_a_field(mutated: tuple[dict[str, Any], str]) -> None:
    data, raw = mutated
    path, result = _read(raw.encode())
    _check_result(path, result)
    for line in result.problems:
        rest = line.removeprefix(f"{path}: ")
        # A field of the referral, or the unknown field that was added (named as given).
        named = REFERRAL_FIELDS | {str(key) for key in data}
        assert any(rest.startswith((f"{field}: ", f"{field}.")) for field in named), line
    if not result.problems:
        assert len(result.referrals) == 1


def test_undecodable_json_refused_without_traceback() -> None:
    """Nesting too deep for the decoder and integers too long to convert are refused, not raised."""
    for raw in (b"[" * 100_000, b'{"acro_reference": ' + b"9" * 5000 + b"}", b"\xff\xfe\x00", b"", b"{"):
        path, result = _read(raw)
        assert result.referrals == [] and len(result.problems) == 1, result
        assert result.problems[0].startswith(path)


def test_a_list_file_labels_each_item_and_duplicates_are_refused() -> None:
    good = minimal()
    bad = minimal() | {"acro_reference": "16/2A", "date_of_birth": TOMORROW}
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "batch.json"
        path.write_text(json.dumps([good, bad, good]))
        result = read_referrals([str(path)], TODAY)
    assert f"{path}[1]: date_of_birth: {TOMORROW} is in the future" in result.problems
    assert any("16/123456A appears more than once" in p for p in result.problems)


# --- Input that cannot be true (issue 12, defect 5) --------------------------------------------


def problems_of(data: dict[str, Any]) -> list[str]:
    _, result = _read(json.dumps(data).encode())
    return result.problems


def test_R01_a_conviction_before_the_date_of_birth_is_refused_naming_the_field() -> None:
    data = minimal() | {"date_of_birth": "2016-01-01"}  # the conviction is of 2015-01-02
    assert fields_refused(data) == {"certificate"}
    [line] = problems_of(data)
    assert "certificate: " in line and "convictions.0.conviction_date: 2015-01-02 is before the date of birth (2016-01-01)" in line
    assert fields_refused(minimal() | {"date_of_birth": "2015-01-02"}) == set()  # the same day is possible
    assert fields_refused(minimal()) == set()  # no date of birth: nothing to compare


def test_R42_in_prison_without_a_release_date_is_refused_naming_the_field() -> None:
    data = minimal() | {"whereabouts": {"status": "in_prison"}}
    assert fields_refused(data) == {"whereabouts"}
    [line] = problems_of(data)
    assert "whereabouts: " in line and "release_date is required when status is 'in_prison'" in line
    assert fields_refused(minimal() | {"whereabouts": {"status": "in_prison", "release_date": "2026-01-01"}}) == set()
    assert fields_refused(minimal() | {"whereabouts": {"status": "detained"}}) == set()


def test_R42_person_located_in_prison_needs_a_release_date_at_the_door() -> None:
    from casework.case import AT_THE_DOOR, PersonLocated

    message = {"event_id": "e1", "actor": "police.custody", "custody": "in_prison"}
    with pytest.raises(ValidationError) as refused:
        PersonLocated.model_validate(message, context=AT_THE_DOOR)
    assert "release_date is required when custody is 'in_prison'" in str(refused.value)
    PersonLocated.model_validate(message | {"release_date": "2030-01-01"}, context=AT_THE_DOOR)
    # Decoded by the workflow (no context), a message taken before the rule replays as it ran.
    assert PersonLocated.model_validate(message).release_date is None
