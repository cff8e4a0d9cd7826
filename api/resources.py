"""What the policy is asked about, read from the CID: a case as ``access.policy.CaseRef``,
and which cases a principal may see as the read model's ``Visible``.

One home for both (the task routes use ``case_ref`` too): the CID's read model returns
plain records and knows nothing of the policy; the policy knows nothing of SQL.
"""

from __future__ import annotations

import asyncpg

from access.policy import CaseRef, case_scope
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
