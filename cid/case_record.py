"""SQL for the case row, notes, outbound messages and the audit log.

Every function runs inside the caller's transaction, or is one statement and so a
transaction by itself, and is idempotent by its domain key.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import asyncpg

from casework import keys
from cid.db import Executor


_AUDIT_INSERT = (
    "INSERT INTO audit_log (case_id, event_key, actor, action, detail, occurred_at)"
    " VALUES ({}, {}, {}, {}, {}, {}) ON CONFLICT (case_id, event_key) DO NOTHING"
)


async def audit(
    conn: Executor,
    case_id: str,
    event_key: str,
    actor: str,
    action: str,
    at: datetime,
    detail: dict[str, Any] | None = None,
) -> bool:
    """Append to the audit log once per (case, event key); True when it was new."""
    row = await conn.fetchval(
        _AUDIT_INSERT.format("$1", "$2", "$3", "$4", "$5", "$6") + " RETURNING id",
        case_id, event_key, actor, action, detail or {}, at,
    )
    return row is not None


async def audit_detail(conn: Executor, case_id: str, event_key: str) -> dict[str, Any] | None:
    """The detail of the audit entry recorded under (case, event key), if any."""
    return await conn.fetchval("SELECT detail FROM audit_log WHERE case_id = $1 AND event_key = $2", case_id, event_key)


async def legacy_event_seen(conn: Executor, case_id: str, event_id: str, action: str) -> bool:
    """Whether a release before messages-v2 recorded this event (keyed by its ID alone, or a
    certificate by its sequence number) under ``action``."""
    return bool(await conn.fetchval(
        "SELECT EXISTS (SELECT 1 FROM audit_log WHERE case_id = $1 AND action = $3"
        " AND (event_key = $4 OR (event_key LIKE 'certificate-%' AND detail->>'event_id' = $2)))",
        case_id, event_id, action, keys.legacy_event_key(event_id),
    ))


async def write_audited(
    conn: Executor,
    statement: str,
    args: Sequence[Any],
    case_id: str,
    event_key: str,
    actor: str,
    action: str,
    at: datetime,
    detail: dict[str, Any] | None = None,
    *,
    returning: bool = False,
) -> Any:
    """A change and its audit entry as one statement: ``statement`` (parameters $1..$n)
    runs as a data-modifying WITH beside the audit insert. PostgreSQL commits the two
    together, so no transaction is opened: one round trip instead of four.

    ``returning``: ``statement`` has a RETURNING clause; its first value is returned
    (None when it wrote nothing, e.g. ON CONFLICT DO NOTHING on a repeat).
    """
    n = len(args)
    entry = _AUDIT_INSERT.format(*(f"${n + i}" for i in range(1, 7)))
    sql = f"WITH write AS ({statement}), entry AS ({entry}) SELECT * FROM write" if returning \
        else f"WITH write AS ({statement}) {entry}"
    return await conn.fetchval(sql, *args, case_id, event_key, actor, action, detail or {}, at)


async def write_stage_audited(
    conn: Executor, statement: str, args: Sequence[Any], case_id: str, stage: str, event_key: str,
    actor: str, at: datetime, detail: dict[str, Any], updated: list[str], *, within: str = "case updated",
) -> None:
    """A case update (``statement``, from ``case_update``) and its audit entry, one statement:
    "stage entered" when the case's stage was another before it, else "case updated" (with
    the names of the fields set; ``within`` names it better where the caller can). Both CTEs read the row as it was before the update; a
    repeat finds its audit entry already there and writes nothing new."""
    n = len(args)
    p = [f"${n + i}" for i in range(1, 9)]  # case, key, actor, stage, detail, updated detail, at, within
    sql = (
        f"WITH before AS (SELECT (SELECT stage FROM cases WHERE id = {p[0]}) AS stage),"
        f" write AS ({statement})"
        " INSERT INTO audit_log (case_id, event_key, actor, action, detail, occurred_at)"
        f" SELECT {p[0]}, {p[1]}, {p[2]},"
        f" CASE WHEN before.stage IS DISTINCT FROM {p[3]}::text THEN 'stage entered' ELSE {p[7]}::text END,"
        f" CASE WHEN before.stage IS DISTINCT FROM {p[3]}::text THEN {p[4]}::jsonb ELSE {p[5]}::jsonb END, {p[6]}"
        " FROM before ON CONFLICT (case_id, event_key) DO NOTHING"
    )
    await conn.execute(sql, *args, case_id, event_key, actor, stage, detail, {**detail, "updated": updated}, at, within)


async def add_note(conn: Executor, case_id: str, key: str, text: str, at: datetime) -> None:
    await conn.execute(
        "INSERT INTO notes (case_id, note_key, text, occurred_at) VALUES ($1, $2, $3, $4)"
        " ON CONFLICT (case_id, note_key) DO NOTHING",
        case_id, key, text, at,
    )


SEND_MESSAGE = (
    "INSERT INTO outbound_messages (case_id, message_key, recipient, form, body, sent_at)"
    " VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (case_id, message_key) DO NOTHING"
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
    await conn.execute(SEND_MESSAGE, case_id, key, recipient, form, body, at)


_CASE_FIELDS = ("status", "outcome", "case_owner", "detention_power", "custody", "disclosable", "team")


def case_update(case_id: str, at: datetime, *, clear_outcome: bool = False, **fields: Any) -> tuple[str, list[Any]]:
    """The UPDATE that sets the named columns (None leaves a column as it is), and its arguments."""
    sets = ["updated_at = $2"] + (["outcome = NULL"] if clear_outcome else [])
    args: list[Any] = [case_id, at]
    for name, value in fields.items():
        if name not in _CASE_FIELDS and name != "stage":
            raise ValueError(f"not a case field: {name}")
        if value is None:
            continue
        args.append(value)
        sets.append(f"{name} = ${len(args)}")
    return f"UPDATE cases SET {', '.join(sets)} WHERE id = $1", args


async def update_case(conn: asyncpg.Connection, case_id: str, at: datetime, **fields: Any) -> None:
    """Set the named columns (None leaves a column as it is)."""
    sql, args = case_update(case_id, at, **fields)
    await conn.execute(sql, *args)


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
