"""Keyset cursors for the lists (cases, tasks): opaque to callers, a (time, key) pair to us.

One codec for every list. A cursor this API did not give is a field refusal (422 naming
``query.cursor``), like any other bad query value.
"""

from __future__ import annotations

import base64
import binascii
import json
from datetime import datetime
from typing import TypeVar

from api.problem_types import INVALID_REQUEST
from api.problems import FieldError, Problem

K = TypeVar("K", str, int)


def encode(at: datetime, key: str | int) -> str:
    raw = json.dumps([at.isoformat(), key], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode(cursor: str | None, key_type: type[K], *, valid=lambda key: True) -> tuple[datetime, K] | None:  # noqa: ANN001
    """The keyset ``cursor`` carries, its key of ``key_type`` and ``valid``; None for no cursor."""
    if cursor is None:
        return None
    try:
        at_text, key = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        at = datetime.fromisoformat(at_text)
        if not isinstance(key, key_type) or isinstance(key, bool) or at.tzinfo is None or not valid(key):
            raise ValueError(cursor)
        return at, key
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError, RecursionError):
        raise Problem(422, "query.cursor: not a cursor this API gave (pass next_cursor as it came)", kind=INVALID_REQUEST,
                      errors=[FieldError(field="query.cursor", message="not a cursor this API gave")]) from None
