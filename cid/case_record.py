"""SQL for the case row, notes, outbound messages and the audit log.

Every function runs inside the caller's transaction and is idempotent by its domain key.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import asyncpg


async def audit(
    conn: asyncpg.Connection,
    case_id: str,
    event_key: str,
    actor: str,
    action: str,
    at: datetime,
    detail: dict[str, Any] | None = None,
) -> bool:
    """Append to the audit log once per (case, event key); True when it was new."""
    row = await conn.fetchval(
        "INSERT INTO audit_log (case_id, event_key, actor, action, detail, occurred_at)"
        " VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (case_id, event_key) DO NOTHING RETURNING id",
        case_id, event_key, actor, action, detail or {}, at,
    )
    return row is not None


async def add_note(conn: asyncpg.Connection, case_id: str, key: str, text: str, at: datetime) -> None:
    await conn.execute(
        "INSERT INTO notes (case_id, note_key, text, occurred_at) VALUES ($1, $2, $3, $4)"
        " ON CONFLICT (case_id, note_key) DO NOTHING",
        case_id, key, text, at,
    )


async def send_message(
    conn: asyncpg.Connection,
    case_id: str,
    key: str,
    recipient: str,
    form: str,
    body: dict[str, Any],
    at: datetime,
) -> None:
    await conn.execute(
        "INSERT INTO outbound_messages (case_id, message_key, recipient, form, body, sent_at)"
        " VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (case_id, message_key) DO NOTHING",
        case_id, key, recipient, form, body, at,
    )


_CASE_FIELDS = ("status", "outcome", "case_owner", "detention_power", "custody", "disclosable", "team")


async def update_case(conn: asyncpg.Connection, case_id: str, at: datetime, **fields: Any) -> None:
    """Set the named columns (None leaves a column as it is)."""
    sets = ["updated_at = $2"]
    args: list[Any] = [case_id, at]
    for name, value in fields.items():
        if name not in _CASE_FIELDS and name != "stage":
            raise ValueError(f"not a case field: {name}")
        if value is None:
            continue
        args.append(value)
        sets.append(f"{name} = ${len(args)}")
    await conn.execute(f"UPDATE cases SET {', '.join(sets)} WHERE id = $1", *args)


async def close_case(conn: asyncpg.Connection, case_id: str, outcome: str, at: datetime) -> None:
    """Close the case and cancel whatever is still open on it (no open task on a closed case)."""
    await conn.execute(
        "UPDATE cases SET status = 'closed', stage = 'closed', outcome = $2, overdue = false,"
        " closed_at = COALESCE(closed_at, $3), updated_at = $3 WHERE id = $1",
        case_id, outcome, at,
    )
    await conn.execute(
        "UPDATE tasks SET status = 'cancelled', completed_at = $2 WHERE case_id = $1 AND status = 'open'",
        case_id, at,
    )
