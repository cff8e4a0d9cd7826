"""The CID's read side: what the API reads for people (case lists and one case, the task
inbox, the outbound feeds, who may see a case) and the CID's half of ``casework stuck``.
Whether a message was applied is the case's own answer (``deliver_event``), not read here.

The CID is the consistent read model (architecture.md): lists for people come from here,
not from Temporal visibility. Nothing here carries personal data: that is read only
through ``cid.personal_data``, which records who read it and why (R60). Nothing here
knows who calls; the API filters by what the caller may see (``Visible``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import asyncpg

from casework import keys
from cid.db import Executor

#: The open-task "overdue" the inbox shows: escalated by the workflow, or simply past due
#: (so a case is still found when no worker has run since its deadline passed).
_TASK_OVERDUE = "(t.overdue OR t.due_at < now())"


#: R41-R43: when the Stage 1 notice was served and when the response window ends, as the
#: case recorded them with the notice (business times, the workflow's clock). ``{case}``
#: is the case's ID; ``{key}`` and ``{respond_by}`` the parameters holding
#: ``keys.STAGE1_NOTICE`` and ``keys.RESPOND_BY``.
_STAGE1_NOTICE = (
    "SELECT (m.body->>'served_at')::timestamptz AS served_at, (m.body->>{respond_by}::text)::timestamptz AS respond_by,"
    " m.body->>'window_days' AS window_days"
    " FROM outbound_messages m WHERE m.case_id = {case} AND m.message_key = {key}::text"
)


# ---------------------------------------------------------------------------- stuck cases (operators)


_CID_RECENTLY_CLOSED = "SELECT id FROM cases WHERE status = 'closed' ORDER BY closed_at DESC NULLS LAST, id LIMIT $1"
_CID_LATE = """
    SELECT c.id FROM cases c
    WHERE c.status <> 'closed' AND (c.overdue OR EXISTS (
        SELECT 1 FROM tasks t WHERE t.case_id = c.id AND t.status = 'open' AND (t.overdue OR t.due_at < $1)))
    ORDER BY c.id LIMIT $2
"""


async def late_case_ids(conn: asyncpg.Connection, now: datetime, limit: int) -> list[str]:
    """Open cases marked overdue or with an open task past due at ``now``."""
    return [r["id"] for r in await conn.fetch(_CID_LATE, now, limit)]


async def recently_closed_case_ids(conn: asyncpg.Connection, limit: int) -> list[str]:
    return [r["id"] for r in await conn.fetch(_CID_RECENTLY_CLOSED, limit)]


async def cases_with_open_tasks(
    conn: asyncpg.Connection, case_ids: list[str]
) -> tuple[list[asyncpg.Record], list[asyncpg.Record]]:
    """The case rows (id, stage, status, team, overdue) and their open tasks, soonest due first."""
    rows = await conn.fetch("SELECT id, stage, status, team, overdue FROM cases WHERE id = ANY($1::text[])", case_ids)
    tasks = await conn.fetch(
        "SELECT case_id, task_key, kind, team, due_at, overdue FROM tasks"
        " WHERE case_id = ANY($1::text[]) AND status = 'open' ORDER BY due_at, id",
        case_ids,
    )
    return list(rows), list(tasks)


# ---------------------------------------------------------------------------- who may see a case (the API)


@dataclass(frozen=True)
class CaseAccess:
    """What the access policy needs of a case, as the CID holds it (no personal data).

    The API turns it into ``access.policy.CaseRef`` (api/resources.py): the CID knows
    nothing of the policy. A case only submitted (held at intake, not yet registered by
    the worker) has no team, owner or tasks yet.
    """

    case_id: str
    team: str | None
    case_owner: str | None
    #: Teams that have, or had, a task on the case.
    task_teams: frozenset[str]
    #: 'open', 'dormant', 'closed', or 'submitted' (held at intake only).
    status: str
    #: Teams with an open task on the case now (R60: NBTC, ICE and the Director read personal
    #: data while they have work on it, issue 25).
    open_task_teams: frozenset[str] = frozenset()


async def case_ref(conn: Executor, case_id: str) -> CaseAccess | None:
    """The case's team, owner and task teams; None when the CID has no such case at all."""
    row = await conn.fetchrow(
        "SELECT c.team, c.case_owner, c.status,"
        " coalesce((SELECT array_agg(DISTINCT t.team) FROM tasks t WHERE t.case_id = c.id), '{}') AS task_teams,"
        " coalesce((SELECT array_agg(DISTINCT t.team) FROM tasks t WHERE t.case_id = c.id AND t.status = 'open'), '{}')"
        " AS open_task_teams"
        " FROM cases c WHERE c.id = $1",
        case_id,
    )
    if row is not None:
        return CaseAccess(case_id, row["team"], row["case_owner"], frozenset(row["task_teams"]), str(row["status"]),
                          frozenset(row["open_task_teams"]))
    if await conn.fetchval("SELECT 1 FROM intake_referrals WHERE case_id = $1", case_id):
        return CaseAccess(case_id, None, None, frozenset(), "submitted")
    return None


