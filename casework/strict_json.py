"""JSON read one way only: no key given twice, no number that is not finite, no nesting
deeper than any document of the process needs (issue 25, item 1).

Python's ``json`` keeps the last of two equal keys; a sender whose parser keeps the first
meant something else (``request_purpose`` given twice decides whether a certificate may be
a basis for deportation, R61). Whoever reads JSON from outside - the API's bodies, the
CLI's referral and certificate files, the codec server's payloads - reads it here, and a
refusal names the key or the limit. Pure: no I/O.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

#: The deepest nesting a document of the process needs (a referral: document > convictions
#: > conviction > field is 3; a batch adds 1; a task's ``details`` adds a few): anything
#: deeper is refused unread, long before Python's recursion limit.
MAX_DEPTH = 16
#: The most digits an integer may have (a 64-bit ID has 19; Python refuses beyond 4,300).
MAX_INTEGER_DIGITS = 40

#: Strings (with their escapes) and the brackets outside them.
_STRINGS = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKETS = re.compile(r"[\[\]{}]")


class NotStrictJson(ValueError):
    """Why a document was refused, in words naming the key or the limit."""

    def __init__(self, reason: str, *, key: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.key = key


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for key, value in pairs:
        if key in found:
            raise NotStrictJson(f"the key '{_shown(key)}' is given twice in one object; send it once", key=key)
        found[key] = value
    return found


def _no_constant(name: str) -> Any:
    raise NotStrictJson(f"{name} is not a number JSON allows (no NaN or Infinity)")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise NotStrictJson(f"the number {text[:40]} is out of range (not finite)")
    return value


def _integer(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INTEGER_DIGITS:
        raise NotStrictJson(f"an integer of {len(text)} digits; at most {MAX_INTEGER_DIGITS}")
    return int(text)


def _shown(key: str) -> str:
    """A key as a message may quote it: printable and short (never a document's values)."""
    printable = "".join(c if c.isprintable() else "?" for c in key)
    return printable[:60] + ("…" if len(printable) > 60 else "")


def depth(text: str) -> int:
    """How deep the document's arrays and objects nest, counted without decoding it."""
    deepest = level = 0
    for bracket in _BRACKETS.findall(_STRINGS.sub("", text)):
        level += 1 if bracket in "[{" else -1
        deepest = max(deepest, level)
    return deepest


def loads(data: str | bytes, *, max_depth: int = MAX_DEPTH) -> Any:
    """The document, or ``NotStrictJson`` (a ``ValueError``) saying why not."""
    try:
        text = data.decode("utf-8") if isinstance(data, bytes | bytearray) else data
    except UnicodeDecodeError:
        raise NotStrictJson("not UTF-8 text") from None
    if depth(text) > max_depth:
        raise NotStrictJson(f"nested deeper than {max_depth} levels; no document here needs more")
    try:
        return json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_no_constant,
                          parse_float=_finite, parse_int=_integer)
    except NotStrictJson:
        raise
    except ValueError as err:  # JSONDecodeError: its message says where (line, column), never a value
        raise NotStrictJson(f"not JSON: {str(err)[:200]}") from None
