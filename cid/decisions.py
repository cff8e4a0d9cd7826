"""SQL for the decisions a case records (migration 0021, casework/decisions.py).

A decision is written once per (case, step): a repeated activity writes nothing. The
personal values of its facts go to their own column, which only the R60 read and the
retention purge touch; the trail reads ``casework_case_decisions``, which never returns them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from casework.decisions import Decision
from cid.db import Executor

_INSERT = (
    "INSERT INTO case_decisions (case_id, step, rule, outcome, subject, sentence, facts, personal, actor, decided_at)"
    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (case_id, step) DO NOTHING RETURNING id"
)


async def record(conn: Executor, case_id: str, step: str, decision: Decision, actor: str, at: datetime) -> bool:
    """Record ``decision`` as case ``case_id`` took it at ``step``; True when it was new."""
    personal = {f.name: f.stored()["value"] for f in decision.facts if f.personal}
    row = await conn.fetchval(_INSERT, case_id, step, decision.rule, decision.outcome, decision.subject,
                              decision.sentence, [f.public() for f in decision.facts], personal, actor, at)
    return row is not None


async def of_case(conn: Executor, case_id: str) -> list[dict[str, Any]]:
    """A case's decisions in the order taken, as the trail shows them (no personal values)."""
    rows = await conn.fetch("SELECT * FROM casework_case_decisions($1)", case_id)
    return [dict(row) for row in rows]


async def page(conn: Executor, *, after: int, limit: int, case_id: str | None = None, rule: str | None = None,
               actor: str | None = None, since: datetime | None = None) -> list[dict[str, Any]]:
    """Every case's decisions after ID ``after``, filtered, oldest first (auditors)."""
    rows = await conn.fetch("SELECT * FROM casework_decisions_page($1, $2, $3, $4, $5, $6)",
                            after, limit, case_id, rule, actor, since)
    return [dict(row) for row in rows]
