"""What the policy is asked about, read from the CID: a case (``CaseRef``), a task
(``TaskRef``), and which rows a caller may see, as the read model's ``Visible``.

One home for these (every route uses them): the CID's read model returns plain records
and knows nothing of the policy; the policy knows nothing of SQL.
"""

from __future__ import annotations

from typing import Annotated, Any

import asyncpg
from fastapi import Path

from access.policy import CASEWORK_KINDS, OWNER_KINDS, CaseRef, CaseScope, TaskRef, TaskScope, case_scope, task_scope
from access.principal import Principal
from cid import read_model

#: A case ID in a path (``acro-case-…``: casework/case.py ``case_id_for``); nothing else
#: reaches the CID, so control characters and the like are refused as a field (422).
CASE_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,79}$"
CaseId = Annotated[str, Path(pattern=CASE_ID_PATTERN, description="The case's ID, acro-case-…")]


def as_case_ref(access: read_model.CaseAccess) -> CaseRef:
    return CaseRef(case_id=access.case_id, team=access.team, case_owner=access.case_owner, task_teams=access.task_teams,
                   open_task_teams=access.open_task_teams)


async def case_ref(conn: asyncpg.Connection | asyncpg.Pool, case_id: str) -> CaseRef | None:
    """The case as the policy sees it; None when the CID holds no such case."""
    found = await read_model.case_ref(conn, case_id)
    return None if found is None else as_case_ref(found)


def task_ref(row: Any) -> TaskRef:
    """A row of ``read_model.api_task(s)`` as the policy sees it."""
    case = CaseRef(row["case_id"], team=row["case_team"], case_owner=row["case_owner"],
                   task_teams=frozenset(row["case_task_teams"]))
    return TaskRef(case, row["task_key"], row["kind"], row["team"], assignee=row["assignee"], overdue=bool(row["overdue"]))


def visible_cases(scope: CaseScope) -> read_model.Visible:
    return read_model.Visible(all_cases=scope.all_cases, case_teams=tuple(sorted(scope.teams)), case_owner=scope.owner,
                              case_task_teams=tuple(sorted(scope.task_teams)))


def cases_of(who: Principal) -> read_model.Visible:
    """The cases ``who`` may see (``access.policy.case_scope``), applied in SQL."""
    return visible_cases(case_scope(who))


def tasks_of(who: Principal) -> read_model.Visible:
    """The tasks ``who`` may see (``access.policy.task_scope``), applied in SQL."""
    scope: TaskScope = task_scope(who)
    cases = visible_cases(scope.cases)
    return read_model.Visible(
        all_cases=cases.all_cases, case_teams=cases.case_teams, case_owner=cases.case_owner,
        case_task_teams=cases.case_task_teams, task_teams=tuple(sorted(scope.teams)), subject=scope.subject,
        owner_kinds=tuple(sorted(OWNER_KINDS)) if scope.subject is not None else (),
        overdue_kinds=tuple(sorted(CASEWORK_KINDS)) if scope.overdue_casework else (),
    )
