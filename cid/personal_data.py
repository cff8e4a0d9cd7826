"""R60: personal data is read for a stated purpose, and every read is recorded.

Personal data exchanged under the Framework Decision is used only for the purpose it was
sought for (except to prevent a serious and immediate threat to public security). So a
read of a case's personal data names who reads it, the purpose (the policy's) and the
reason (the reader's words), and the audit row is written in the same transaction as the
read: no read without its record.

The read is written once, in SQL: migration 0008's ``api_read_personal_data``, an owner's
definer function that reads and records in one call, the API's login's only way to
personal data. This module calls it and turns its refusals into Python's.
"""

from __future__ import annotations

from typing import Any

import asyncpg

READ_ACTION = "personal data read"


class PurposeRequired(ValueError):
    """R60: a read without who reads it, a purpose and a reason (or with one too long:
    ``casework.rules.MAX_PURPOSE_CHARS``) is refused; nothing is read or recorded."""


async def read_personal_data(
    conn: asyncpg.Connection | asyncpg.Pool, case_id: str, actor: str, purpose: str, reason: str
) -> dict[str, Any]:
    """The case's personal data (referral, subject, convictions, certificates; dates as
    ISO text: it comes as JSON), with the R60 record naming ``actor`` (the token's subject),
    the policy's ``purpose`` and the caller's ``reason``. ``PurposeRequired`` for a missing
    actor, purpose or reason; ``LookupError`` for a case the CID does not hold."""
    try:
        return await conn.fetchval("SELECT api_read_personal_data($1, $2, $3, $4)", case_id, actor, purpose, reason)
    except asyncpg.InvalidParameterValueError as err:  # the function's R60 refusals (22023)
        raise PurposeRequired(err.args[0] if err.args else str(err)) from None
    except asyncpg.NoDataFoundError:
        raise LookupError(f"the CID holds no case {case_id}") from None
