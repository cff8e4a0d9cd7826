"""The ACRO referral (R01) and the certificate that comes with it (R02).

Validation happens in two layers:

* shape checks (types, lengths, enumerations) always run, including when the
  workflow decodes its input inside the Temporal sandbox;
* intake checks that need the outside world (today's date for "not in the
  future", the ISO country list) run only when a validation context with
  ``today`` is given - that is, in :func:`parse_referral`, at the door. The
  workflow must never read the wall clock, so it never passes that context;
* checks that refuse what cannot be true (a conviction before the date of birth, "in
  prison" with no release date) run at the door too, with that context: a referral or
  message held or recorded before they existed must still be taken and replayed as it was.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
    model_validator,
)

#: The purpose wording that makes an ACRO certificate usable for immigration (R02).
DISCLOSABLE_PURPOSE = "Request for administrative purpose immigration/deportation"



def _no_control_characters(text: str) -> str:
    """Control characters are refused at the door: PostgreSQL cannot store NUL at all (the
    whole submission would fail later, as a database error), and the rest are never data."""
    bad = next((ch for ch in text if (ord(ch) < 32 and ch not in "\t\n\r") or ord(ch) == 127), None)
    if bad is not None:
        raise ValueError(f"contains the control character U+{ord(bad):04X}")
    return text


Text = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200), AfterValidator(_no_control_characters)
]
LongText = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000), AfterValidator(_no_control_characters)
]
# Patterns accept lower case: pydantic checks ``pattern`` before ``to_upper`` applies.
CountryCode = Annotated[
    str, StringConstraints(strip_whitespace=True, to_upper=True, pattern=r"^[A-Za-z]{2}$")
]
#: ACRO references look like "16/123456A" or "ACRO-2016-0001": letters, digits, "/" and "-".
AcroReference = Annotated[
    str,
    StringConstraints(strip_whitespace=True, to_upper=True, pattern=r"^[A-Za-z0-9][A-Za-z0-9/-]{2,39}$"),
]

BRITISH = "GB"


class Strict(BaseModel):
    """Unknown fields are refused: a typo in a referral must not pass silently."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def _check_country(code: str, info: ValidationInfo) -> str:
    if _intake(info):
        import pycountry  # only at intake: the sandboxed workflow never needs it

        if pycountry.countries.get(alpha_2=code) is None:
            raise ValueError(f"'{code}' is not an ISO 3166-1 country code")
    return code


def _check_not_future(value: date | None, info: ValidationInfo) -> date | None:
    today = _today(info)
    if value is not None and today is not None and value > today:
        raise ValueError(f"{value.isoformat()} is in the future")
    return value


def _intake(info: ValidationInfo) -> bool:
    return isinstance(info.context, dict) and "today" in info.context


def _today(info: ValidationInfo) -> date | None:
    return info.context.get("today") if _intake(info) else None  # type: ignore[union-attr]


class ReasonForRequest(StrEnum):
    VICTIM = "victim"
    WITNESS = "witness"
    ARREST = "arrest"


class WhereaboutsStatus(StrEnum):
    """R10: whereabouts are *known* when there is a confirmed current location."""

    UNKNOWN = "unknown"
    IN_PRISON = "in_prison"  # serving a sentence (R42)
    DETAINED = "detained"  # held under immigration powers (R43)
    CONFIRMED_ADDRESS = "confirmed_address"

    @property
    def known(self) -> bool:
        return self is not WhereaboutsStatus.UNKNOWN


class IdentityDocument(Strict):
    kind: Literal["passport", "national_id", "other"]
    number: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40), AfterValidator(_no_control_characters)]
    issuing_country: CountryCode

    _country = field_validator("issuing_country")(_check_country)


class Conviction(Strict):
    """One overseas conviction as the certificate gives it."""

    country: CountryCode
    offence: Text
    #: A coarse offence category ("homicide", "sexual", "violence", ...): it decides
    #: "most serious" (R12) through configuration, never the free-text offence.
    category: Annotated[str, StringConstraints(strip_whitespace=True, to_lower=True, min_length=1, max_length=60), AfterValidator(_no_control_characters)]
    conviction_date: date
    sentence: Text | None = None

    _country = field_validator("country")(_check_country)
    _date = field_validator("conviction_date")(_check_not_future)


