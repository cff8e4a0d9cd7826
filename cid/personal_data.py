"""R60: personal data is read for a stated purpose, and every read is recorded.

Personal data exchanged under the Framework Decision is used only for the purpose it was
sought for (except to prevent a serious and immediate threat to public security). So a
read of a case's personal data names who reads it and why, and the audit row is written
in the same transaction as the read: no read without its record.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timezone
from typing import Any

import asyncpg

from casework.rules import MAX_PURPOSE_CHARS
from cid import case_record

READ_ACTION = "personal data read"
MAX_PURPOSE = MAX_PURPOSE_CHARS


class PurposeRequired(ValueError):
    """R60: a read of personal data without a stated purpose is refused."""


def _purpose(purpose: str | None) -> str:
    text = (purpose or "").strip()
    if not text:
        raise PurposeRequired(
            "R60: state the purpose of reading this case's personal data (e.g. 'deportation "
            "consideration'); personal data is used only for the purpose it was sought for"
        )
    if len(text) > MAX_PURPOSE:
        raise PurposeRequired(f"R60: the purpose is at most {MAX_PURPOSE} characters")
    return text


async def read_personal_data(conn: asyncpg.Connection, case_id: str, actor: str, purpose: str) -> dict[str, Any]:
    """The case's personal data (referral, subject, convictions, certificates), audited.

    Raises ``PurposeRequired`` (a ValueError) for an empty purpose and ``LookupError`` for a
    case the CID does not hold; in both cases nothing is read and nothing recorded.
    The purpose is recorded as given: it should say why, not repeat personal data.
    """
    why = _purpose(purpose)
    if not (actor or "").strip():
        raise ValueError("R60: a read of personal data names who reads it (actor)")
    async with conn.transaction():
        case = await conn.fetchrow(
            "SELECT id, acro_reference, subject_id, personal_data_purged_at FROM cases WHERE id = $1", case_id
        )
        if case is None:
            raise LookupError(f"the CID holds no case {case_id}")
        referral = await conn.fetchrow(
            "SELECT name, aliases, date_of_birth, nationalities, identity_documents, pnc_id, interpol_check,"
            " requesting_officer, reason_for_request, last_known_address, whereabouts, received_at"
            " FROM referrals WHERE case_id = $1",
            case_id,
        )
        subject = None
        if case["subject_id"] is not None:
            subject = await conn.fetchrow(
                "SELECT id, name, aliases, date_of_birth, nationalities, pnc_id FROM subjects WHERE id = $1",
                case["subject_id"],
            )
        convictions = await conn.fetch(
            "SELECT country, offence, category, conviction_date, sentence FROM convictions"
            " WHERE case_id = $1 ORDER BY seq",
            case_id,
        )
        certificates = await conn.fetch(
            "SELECT seq, request_purpose, offences_on_pnc, issued_on, disclosable, content, received_at,"
            " destroyed_at FROM certificates WHERE case_id = $1 ORDER BY seq",
            case_id,
        )
        read_key = f"personal-data-read-{uuid.uuid4().hex}"
        await case_record.audit(
            conn, case_id, read_key, actor, READ_ACTION,
            datetime.now(timezone.utc), {"purpose": why, "rule": "R60"},
        )
    return {
        "case_id": case_id,
        "audit_event": read_key,
        "acro_reference": case["acro_reference"],
        "purged_at": case["personal_data_purged_at"],
        "referral": dict(referral) if referral is not None else None,
        "subject": dict(subject) if subject is not None else None,
        "convictions": [dict(c) for c in convictions],
        "certificates": [dict(c) for c in certificates],
    }


async def read_personal_data_for_api(
    conn: asyncpg.Connection | asyncpg.Pool, case_id: str, actor: str, purpose: str, reason: str
) -> dict[str, Any]:
    """``read_personal_data`` for the API's login, which holds no grant on personal data:
    through the owner's definer function of migration 0008, which reads and writes the R60
    audit row in one call. Same shape (dates as ISO text: it comes as JSON). The record
    names ``actor`` (the token's subject), the policy's ``purpose`` and the caller's
    ``reason``. ``LookupError`` for a case the CID does not hold; nothing recorded then."""
    why = _purpose(reason)
    try:
        return await conn.fetchval("SELECT api_read_personal_data($1, $2, $3, $4)", case_id, actor, purpose, why)
    except asyncpg.NoDataFoundError:
        raise LookupError(f"the CID holds no case {case_id}") from None
