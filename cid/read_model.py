"""The CID's read side: what people and operators read (case lists, a case in full, the
task inbox, the CID's half of ``casework stuck``). Whether a message was applied is the
case's own answer (``deliver_event``), not read here.

The CID is the consistent read model (architecture.md): lists for people come from here,
not from Temporal visibility. Listings carry no personal data; ``case_file`` does, and
reads it through ``read_personal_data``, which records who read it and why (R60). The
command line, and the HTTP API to come, call these; nothing here knows who calls.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from casework import keys
from cid.db import Executor
from cid.personal_data import read_personal_data

#: The open-task "overdue" the inbox shows: escalated by the workflow, or simply past due
#: (so a case is still found when no worker has run since its deadline passed).
_TASK_OVERDUE = "(t.overdue OR t.due_at < now())"


# ---------------------------------------------------------------------------- cases

#: R41-R43: when the Stage 1 notice was served and when the response window ends, as the
#: case recorded them with the notice (business times, the workflow's clock). ``{case}``
#: is the case's ID; ``{key}`` and ``{respond_by}`` the parameters holding
#: ``keys.STAGE1_NOTICE`` and ``keys.RESPOND_BY``.
_STAGE1_NOTICE = (
    "SELECT (m.body->>'served_at')::timestamptz AS served_at, (m.body->>{respond_by}::text)::timestamptz AS respond_by,"
    " m.body->>'window_days' AS window_days"
    " FROM outbound_messages m WHERE m.case_id = {case} AND m.message_key = {key}::text"
)


@dataclass(frozen=True)
class CasePage:
    total: int
    rows: list[asyncpg.Record]


async def list_cases(
    conn: asyncpg.Connection, *, stage: str | None, team: str | None, owner: str | None,
    overdue: bool, page: int, page_size: int,
) -> CasePage:
    where = """
        ($1::text IS NULL OR c.stage LIKE $1)
        AND ($2::text IS NULL OR lower(c.team) = lower($2))
        AND ($3::text IS NULL OR lower(c.case_owner) = lower($3))
        AND (NOT $4 OR c.overdue OR n.next_due < now())
    """
    next_due = (
        "LEFT JOIN LATERAL (SELECT min(due_at) AS next_due FROM tasks t"
        " WHERE t.case_id = c.id AND t.status = 'open') n ON true"
    )
    # R42/R43: while the Stage 1 response window runs there is no task; its end is what is next.
    window_end = "s1.respond_by"
    stage1 = f"LEFT JOIN LATERAL ({_STAGE1_NOTICE.format(case='c.id', respond_by='$7', key='$8')}) s1 ON true"
    args = (stage, team, owner, overdue)
    total = await conn.fetchval(f"SELECT count(*) FROM cases c {next_due} WHERE {where}", *args)
    rows = await conn.fetch(
        f"SELECT c.id, c.acro_reference, c.stage, c.status, c.team, c.case_owner, c.outcome,"
        f" c.opened_at, CASE WHEN c.status = 'closed' THEN NULL ELSE coalesce(n.next_due, {window_end}) END AS next_due,"
        f" (c.overdue OR coalesce(n.next_due < now(), false)) AS overdue,"
        f" s1.served_at AS notice_served_at, s1.respond_by"
        f" FROM cases c {next_due} {stage1} WHERE {where}"
        f" ORDER BY c.opened_at DESC, c.id LIMIT $5 OFFSET $6",
        *args, page_size, (page - 1) * page_size, keys.RESPOND_BY, keys.STAGE1_NOTICE,
    )
    return CasePage(int(total), list(rows))


async def case_status(conn: asyncpg.Connection, case_id: str) -> str | None:
    """'open', 'dormant', 'closed'; 'submitted' while the worker has not yet taken the
    referral in; None when there is no such case."""
    status = await conn.fetchval("SELECT status FROM cases WHERE id = $1", case_id)
    if status is not None:
        return str(status)
    held = await conn.fetchval("SELECT 1 FROM intake_referrals WHERE case_id = $1", case_id)
    return "submitted" if held else None


# ---------------------------------------------------------------------------- one case


async def case_file(conn: asyncpg.Connection, case_id: str, actor: str, purpose: str) -> dict[str, Any] | None:
    """Everything the CID holds on a case, personal data included: that part is read
    through ``read_personal_data``, which records who read it and why (R60)."""
    case = await conn.fetchrow(
        "SELECT c.*, p.reference AS paper_file FROM cases c LEFT JOIN paper_files p ON p.case_id = c.id WHERE c.id = $1",
        case_id,
    )
    if case is None:
        return None
    personal = await read_personal_data(conn, case_id, actor, purpose)
    referral = personal["referral"]
    convictions = personal["convictions"]
    # What the certificates were, not their content (a destroyed one has none, R03).
    certificates = [
        {k: c[k] for k in ("seq", "disclosable", "offences_on_pnc", "issued_on", "received_at", "destroyed_at")}
        for c in personal["certificates"]
    ]
    tasks = await conn.fetch(
        f"SELECT t.id, t.task_key, t.kind, t.title, t.team, t.assignee, t.due_at, {_TASK_OVERDUE} AS overdue"
        " FROM tasks t WHERE t.case_id = $1 AND t.status = 'open' ORDER BY t.due_at, t.id",
        case_id,
    )
    messages = await conn.fetch(
        "SELECT sent_at, recipient, form FROM outbound_messages WHERE case_id = $1 ORDER BY sent_at, id", case_id
    )
    notes = await conn.fetch("SELECT occurred_at, text FROM notes WHERE case_id = $1 ORDER BY occurred_at, id", case_id)
    timeline = await conn.fetch(
        "SELECT occurred_at, actor, action, detail FROM audit_log WHERE case_id = $1 ORDER BY occurred_at, id", case_id
    )
    stage1 = await conn.fetchrow(_STAGE1_NOTICE.format(case="$1", respond_by="$2", key="$3"),
                                 case_id, keys.RESPOND_BY, keys.STAGE1_NOTICE)
    return {
        "case": dict(case),
        "read_audit_event": personal["audit_event"],
        "referral": referral,
        "convictions": convictions,
        "certificates": certificates,
        "open_tasks": [dict(r) for r in tasks],
        "messages": [dict(r) for r in messages],
        "notes": [dict(r) for r in notes],
        "stage1_notice": dict(stage1) if stage1 else None,
        "release_date": _release_date(dict(case), referral),
        "timeline": one_entry_per_stage([dict(r) for r in timeline]),
    }


def _release_date(case: dict[str, Any], referral: dict[str, Any] | None) -> Any:
    """R42: the expected release date: the case's own when the CID records one (a later
    "located" in prison), else the referral's."""
    if case.get("release_date") is not None:
        return case["release_date"]
    return ((referral or {}).get("whereabouts") or {}).get("release_date")