class Certificate(Strict):
    """The ACRO certificate: its request purpose decides disclosability (R02)."""

    request_purpose: Text
    offences_on_pnc: bool = False
    issued_on: date | None = None
    convictions: list[Conviction] = Field(min_length=1, max_length=200)

    _date = field_validator("issued_on")(_check_not_future)


class Officer(Strict):
    name: Text
    force: Text | None = None
    email: Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[^@\s]+@[^@\s]+$"), AfterValidator(_no_control_characters)] | None = None
    phone: Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[0-9 +()-]{6,20}$")] | None = None


class Address(Strict):
    lines: list[Text] = Field(min_length=1, max_length=6)
    postcode: Annotated[str, StringConstraints(strip_whitespace=True, to_upper=True, max_length=10), AfterValidator(_no_control_characters)] | None = None


def check_release_date(custody: WhereaboutsStatus, release_date: date | None, field: str = "status") -> None:
    """R42: someone serving a prison sentence has an expected release date; without one the
    20-day response window could never be shown to apply, and 10 days would follow silently."""
    if custody is WhereaboutsStatus.IN_PRISON and release_date is None:
        raise ValueError(f"release_date is required when {field} is 'in_prison' (R42: it decides the response window)")


class Whereabouts(Strict):
    status: WhereaboutsStatus = WhereaboutsStatus.UNKNOWN
    #: Expected release date when serving a prison sentence (R42).
    release_date: date | None = None

    @model_validator(mode="after")
    def _release_date_only_in_prison(self, info: ValidationInfo) -> "Whereabouts":
        if self.release_date is not None and self.status is not WhereaboutsStatus.IN_PRISON:
            raise ValueError("release_date is given only when status is 'in_prison'")
        if _intake(info):
            check_release_date(self.status, self.release_date)
        return self


class Referral(Strict):
    """Everything R01 lists; the reference, name, nationality and a conviction are required."""

    acro_reference: AcroReference
    name: Text
    aliases: list[Text] = Field(default_factory=list, max_length=20)
    date_of_birth: date | None = None
    nationalities: list[CountryCode] = Field(min_length=1, max_length=5)
    identity_documents: list[IdentityDocument] = Field(default_factory=list, max_length=10)
    pnc_id: Annotated[str, StringConstraints(strip_whitespace=True, to_upper=True, pattern=r"^\d{2,4}/\d{1,7}[A-Za-z]$")] | None = None
    certificate: Certificate
    interpol_check_outcome: LongText | None = None
    requesting_officer: Officer | None = None
    reason_for_request: ReasonForRequest | None = None
    last_known_address: Address | None = None
    whereabouts: Whereabouts = Field(default_factory=Whereabouts)

    _dob = field_validator("date_of_birth")(_check_not_future)

    @field_validator("certificate")
    @classmethod
    def _convicted_after_birth(cls, certificate: Certificate, info: ValidationInfo) -> Certificate:
        problem = conviction_before_birth(certificate, info.data.get("date_of_birth")) if _intake(info) else None
        if problem:
            raise ValueError(problem)
        return certificate

    @field_validator("nationalities")
    @classmethod
    def _foreign_national(cls, codes: list[str], info: ValidationInfo) -> list[str]:
        for code in codes:
            _check_country(code, info)
        if BRITISH in codes:
            # process.md "Who is an EEA national": a British national is not a foreign national.
            raise ValueError("a British national is not a foreign national: this process does not apply")
        if len(set(codes)) != len(codes):
            raise ValueError("a nationality is listed twice")
        return codes


def first_conviction_before_birth(certificate: Certificate, born: date | None) -> int | None:
    """The index of the first conviction dated before the person was born; None when none is."""
    for n, conviction in enumerate(certificate.convictions if born is not None else []):
        if conviction.conviction_date < born:  # type: ignore[operator]
            return n
    return None


def conviction_before_birth(certificate: Certificate, born: date | None) -> str | None:
    """A conviction dated before the person was born, named by its field; None when there is none."""
    n = first_conviction_before_birth(certificate, born)
    if n is None:
        return None
    return (f"convictions.{n}.conviction_date: {certificate.convictions[n].conviction_date.isoformat()} is before "
            f"the date of birth ({born.isoformat()})")  # type: ignore[union-attr]


def parse_referral(data: Any, today: date) -> Referral:
    """Validate a referral at intake (R01): shape, countries, and no date after ``today``."""
    return Referral.model_validate(data, context={"today": today})


def parse_certificate(data: Any, today: date) -> Certificate:
    return Certificate.model_validate(data, context={"today": today})
