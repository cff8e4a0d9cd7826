"""What the policy is asked about, read from the CID: a case as ``access.policy.CaseRef``,
and which cases a principal may see as the read model's ``Visible``.

One home for both (the task routes use ``case_ref`` too): the CID's read model returns
plain records and knows nothing of the policy; the policy knows nothing of SQL.
"""

from __future__ import annotations

from typing import Any

import asyncpg

from access.policy import CASEWORK_KINDS, OWNER_KINDS, CaseRef, CaseScope, TaskRef, TaskScope, case_scope, task_scope
from access.principal import Principal
from cid import read_model


def as_case_ref(access: read_model.CaseAccess) -> CaseRef:
    return CaseRef(case_id=access.case_id, team=access.team, case_owner=access.case_owner, task_teams=access.task_teams)


async def case_ref(conn: asyncpg.Connection | asyncpg.Pool, case_id: str) -> CaseRef | None:
    """The case as the policy sees it; None when the CID holds no such case."""
    found = await read_model.case_ref(conn, case_id)
    return None if found is None else as_case_ref(found)


def visible_to(principal: Principal) -> read_model.Visible:
    """``access.policy.case_scope`` as the read model's filter: the list and one case
    apply the policy's own scope, in SQL."""
    scope = case_scope(principal)
    return read_model.Visible(all_cases=scope.all_cases, teams=scope.teams, owner=scope.owner,
                              task_teams=scope.task_teams)


# ------------------------------------------------------------------ tasks and feeds (api-tasks)


def task_ref(row: Any) -> TaskRef:
    """A row of ``read_model.api_task(s)`` as the policy sees it."""
    case = CaseRef(row["case_id"], team=row["case_team"], case_owner=row["case_owner"],
                   task_teams=frozenset(row["case_task_teams"]))
    return TaskRef(case, row["task_key"], row["kind"], row["team"], assignee=row["assignee"], overdue=bool(row["overdue"]))


def visible_cases(scope: CaseScope) -> read_model.TaskVisible:
    return read_model.TaskVisible(all_cases=scope.all_cases, case_teams=tuple(sorted(scope.teams)), case_owner=scope.owner,
                              case_task_teams=tuple(sorted(scope.task_teams)))


def cases_of(who: Principal) -> read_model.TaskVisible:
    """The cases ``who`` may see (``access.policy.case_scope``)."""
    return visible_cases(case_scope(who))


def tasks_of(who: Principal) -> read_model.TaskVisible:
    """The tasks ``who`` may see (``access.policy.task_scope``)."""
    scope: TaskScope = task_scope(who)
    cases = visible_cases(scope.cases)
    return read_model.TaskVisible(
        all_cases=cases.all_cases, case_teams=cases.case_teams, case_owner=cases.case_owner,
        case_task_teams=cases.case_task_teams, task_teams=tuple(sorted(scope.teams)), subject=scope.subject,
        owner_kinds=tuple(sorted(OWNER_KINDS)) if scope.subject is not None else (),
        overdue_kinds=tuple(sorted(CASEWORK_KINDS)) if scope.overdue_casework else (),
    )
