"""The team dashboard's counts: open tasks per kind, overdue, unassigned, due this week,
and the oldest still waiting, for a senior caseworker's teams. No personal data.

One query, each count capped: a count stops at ``CAP`` + 1 rows and the page shows
"1,000+", so that a team with a year's backlog costs what a team with a week's does
(docs/performance.md, "Counts"). Each capped count is a ``LIMIT`` under an index range of
migration 0014 (open tasks by team and kind, by team and due time, by team and creation).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from casework.tasks import TASK_KINDS
from cid.db import Executor

#: Counts above this show as "1,000+".
CAP = 1000
WEEK = timedelta(days=7)


@dataclass(frozen=True)
class Count:
    """A capped count: ``value`` is exact unless ``more`` (then there are more than ``value``)."""

    value: int
    more: bool = False

    @classmethod
    def of(cls, counted: int) -> "Count":
        return cls(CAP, True) if counted > CAP else cls(counted)

    def __str__(self) -> str:
        return f"{self.value:,}+" if self.more else f"{self.value:,}"


@dataclass(frozen=True)
class TeamCounts:
    teams: tuple[str, ...]
    by_kind: dict[str, Count]
    overdue: Count
    unassigned: Count
    due_this_week: Count
    #: When the open task waiting longest was opened (None: nothing open).
    oldest_waiting_since: datetime | None


def _capped(where: str) -> str:
    """Open tasks of team ``tm.team`` matching ``where``, counted up to CAP + 1, soonest due
    first: an ordered range of one index per team, which stops at the cap (an unordered
    LIMIT lets the planner read a whole bitmap, or the table, first)."""
    return (f"(SELECT count(*) FROM (SELECT 1 FROM tasks t WHERE t.status = 'open' AND t.team = tm.team AND {where}"
            f" LIMIT {CAP + 1}) s)")


#: $1 teams, $2 now, $3 a week from now, $4 the kinds. Team by team (one index probe each,
#: summed): an ordered scan over ``team = ANY(...)`` would sort every row of them.
#: Overdue: past due, or escalated ahead of its due time (a hand edit; the partial index).
TEAM_COUNTS = f"""
WITH tm AS (SELECT DISTINCT unnest($1::text[]) AS team)
SELECT
    (SELECT coalesce(jsonb_object_agg(kind, n), '{{}}'::jsonb) FROM (
        SELECT k.kind, sum({_capped("t.kind = k.kind")}) AS n FROM unnest($4::text[]) k(kind), tm GROUP BY k.kind
     ) per_kind WHERE n > 0) AS by_kind,
    (SELECT coalesce(sum({_capped("t.due_at < $2")} + {_capped("t.overdue AND t.due_at >= $2")}), 0) FROM tm) AS overdue,
    (SELECT coalesce(sum({_capped("t.assignee IS NULL")}), 0) FROM tm) AS unassigned,
    (SELECT coalesce(sum({_capped("t.due_at >= $2 AND t.due_at < $3")}), 0) FROM tm) AS due_this_week,
    (SELECT min(f.created_at) FROM tm, LATERAL (
        SELECT t.created_at FROM tasks t WHERE t.status = 'open' AND t.team = tm.team ORDER BY t.created_at LIMIT 1) f
    ) AS oldest
"""


async def team_counts(conn: Executor, teams: list[str] | tuple[str, ...], now: datetime) -> TeamCounts:
    """The dashboard of ``teams`` (a task's team is a fixed team, a casework team, or an
    allocated owner's staff ID) at ``now``. Overdue: escalated, or past due at ``now``."""
    kinds = sorted(TASK_KINDS)
    row = await conn.fetchrow(TEAM_COUNTS, list(teams), now, now + WEEK, kinds)
    by_kind = row["by_kind"]
    if isinstance(by_kind, str):  # a connection without the pool's jsonb codec
        import json

        by_kind = json.loads(by_kind)
    return TeamCounts(
        teams=tuple(teams),
        by_kind={k: Count.of(int(v)) for k, v in sorted(by_kind.items())},
        overdue=Count.of(int(row["overdue"])),
        unassigned=Count.of(int(row["unassigned"])),
        due_this_week=Count.of(int(row["due_this_week"])),
        oldest_waiting_since=row["oldest"],
    )
