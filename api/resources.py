"""What the policy is asked about, read from the CID: a case (``CaseRef``), a task
(``TaskRef``), and which rows a caller may see, as the read model's ``Visible``."""

from __future__ import annotations

from typing import Any

from access.policy import CASEWORK_KINDS, OWNER_KINDS, CaseRef, CaseScope, TaskRef, TaskScope, case_scope, task_scope
from access.principal import Principal
from api.services import Services
from cid import read_model


async def case_ref(svc: Services, case_id: str) -> CaseRef | None:
    """The case as the policy sees it; None when the CID has no such case (yet)."""
    async with svc.pool.acquire() as conn:
        row = await read_model.case_ref_row(conn, case_id)
    if row is None:
        return None
    return CaseRef(row["id"], team=row["team"], case_owner=row["case_owner"], task_teams=frozenset(row["task_teams"]))


def task_ref(row: Any) -> TaskRef:
    """A row of ``read_model.api_task(s)`` as the policy sees it."""
    case = CaseRef(row["case_id"], team=row["case_team"], case_owner=row["case_owner"],
                   task_teams=frozenset(row["case_task_teams"]))
    return TaskRef(case, row["task_key"], row["kind"], row["team"], assignee=row["assignee"], overdue=bool(row["overdue"]))


def visible_cases(scope: CaseScope) -> read_model.Visible:
    return read_model.Visible(all_cases=scope.all_cases, case_teams=tuple(sorted(scope.teams)), case_owner=scope.owner,
                              case_task_teams=tuple(sorted(scope.task_teams)))


def cases_of(who: Principal) -> read_model.Visible:
    """The cases ``who`` may see (``access.policy.case_scope``)."""
    return visible_cases(case_scope(who))


def tasks_of(who: Principal) -> read_model.Visible:
    """The tasks ``who`` may see (``access.policy.task_scope``)."""
    scope: TaskScope = task_scope(who)
    cases = visible_cases(scope.cases)
    return read_model.Visible(
        all_cases=cases.all_cases, case_teams=cases.case_teams, case_owner=cases.case_owner,
        case_task_teams=cases.case_task_teams, task_teams=tuple(sorted(scope.teams)), subject=scope.subject,
        owner_kinds=tuple(sorted(OWNER_KINDS)) if scope.subject is not None else (),
        overdue_kinds=tuple(sorted(CASEWORK_KINDS)) if scope.overdue_casework else (),
    )