# ---------------------------------------------------------------------------- the API's reads (issue 15)
# Which cases and tasks a caller may see is the policy's (access/policy.py ``case_scope``,
# ``task_scope``); api/resources.py hands it here as plain values, applied in SQL.


@dataclass(frozen=True)
class Visible:
    """What a caller may see: cases routed to ``case_teams``, owned by ``case_owner``, or
    with a task (ever) of ``case_task_teams``; or all. For tasks also: tasks of
    ``task_teams``, assigned to ``subject``, of an owner's kind (``owner_kinds``) whose team
    is ``subject``, and overdue tasks of ``overdue_kinds``."""

    all_cases: bool = False
    case_teams: tuple[str, ...] = ()
    case_owner: str | None = None
    case_task_teams: tuple[str, ...] = ()
    task_teams: tuple[str, ...] = ()
    subject: str | None = None
    owner_kinds: tuple[str, ...] = ()
    overdue_kinds: tuple[str, ...] = ()


class _Params:
    """Numbered query parameters, collected as a query is built."""

    def __init__(self) -> None:
        self.values: list[Any] = []

    def __call__(self, value: Any) -> str:
        self.values.append(value)
        return f"${len(self.values)}"


def _cases_visible(p: _Params, v: Visible, *, case: str = "c") -> str:
    if v.all_cases:
        return "true"
    parts = []
    if v.case_teams:
        parts.append(f"{case}.team = ANY({p(list(v.case_teams))}::text[])")
    if v.case_owner is not None:
        parts.append(f"{case}.case_owner = {p(v.case_owner)}::text")
    if v.case_task_teams:
        parts.append(f"EXISTS (SELECT 1 FROM tasks x WHERE x.case_id = {case}.id AND x.team = ANY({p(list(v.case_task_teams))}::text[]))")
    return f"({' OR '.join(parts)})" if parts else "false"


#: An open task past its deadline or escalated; a settled one is never overdue.
_API_OVERDUE = f"(t.status = 'open' AND {_TASK_OVERDUE})"


def _tasks_visible(p: _Params, v: Visible) -> str:
    parts = [_cases_visible(p, v)]
    if v.subject is not None:
        subject = p(v.subject)
        parts.append(f"t.assignee = {subject}::text")
        if v.task_teams:
            parts.append(f"t.team = ANY({p(list(v.task_teams))}::text[])")
        if v.owner_kinds:
            parts.append(f"(t.kind = ANY({p(list(v.owner_kinds))}::text[]) AND t.team = {subject}::text)")
    if v.overdue_kinds:
        parts.append(f"({_API_OVERDUE} AND t.kind = ANY({p(list(v.overdue_kinds))}::text[]))")
    return f"({' OR '.join(parts)})"


#: A task with what the policy needs of it and its case (access.policy.TaskRef): no
#: outcome details (free text people typed, which may name a person or a place).
_API_TASK = (
    "SELECT t.id, t.case_id, t.task_key, t.kind, t.title, t.team, t.assignee, t.status, t.due_at,"
    f" {_API_OVERDUE} AS overdue, t.outcome, t.completed_by, t.completed_at, t.created_at,"
    " c.team AS case_team, c.case_owner,"
    " ARRAY(SELECT DISTINCT x.team FROM tasks x WHERE x.case_id = t.case_id ORDER BY 1) AS case_task_teams"
    " FROM tasks t JOIN cases c ON c.id = t.case_id"
)


async def api_task(conn: asyncpg.Connection, task_id: int) -> asyncpg.Record | None:
    return await conn.fetchrow(f"{_API_TASK} WHERE t.id = $1", task_id)


@dataclass(frozen=True)
class TaskFilters:
    team: str | None = None
    kind: str | None = None
    case_id: str | None = None
    assignee: str | None = None
    overdue: bool = False
    #: "mine": tasks of these teams, or whose team or assignee is this subject.
    mine_teams: tuple[str, ...] | None = None
    mine_subject: str | None = None
    #: Only tasks nobody holds (the inbox's "Unassigned" queue).
    unassigned: bool = False
    #: Only tasks due before this time (the inbox's filter panel).
    due_before: datetime | None = None


