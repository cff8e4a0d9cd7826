"""The work queues of the inbox and how a due date reads: pure rules, no I/O.

A queue is a set of filters over the tasks the policy lets a person see
(``read_model.api_tasks`` with ``resources.tasks_of``); which queues a person has comes
from their roles (access/policy.py). Everything is sorted by due date, soonest first.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from access.policy import Role, roles_of
from access.principal import Principal
from cid.read_model import TaskFilters

#: Calendar days ("due tomorrow") are the Home Office's: UK time.
UK = ZoneInfo("Europe/London")
#: A task due within this many days is marked "due soon".
DUE_SOON_DAYS = 3


#: Queue counts are exact up to this; beyond it a queue reads "more than 1,000".
COUNT_CAP = 1000


def count_text(n: int) -> str:
    return f"more than {COUNT_CAP:,}" if n > COUNT_CAP else f"{n:,}"


class Queue(StrEnum):
    MINE = "mine"
    TEAM = "team"
    UNASSIGNED = "unassigned"
    ESCALATED = "escalated"
    SUBMISSIONS = "submissions"


TITLES: dict[Queue, str] = {
    Queue.MINE: "My tasks",
    Queue.TEAM: "My team's tasks",
    Queue.UNASSIGNED: "Unassigned",
    Queue.ESCALATED: "Escalated",
    Queue.SUBMISSIONS: "Submissions to the Director",
}


def queues_of(who: Principal) -> list[Queue]:
    """The queues a person works from: everyone has the first three; senior caseworkers
    the overdue work (escalations); the Director the submissions made to them (R50)."""
    roles = roles_of(who)
    shown = [Queue.MINE, Queue.TEAM, Queue.UNASSIGNED]
    if Role.SENIOR_CASEWORKER in roles:
        shown.append(Queue.ESCALATED)
    if Role.DIRECTOR in roles:
        shown.append(Queue.SUBMISSIONS)
    return shown


@dataclass(frozen=True)
class Filters:
    """The filter panel's values (all optional)."""

    kind: str | None = None
    overdue: bool = False
    due_before: date | None = None
    case_id: str | None = None

    @property
    def active(self) -> bool:
        return bool(self.kind or self.overdue or self.due_before or self.case_id)


def task_filters(queue: Queue, who: Principal, filters: Filters) -> TaskFilters:
    """The read model's filters for ``queue`` with the panel's ``filters`` on top."""
    mine = dict(mine_teams=tuple(sorted(who.teams)), mine_subject=who.subject)
    base: dict[str, object] = {
        Queue.MINE: dict(assignee=who.subject),
        Queue.TEAM: mine,
        Queue.UNASSIGNED: {**mine, "unassigned": True},
        Queue.ESCALATED: dict(overdue=True),
        Queue.SUBMISSIONS: dict(kind="director_decision"),
    }[queue]  # type: ignore[assignment]
    due_before = datetime.combine(filters.due_before, datetime.min.time(), UK) if filters.due_before else None
    extra: dict[str, object] = {"case_id": filters.case_id, "due_before": due_before}
    if filters.kind:
        extra["kind"] = filters.kind
    if filters.overdue:
        extra["overdue"] = True
    return TaskFilters(**{**base, **{k: v for k, v in extra.items() if v is not None}})  # type: ignore[arg-type]


@dataclass(frozen=True)
class DueLabel:
    text: str
    #: The GOV.UK tag's colour class, or None for no tag (due later).
    tag: str | None


def _days(n: int) -> str:
    return "1 day" if n == 1 else f"{n} days"


def due_label(due_at: datetime, overdue: bool, now: datetime) -> DueLabel:
    """How a due date reads in a queue: words first, colour second ("Overdue by 3 days",
    "Due tomorrow"), counted in UK calendar days."""
    today, due = now.astimezone(UK).date(), due_at.astimezone(UK).date()
    days = (due - today).days
    if overdue or due_at < now:
        late = max(0, -days)
        return DueLabel("Overdue" if late == 0 else f"Overdue by {_days(late)}", "govuk-tag--red")
    if days == 0:
        return DueLabel("Due today", "govuk-tag--orange")
    if days == 1:
        return DueLabel("Due tomorrow", "govuk-tag--yellow")
    if days <= DUE_SOON_DAYS:
        return DueLabel(f"Due in {_days(days)}", "govuk-tag--yellow")
    return DueLabel(f"Due in {_days(days)}", None)


def uk_date(at: datetime | None) -> str:
    """"27 March 2026" (GOV.UK style), UK time."""
    if at is None:
        return ""
    local = at.astimezone(UK)
    return f"{local.day} {local:%B %Y}"


def uk_time(at: datetime | None) -> str:
    if at is None:
        return ""
    local = at.astimezone(UK)
    return f"{local.day} {local:%B %Y} at {local:%H:%M}".replace(" at 00:00", "")


def week_end(now: datetime) -> datetime:
    """The end of the week the dashboard counts "due this week" to: seven days from now."""
    return now + timedelta(days=7)
