"""SQL for the task inbox: every human task, its due date, overdue mark and outcome."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import asyncpg

from cid.db import Executor


#: Parameters: case, key, kind, title, team, due, created, escalates. Nothing on a repeat.
OPEN_TASK = (
    "INSERT INTO tasks (case_id, task_key, kind, title, team, due_at, created_at, escalates)"
    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (case_id, task_key) DO NOTHING RETURNING id"
)


async def open_task(
    conn: asyncpg.Connection,
    case_id: str,
    key: str,
    kind: str,
    title: str,
    team: str,
    due_at: datetime,
    at: datetime,
    escalates: str | None = None,
) -> int:
    """Create the task once; a repeat returns the same task's ID."""
    task_id = await conn.fetchval(OPEN_TASK, case_id, key, kind, title, team, due_at, at, escalates)
    return int(task_id) if task_id is not None else await task_id_of(conn, case_id, key)


async def task_id_of(conn: Executor, case_id: str, key: str) -> int:
    return int(await conn.fetchval("SELECT id FROM tasks WHERE case_id = $1 AND task_key = $2", case_id, key))


async def complete_task(
    conn: asyncpg.Connection,
    case_id: str,
    key: str,
    outcome: str,
    details: dict[str, Any],
    actor: str,
    at: datetime,
) -> bool:
    """Record the outcome on an open task; False when it was already completed."""
    done = await conn.fetchval(
        "UPDATE tasks SET status = 'done', outcome = $3, outcome_details = $4, completed_by = $5,"
        " completed_at = $6 WHERE case_id = $1 AND task_key = $2 AND status = 'open' RETURNING id",
        case_id, key, outcome, details, actor, at,
    )
    if done is not None:
        await refresh_overdue(conn, case_id)
    return done is not None


async def mark_overdue(conn: asyncpg.Connection, case_id: str, key: str) -> None:
    await conn.execute(
        "UPDATE tasks SET overdue = true WHERE case_id = $1 AND task_key = $2", case_id, key
    )
    await conn.execute("UPDATE cases SET overdue = true WHERE id = $1", case_id)


async def refresh_overdue(conn: asyncpg.Connection, case_id: str) -> None:
    """A case is overdue while any of its open process tasks is overdue."""
    await conn.execute(
        "UPDATE cases SET overdue = EXISTS (SELECT 1 FROM tasks WHERE case_id = $1"
        " AND status = 'open' AND overdue) WHERE id = $1",
        case_id,
    )
