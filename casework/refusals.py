"""Refusals: the one closed list of what the case can refuse (``RefusalCode``), and bad
input in the project's words, not pydantic's.

A refusal is a code from ``RefusalCode`` and the rule that refused, as fields; the
sentence is for people. The workflow raises ``error(refusal)`` (an ``ApplicationError``
whose type is the code and whose details carry code and rule) and answers receipts with
the code and rule; the API maps a code to an HTTP status by one table
(``api/problems.py``), the CLI to an exit status by another (``starter/exits.py``).
Nothing decides by reading a sentence: a reworded refusal keeps its status.

pydantic's messages ("Value error, …", "List should have at least 1 item after
validation, not 0", "Input should be a valid dictionary or instance of Referral") are
written for programmers; a caseworker or another system's operator reads these instead.
Every place that turns a ``ValidationError`` into lines for people uses ``problems``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

if TYPE_CHECKING:
    from temporalio.exceptions import ApplicationError


class RefusalCode(StrEnum):
    """Every refusal the case (validator, update, message receipt) can give."""

    #: The case is closed (or closing): nothing new is taken. One status everywhere.
    CASE_CLOSED = "case-closed"
    #: The case is continuing as new: send again (the case client does, by itself).
    CASE_BUSY = "case-busy"
    #: A case of an older release, which takes messages only as signals.
    OLDER_RELEASE = "older-release"
    #: The task was settled already (the refusal says by whom and when).
    TASK_DONE = "task-done"
    #: The case has no open task by that key.
    NO_OPEN_TASK = "no-open-task"
    #: R40: the case is dormant (R16): nothing is open and nothing decided until the person is located.
    CASE_DORMANT = "case-dormant"
    #: Another completion of the task is being applied.
    TASK_BEING_COMPLETED = "task-being-completed"
    #: The verified principal may not complete this task (the policy, inside the case).
    NOT_PERMITTED = "not-permitted"
    #: The task table refuses this outcome or its details.
    OUTCOME_REFUSED = "outcome-refused"
    #: Details too large, or holding what cannot be recorded (a NUL).
    DETAILS_REFUSED = "details-refused"
    #: R30/R61: an outcome that needs disclosable convictions, and they are not.
    CONVICTIONS_NOT_DISCLOSABLE = "convictions-not-disclosable"
    #: The event ID came before with different content.
    CONFLICTING_REPEAT = "conflicting-repeat"
    #: A certificate the case cannot take (none under that ID, an impossible date).
    CERTIFICATE_REFUSED = "certificate-refused"
    #: A delivery that is not one event.
    INVALID_DELIVERY = "invalid-delivery"
    #: A refusal from a release that sent no code (kept only for those).
    REFUSED = "refused"


#: The rule behind a code, when the code alone names it.
RULE_OF: dict[RefusalCode, str] = {RefusalCode.CONVICTIONS_NOT_DISCLOSABLE: "R30", RefusalCode.CASE_DORMANT: "R40"}


@dataclass(frozen=True)
class Refusal:
    """A refusal as a value: its code, the sentence for people, and the rule that refused."""

    code: RefusalCode
    message: str
    rule: str | None = None

    def __post_init__(self) -> None:
        if self.rule is None and self.code in RULE_OF:
            object.__setattr__(self, "rule", RULE_OF[self.code])

    def __str__(self) -> str:
        return self.message


def error(refusal: Refusal, *, retryable: bool = False) -> "ApplicationError":
    """The refusal as the workflow raises it: type is the code, details carry code and rule."""
    # Imported here: the command line reads the codes and should not load Temporal to start.
    from temporalio.exceptions import ApplicationError

    return ApplicationError(refusal.message, {"code": refusal.code.value, "rule": refusal.rule},
                            type=refusal.code.value, non_retryable=not retryable)


def of_error(err: BaseException | None) -> Refusal | None:
    """The refusal an ``ApplicationError`` carries (by its type, never its message); None
    for any other failure."""
    from temporalio.exceptions import ApplicationError

    if not isinstance(err, ApplicationError) or err.type not in RefusalCode._value2member_map_:
        return None
    details = err.details[0] if err.details and isinstance(err.details[0], dict) else {}
    return Refusal(RefusalCode(err.type), " ".join(str(err.message).split()), details.get("rule"))

_JSON_TYPES = {dict: "an object", list: "a list", str: "text", bool: "true or false", int: "a number",
               float: "a number", type(None): "null"}


def _given(value: Any) -> str:
    return _JSON_TYPES.get(type(value), type(value).__name__)


def _choices(ctx: dict[str, Any]) -> str:
    expected = str(ctx.get("expected", ""))
    return expected.replace("'", "").replace(" or ", ", ")


def message(error: Any) -> str:
    """One pydantic error (an item of ``ValidationError.errors()``) in our words."""
    kind, ctx, given = error.get("type", ""), error.get("ctx") or {}, error.get("input")
    if kind in ("value_error", "assertion_error"):
        return str(error["msg"]).removeprefix("Value error, ").removeprefix("Assertion failed, ")
    words = {
        "missing": "required, and missing",
        "extra_forbidden": "not a field here (misspelt, or not part of the format)",
        "too_short": f"needs at least {ctx.get('min_length')} {'item' if ctx.get('min_length') == 1 else 'items'}"
                     + (", none given" if ctx.get("actual_length") == 0 else f", {ctx.get('actual_length')} given"),
        "too_long": f"at most {ctx.get('max_length')} items",
        "string_too_short": "is empty" if ctx.get("min_length") == 1 else f"at least {ctx.get('min_length')} characters",
        "string_too_long": f"at most {ctx.get('max_length')} characters",
        "string_pattern_mismatch": "has characters or a form that is not allowed here",
        "string_type": f"should be text, not {_given(given)}",
        "bool_type": f"should be true or false, not {_given(given)}",
        "bool_parsing": "should be true or false",
        "int_type": f"should be a whole number, not {_given(given)}",
        "int_parsing": "should be a whole number",
        "list_type": f"should be a list, not {_given(given)}",
        "dict_type": f"should be an object ({{...}}), not {_given(given)}",
        "model_type": f"should be an object ({{...}}), not {_given(given)}",
        "model_attributes_type": f"should be an object ({{...}}), not {_given(given)}",
        "date_type": "should be a date, YYYY-MM-DD",
        "date_parsing": "is not a date (YYYY-MM-DD)",
        "date_from_datetime_parsing": "is not a date (YYYY-MM-DD)",
        "date_from_datetime_inexact": "is not a date (YYYY-MM-DD), it has a time",
        "datetime_parsing": "is not a date and time (YYYY-MM-DDTHH:MM:SSZ)",
        "enum": f"should be one of: {_choices(ctx)}",
        "literal_error": f"should be one of: {_choices(ctx)}",
        "greater_than": f"should be more than {ctx.get('gt')}",
        "greater_than_equal": f"should be {ctx.get('ge')} or more",
        "less_than_equal": f"should be {ctx.get('le')} or less",
        "float_parsing": "should be a number",
        "float_type": f"should be a number, not {_given(given)}",
        "union_tag_invalid": f"should be one of: {_choices(ctx)}",
    }
    return words.get(kind) or str(error.get("msg", "is not valid"))


def field_errors(errors: Sequence[Any], whole: str = "(document)") -> list[tuple[str, str]]:
    """Each item of ``ValidationError.errors()`` (or FastAPI's) as (field path, what is wrong)."""
    return [(".".join(str(p) for p in e["loc"]) or whole, message(e)) for e in errors]


def problems(err: ValidationError, whole: str = "(document)") -> list[str]:
    """Each error as ``field.path: what is wrong``; ``whole`` names the document itself."""
    return [f"{where}: {what}" for where, what in field_errors(err.errors(), whole)]


#: Problem types (api/failures.py) after which nothing was done and sending again is safe:
#: a case busy for a moment, Temporal or the issuer not answering. Not "case-unavailable"
#: (the case did not answer in time: it may have applied the request). The CLI sends
#: these again within its timeout (starter/api_client.py).
SEND_AGAIN = frozenset({"case-busy", "unavailable", "issuer-unavailable"})
