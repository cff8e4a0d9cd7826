"""Refusals of bad input in the project's words, not pydantic's.

pydantic's messages ("Value error, …", "List should have at least 1 item after
validation, not 0", "Input should be a valid dictionary or instance of Referral") are
written for programmers; a caseworker or another system's operator reads these instead.
Every place that turns a ``ValidationError`` into lines for people uses ``problems``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import ValidationError

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