async def api_tasks(
    conn: asyncpg.Connection, filters: TaskFilters, visible: Visible, *, after: tuple[datetime, int] | None, limit: int,
) -> list[asyncpg.Record]:
    """Open tasks the caller may see, soonest due first, after the keyset ``after`` (due, ID)."""
    p = _Params()
    where = _task_where(p, replace(filters, overdue=False), visible)  # overdue: below, as two ranges
    if after is not None:
        where.append(f"(t.due_at, t.id) > ({p(after[0])}::timestamptz, {p(after[1])}::bigint)")
    head, page = f"{_API_TASK} WHERE {' AND '.join(where)}", p(limit)
    if not filters.overdue:
        return list(await conn.fetch(f"{head} ORDER BY t.due_at, t.id LIMIT {page}", *p.values))
    # Overdue (_API_OVERDUE) as two ranges merged: past due, and escalated ahead of its due
    # time (a hand edit: few, their own partial index). One "escalated OR past due" filter
    # would read every open task after a deep cursor to find none (docs/performance.md).
    sql = (f"SELECT * FROM (({head} AND t.due_at < now() ORDER BY t.due_at, t.id LIMIT {page})"
           f" UNION ALL ({head} AND t.overdue AND t.due_at >= now() ORDER BY t.due_at, t.id LIMIT {page})) u"
           f" ORDER BY u.due_at, u.id LIMIT {page}")
    return list(await conn.fetch(sql, *p.values))


async def api_task_counts(conn: Executor, filters: dict[str, TaskFilters], visible: Visible, *,
                          cap: int) -> dict[str, int]:
    """How many open tasks ``api_tasks`` would list with each set of filters (all pages), in
    one round trip, each counted up to ``cap`` + 1 at most (more than ``cap``: the inbox says
    "more than"), so that a queue of ten thousand costs no more than a page's listing."""
    p = _Params()
    columns = []
    for i, (name, f) in enumerate(filters.items()):
        where = ' AND '.join(_task_where(p, f, visible))
        columns.append(f"(SELECT count(*) FROM (SELECT 1 FROM tasks t JOIN cases c ON c.id = t.case_id WHERE {where}"
                       f" LIMIT {p(cap + 1)}) q{i}) AS c{i}")
    row = await conn.fetchrow(f"SELECT {', '.join(columns)}", *p.values)
    return {name: int(row[f"c{i}"]) for i, name in enumerate(filters)}


def _task_where(p: _Params, filters: TaskFilters, visible: Visible) -> list[str]:
    return ["t.status = 'open'", _tasks_visible(p, visible), *_filter_conditions(p, filters)]


def _filter_conditions(p: _Params, filters: TaskFilters) -> list[str]:
    where: list[str] = []
    if filters.team is not None:
        where.append(f"t.team = {p(filters.team)}::text")
    if filters.kind is not None:
        where.append(f"t.kind = {p(filters.kind)}::text")
    if filters.case_id is not None:
        where.append(f"t.case_id = {p(filters.case_id)}::text")
    if filters.assignee is not None:
        where.append(f"t.assignee = {p(filters.assignee)}::text")
    if filters.overdue:
        where.append(_API_OVERDUE)
    if filters.mine_subject is not None:
        subject = p(filters.mine_subject)
        where.append(f"(t.team = ANY({p(list(filters.mine_teams or ()))}::text[]) OR t.team = {subject}::text"
                     f" OR t.assignee = {subject}::text)")
    if filters.unassigned:
        where.append("t.assignee IS NULL")
    if filters.due_before is not None:
        where.append(f"t.due_at < {p(filters.due_before)}::timestamptz")
    return where


# ---------------------------------------------------------------------------- outbound message feeds


_FEED_ENTRY = (
    "SELECT m.id, m.case_id, c.acro_reference, m.recipient, m.form, m.body, m.sent_at,"
    " a.acknowledged_by, a.acknowledged_at"
    " FROM outbound_messages m JOIN cases c ON c.id = m.case_id"
    " LEFT JOIN feed_acknowledgements a ON a.message_id = m.id"
)


async def feed(
    conn: asyncpg.Connection, recipient: str, *, after: int, limit: int, include_acknowledged: bool,
    visible: Visible,
) -> list[asyncpg.Record]:
    """One recipient's outbound messages, oldest first (by ID), after message ``after``."""
    p = _Params()
    where = [f"m.recipient = {p(recipient)}::text", f"m.id > {p(after)}::bigint", _cases_visible(p, visible)]
    if not include_acknowledged:
        where.append("a.message_id IS NULL")
    sql = f"{_FEED_ENTRY} WHERE {' AND '.join(where)} ORDER BY m.id LIMIT {p(limit)}"
    return list(await conn.fetch(sql, *p.values))


async def feed_entries(conn: asyncpg.Connection, message_ids: list[int], visible: Visible) -> list[asyncpg.Record]:
    """The messages among ``message_ids`` the caller may see (any recipient)."""
    p = _Params()
    where = [f"m.id = ANY({p(message_ids)}::bigint[])", _cases_visible(p, visible)]
    return list(await conn.fetch(f"{_FEED_ENTRY} WHERE {' AND '.join(where)} ORDER BY m.id", *p.values))


