"""The CID's half of the stuck-case sweep (``activities.sweep``), streamed: whatever the
number of cases, the sweep holds one page at a time.

- every open human task overdue (escalated) or past due, with its case, from the index of
  open tasks by due time (migration 0014): a range, not a scan;
- every case the CID holds as not closed, in pages by ID (keyset), for the sweep to ask
  Temporal's visibility about a page at a time;
- the CID's state of a page of cases (stage, status, team, overdue), for comparing with
  what the workflows' search attributes say.

IDs, stages, teams, task kinds and times only: no personal data.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

#: Cases per page: one CID query, and one visibility query (``WorkflowId IN (...)``, some
#: 15 KB of text), each.
PAGE = 500

#: $1 now. Escalated tasks are past due too (the workflow marks them at their deadline);
#: a task flagged overdue ahead of its due time (a hand edit) is the second branch.
_OVERDUE_TASKS = """
SELECT t.case_id, t.kind, t.team, t.due_at, t.overdue FROM tasks t JOIN cases c ON c.id = t.case_id
WHERE t.status = 'open' AND t.due_at < $1 AND c.status <> 'closed'
UNION ALL
SELECT t.case_id, t.kind, t.team, t.due_at, t.overdue FROM tasks t JOIN cases c ON c.id = t.case_id
WHERE t.status = 'open' AND t.overdue AND t.due_at >= $1 AND c.status <> 'closed'
"""
_OPEN_PAGE = "SELECT id FROM cases WHERE status <> 'closed' AND id > $1 ORDER BY id LIMIT $2"
#: "overdue" as the workflow publishes its Overdue search attribute: an escalated open
#: task other than the senior caseworker's review of it (workflows/case.py).
_STATES = """
SELECT c.id, c.stage, c.status, c.team, c.updated_at,
       EXISTS (SELECT 1 FROM tasks t WHERE t.case_id = c.id AND t.status = 'open' AND t.overdue
               AND t.kind <> 'overdue_review') AS overdue
FROM cases c WHERE c.id = ANY($1::text[])
"""


@dataclass(frozen=True)
class OverdueTask:
    case_id: str
    kind: str
    team: str
    due_at: datetime
    escalated: bool


@dataclass(frozen=True)
class CaseState:
    case_id: str
    stage: str
    status: str
    team: str | None
    overdue: bool
    updated_at: datetime


async def overdue_tasks(conn: asyncpg.Connection, now: datetime, *, batch: int = 1000) -> AsyncIterator[OverdueTask]:
    """Every open task of a not-closed case that is overdue at ``now`` (a server-side cursor)."""
    async with conn.transaction(readonly=True):
        async for row in conn.cursor(_OVERDUE_TASKS, now, prefetch=batch):
            yield OverdueTask(row["case_id"], row["kind"], row["team"], row["due_at"], row["overdue"])


async def open_case_pages(conn: asyncpg.Connection, *, page: int = PAGE) -> AsyncIterator[list[str]]:
    """The IDs of every case not closed, a page at a time, in ID order."""
    after = ""
    while True:
        ids = [r["id"] for r in await conn.fetch(_OPEN_PAGE, after, page)]
        if not ids:
            return
        yield ids
        after = ids[-1]


async def states(conn: Any, case_ids: list[str]) -> dict[str, CaseState]:
    rows = await conn.fetch(_STATES, case_ids)
    return {r["id"]: CaseState(r["id"], r["stage"], r["status"], r["team"], bool(r["overdue"]), r["updated_at"])
            for r in rows}


async def check_statements(conn: Any) -> None:
    """Run each page's statement once on ``conn`` (the benchmark's plan check hands an
    explaining one). Not the overdue stream: reading every overdue task is linear by design."""
    first = await conn.fetch(_OPEN_PAGE, "", PAGE)
    await states(conn, [r["id"] for r in first])