def one_entry_per_stage(timeline: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The audit log as the timeline shows it: one "stage entered" per stage entered.

    Releases before this one recorded later changes to the case within a stage (the owner
    allocated, the detention power, convictions unavailable, an outcome) as "stage entered"
    again with the same stage: shown here as "case updated".
    """
    shown, stage = [], None
    for entry in timeline:
        detail = entry.get("detail") or {}
        if entry["action"] == "stage entered":
            if detail.get("stage") == stage:
                entry = {**entry, "action": "case updated",
                         "detail": {k: v for k, v in detail.items() if k != "stage"}}
            else:
                stage = detail.get("stage")
        elif entry["action"] == "case closed":
            stage = "closed"
        shown.append(entry)
    return shown


# ---------------------------------------------------------------------------- tasks


async def list_tasks(
    conn: asyncpg.Connection, *, team: str | None, overdue: bool, assignee: str | None,
    case_id: str | None, limit: int,
) -> tuple[int, list[asyncpg.Record]]:
    where = f"""
        t.status = 'open'
        AND ($1::text IS NULL OR lower(t.team) = lower($1))
        AND (NOT $2 OR {_TASK_OVERDUE})
        AND ($3::text IS NULL OR lower(t.assignee) = lower($3))
        AND ($4::text IS NULL OR t.case_id = $4)
    """
    args = (team, overdue, assignee, case_id)
    total = await conn.fetchval(f"SELECT count(*) FROM tasks t WHERE {where}", *args)
    rows = await conn.fetch(
        f"SELECT t.id, t.case_id, t.task_key, t.kind, t.title, t.team, t.assignee, t.due_at,"
        f" {_TASK_OVERDUE} AS overdue FROM tasks t WHERE {where} ORDER BY t.due_at, t.id LIMIT $5",
        *args, limit,
    )
    return int(total), list(rows)


TASK_COLUMNS = "id, case_id, task_key, kind, title, team, status, outcome, completed_by, completed_at"


async def task_by_id(conn: asyncpg.Connection, task_id: int) -> asyncpg.Record | None:
    return await conn.fetchrow(f"SELECT {TASK_COLUMNS} FROM tasks WHERE id = $1", task_id)


async def task_by_key(conn: asyncpg.Connection, case_id: str, key: str) -> asyncpg.Record | None:
    return await conn.fetchrow(f"SELECT {TASK_COLUMNS} FROM tasks WHERE case_id = $1 AND task_key = $2", case_id, key)


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


async def case_ref(conn: Executor, case_id: str) -> CaseAccess | None:
    """The case's team, owner and task teams; None when the CID has no such case at all."""
    row = await conn.fetchrow(
        "SELECT c.team, c.case_owner, c.status,"
        " coalesce((SELECT array_agg(DISTINCT t.team) FROM tasks t WHERE t.case_id = c.id), '{}') AS task_teams"
        " FROM cases c WHERE c.id = $1",
        case_id,
    )
    if row is not None:
        return CaseAccess(case_id, row["team"], row["case_owner"], frozenset(row["task_teams"]), str(row["status"]))
    if await conn.fetchval("SELECT 1 FROM intake_referrals WHERE case_id = $1", case_id):
        return CaseAccess(case_id, None, None, frozenset(), "submitted")
    return None


@dataclass(frozen=True)
class Visible:
    """Which cases a caller may see, as plain values (the policy's ``CaseScope``, applied
    in SQL so that paging never counts or returns a case the caller may not see)."""

    all_cases: bool = False
    teams: frozenset[str] = frozenset()
    owner: str | None = None
    task_teams: frozenset[str] = frozenset()


#: The same test as ``CaseScope.admits``: exact names, as the policy compares them.
_VISIBLE = """
    ($1::bool OR c.team = ANY($2::text[]) OR ($3::text IS NOT NULL AND c.case_owner = $3)
     OR EXISTS (SELECT 1 FROM tasks v WHERE v.case_id = c.id AND v.team = ANY($4::text[])))
"""

CASE_SUMMARY_COLUMNS = (
    "c.id, c.stage, c.status, c.team, c.case_owner, c.outcome, c.opened_at, c.updated_at, c.closed_at,"
    " CASE WHEN c.status = 'closed' THEN NULL ELSE coalesce(n.next_due, s1.respond_by) END AS next_due,"
    " (c.status <> 'closed' AND (c.overdue OR coalesce(n.next_due < now(), false))) AS overdue,"
    " coalesce(n.open_tasks, 0) AS open_tasks"
)
_CASE_SUMMARY_JOINS = (
    "LEFT JOIN LATERAL (SELECT min(due_at) AS next_due, count(*) AS open_tasks FROM tasks t"
    " WHERE t.case_id = c.id AND t.status = 'open') n ON true"
    " LEFT JOIN LATERAL (" + _STAGE1_NOTICE.format(case="c.id", respond_by="$5", key="$6") + ") s1 ON true"
)


async def visible_cases(
    conn: asyncpg.Connection, visible: Visible, *, stage: str | None, team: str | None, owner: str | None,
    overdue: bool, after: tuple[datetime, str] | None, limit: int,
) -> list[asyncpg.Record]:
    """One page of the case list (no personal data), newest first, after the keyset
    ``(opened_at, id)`` of the previous page's last row; only cases ``visible`` admits."""
    rows = await conn.fetch(
        f"SELECT {CASE_SUMMARY_COLUMNS} FROM cases c {_CASE_SUMMARY_JOINS}"
        f" WHERE {_VISIBLE}"
        "  AND ($7::text IS NULL OR c.stage = $7) AND ($8::text IS NULL OR lower(c.team) = lower($8))"
        "  AND ($9::text IS NULL OR lower(c.case_owner) = lower($9))"
        "  AND (NOT $10 OR (c.status <> 'closed' AND (c.overdue OR n.next_due < now())))"
        "  AND ($11::timestamptz IS NULL OR (c.opened_at, c.id) < ($11, $12::text))"
        " ORDER BY c.opened_at DESC, c.id DESC LIMIT $13",
        visible.all_cases, sorted(visible.teams), visible.owner, sorted(visible.task_teams),
        keys.RESPOND_BY, keys.STAGE1_NOTICE, stage, team, owner, overdue,
        after[0] if after else None, after[1] if after else None, limit,
    )
    return list(rows)


async def visible_case(conn: asyncpg.Connection, visible: Visible, case_id: str) -> asyncpg.Record | None:
    """One case's summary (no personal data), when ``visible`` admits it; None otherwise,
    whether it does not exist or may not be seen (the caller must not learn which)."""
    return await conn.fetchrow(
        f"SELECT {CASE_SUMMARY_COLUMNS} FROM cases c {_CASE_SUMMARY_JOINS}"
        f" WHERE {_VISIBLE} AND c.id = $7",
        visible.all_cases, sorted(visible.teams), visible.owner, sorted(visible.task_teams),
        keys.RESPOND_BY, keys.STAGE1_NOTICE, case_id,
    )


async def open_tasks_of(conn: asyncpg.Connection, case_id: str) -> list[asyncpg.Record]:
    """A case's open tasks (no personal data), soonest due first."""
    return list(await conn.fetch(
        f"SELECT t.id, t.task_key, t.kind, t.title, t.team, t.assignee, t.due_at, {_TASK_OVERDUE} AS overdue"
        " FROM tasks t WHERE t.case_id = $1 AND t.status = 'open' ORDER BY t.due_at, t.id",
        case_id,
    ))