# ---------------------------------------------------------------------------- the case list and one case

CASE_SUMMARY_COLUMNS = (
    "c.id, c.stage, c.status, c.team, c.case_owner, c.outcome, c.opened_at, c.updated_at, c.closed_at,"
    " CASE WHEN c.status = 'closed' THEN NULL ELSE coalesce(n.next_due, s1.respond_by) END AS next_due,"
    " (c.status <> 'closed' AND (c.overdue OR coalesce(n.next_due < now(), false))) AS overdue,"
    " coalesce(n.open_tasks, 0) AS open_tasks"
)


def _case_summary(p: _Params) -> str:
    """SELECT ... FROM cases c with the next deadline and the Stage 1 window (R42/R43)."""
    stage1 = _STAGE1_NOTICE.format(case="c.id", respond_by=p(keys.RESPOND_BY), key=p(keys.STAGE1_NOTICE))
    return (
        f"SELECT {CASE_SUMMARY_COLUMNS} FROM cases c"
        " LEFT JOIN LATERAL (SELECT min(due_at) AS next_due, count(*) AS open_tasks FROM tasks t"
        " WHERE t.case_id = c.id AND t.status = 'open') n ON true"
        f" LEFT JOIN LATERAL ({stage1}) s1 ON true"
    )


async def visible_cases(
    conn: asyncpg.Connection, visible: Visible, *, stage: str | None, team: str | None, owner: str | None,
    overdue: bool, after: tuple[datetime, str] | None, limit: int,
) -> list[asyncpg.Record]:
    """One page of the case list (no personal data), newest first, after the keyset
    ``(opened_at, id)`` of the previous page's last row; only cases ``visible`` admits."""
    p = _Params()
    select = _case_summary(p)
    where = [_cases_visible(p, visible)]
    if stage is not None:
        where.append(f"c.stage = {p(stage)}::text")
    if team is not None:
        where.append(f"lower(c.team) = lower({p(team)}::text)")
    if owner is not None:
        where.append(f"lower(c.case_owner) = lower({p(owner)}::text)")
    if overdue:
        where.append("(c.status <> 'closed' AND (c.overdue OR n.next_due < now()))")
    if after is not None:
        where.append(f"(c.opened_at, c.id) < ({p(after[0])}::timestamptz, {p(after[1])}::text)")
    sql = f"{select} WHERE {' AND '.join(where)} ORDER BY c.opened_at DESC, c.id DESC LIMIT {p(limit)}"
    return list(await conn.fetch(sql, *p.values))


async def visible_case(conn: asyncpg.Connection, visible: Visible, case_id: str) -> asyncpg.Record | None:
    """One case's summary (no personal data), when ``visible`` admits it; None otherwise,
    whether it does not exist or may not be seen (the caller must not learn which)."""
    p = _Params()
    select = _case_summary(p)
    return await conn.fetchrow(f"{select} WHERE {_cases_visible(p, visible)} AND c.id = {p(case_id)}::text", *p.values)


async def open_tasks_of(conn: asyncpg.Connection, case_id: str) -> list[asyncpg.Record]:
    """A case's open tasks (no personal data), soonest due first."""
    return list(await conn.fetch(
        f"SELECT t.id, t.task_key, t.kind, t.title, t.team, t.assignee, t.due_at, {_TASK_OVERDUE} AS overdue"
        " FROM tasks t WHERE t.case_id = $1 AND t.status = 'open' ORDER BY t.due_at, t.id",
        case_id,
    ))


@dataclass(frozen=True)
class MessageRecord:
    """What the case recorded of one message (kind, event ID): its action and when, and
    whether the case was closed by then (recorded, and it changed nothing)."""

    action: str
    occurred_at: datetime
    after_closing: bool


async def message_record(conn: Executor, case_id: str, kind: str, event_id: str) -> MessageRecord | None:
    """The case's record of a message, through migration 0010's function (the API's login
    reads no audit rows itself); None while the case has not applied it."""
    row = await conn.fetchrow(
        "SELECT m.action, m.occurred_at, coalesce(c.closed_at <= m.occurred_at, false) AS after_closing"
        " FROM casework_message_record($1, $2) m LEFT JOIN cases c ON c.id = $1",
        case_id, keys.event_key(kind, event_id))
    return None if row is None else MessageRecord(row["action"], row["occurred_at"], row["after_closing"])


# ---------------------------------------------------------------------------- the web inbox (issue 21)


async def stage1_window(conn: Executor, case_id: str) -> asyncpg.Record | None:
    """R41-R43 (the inbox's case page): when the Stage 1 notice was served and when the
    response window ends."""
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
