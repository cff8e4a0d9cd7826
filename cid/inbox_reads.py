"""The web inbox's reads of the CID beyond the API's (issue 21): a case's timeline from the
audit log, the messages it sent to other agencies, its Stage 1 window, and the team
dashboard's figures. No personal data in any of them.

Which rows a person may see is the policy's, handed in as ``read_model.Visible`` (as the
API's lists do): the dashboard counts only tasks the person may see.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import asyncpg

from casework import keys
from cid.db import Executor
from cid.read_model import _API_OVERDUE, _STAGE1_NOTICE, Visible, _Params, _tasks_visible

#: Entries of a case's timeline shown at most (newest first).
TIMELINE_LIMIT = 200


async def timeline(conn: Executor, case_id: str, limit: int = TIMELINE_LIMIT) -> list[asyncpg.Record]:
    """The case's audit log, newest first, through migration 0017's function: when, who,
    what, and the detail's process keys only (no free text people typed)."""
    return list(await conn.fetch("SELECT * FROM api_case_timeline($1, $2)", case_id, limit))


async def messages_sent(conn: Executor, case_id: str) -> list[asyncpg.Record]:
    """What the case sent to other agencies (recipient, form, when); not the bodies, which
    may carry a person's details for the recipient."""
    return list(await conn.fetch(
        "SELECT id, recipient, form, sent_at FROM outbound_messages WHERE case_id = $1 ORDER BY sent_at, id", case_id))


async def stage1_window(conn: Executor, case_id: str) -> asyncpg.Record | None:
    """R41-R43: when the Stage 1 notice was served and when the response window ends."""
    return await conn.fetchrow(
        _STAGE1_NOTICE.format(case="$1", respond_by="$2", key="$3"), case_id, keys.RESPOND_BY, keys.STAGE1_NOTICE)


async def dashboard(conn: Executor, visible: Visible, *, teams: tuple[str, ...] | None, now: datetime,
                    week_end: datetime) -> list[dict[str, Any]]:
    """Per team and kind of open task: how many, overdue, unassigned, due by ``week_end``,
    and the oldest's creation time. One query (grouped), over the tasks ``visible`` admits;
    ``teams``: only these task teams (None: every team the person may see)."""
    p = _Params()
    where = ["t.status = 'open'", _tasks_visible(p, visible)]
    if teams is not None:
        where.append(f"t.team = ANY({p(list(teams))}::text[])")
    sql = (
        "SELECT t.team, t.kind, count(*) AS open, count(*) FILTER (WHERE " + _API_OVERDUE + ") AS overdue,"
        " count(*) FILTER (WHERE t.assignee IS NULL) AS unassigned,"
        f" count(*) FILTER (WHERE t.due_at >= {p(now)}::timestamptz AND t.due_at < {p(week_end)}::timestamptz) AS due_this_week,"
        " min(t.created_at) AS oldest"
        f" FROM tasks t JOIN cases c ON c.id = t.case_id WHERE {' AND '.join(where)}"
        " GROUP BY t.team, t.kind ORDER BY t.team, t.kind"
    )
    return [dict(r) for r in await conn.fetch(sql, *p.values)]
