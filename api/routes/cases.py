"""/cases (docs/api.md): the case list and one case from the CID, without personal data;
personal data only by a separate read with a purpose, recorded (R60) under the caller.

What a caller may see is the policy's ``case_scope``, applied in SQL (api/resources.py):
a page never counts, returns or skips for a case the caller may not see, and one case the
caller may not see is answered as one that does not exist (404), so existence is not told.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any

import asyncpg
from fastapi import APIRouter, Query, Request, Response
from pydantic import StringConstraints

from access.policy import SCOPES, Action, CaseRef, PersonalDataRead, decide
from api.door import StrictJsonRoute, body_limit
from api.auth import Who, allow
from api import cursors
from api.problems import Problem, problem_responses
from api.security_events import Refused, watch_of
from api.schemas import (CaseDetail, CasePage, CaseSummary, DecisionOut, DecisionPage, OpenTask, PersonalData,
                         PersonalDataRequest, TimelineEntry, TimelinePage)
from api.resources import CASE_ID_PATTERN, CaseId, case_ref, cases_of
from api.services import Svc
from casework.case import Stage
from cid import case_trail, decisions, read_model
from cid.personal_data import read_personal_data

router = APIRouter(tags=["cases"], route_class=StrictJsonRoute)

DEFAULT_LIMIT = 50
MAX_LIMIT = 200
#: No control characters: nothing a person types has them, and PostgreSQL refuses NUL.
_PRINTABLE = r"^[^\x00-\x1f\x7f]+$"
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100, pattern=_PRINTABLE)]


def _summary(row: asyncpg.Record) -> dict[str, Any]:
    return {"case_id": row["id"], "stage": row["stage"], "status": row["status"], "team": row["team"],
            "case_owner": row["case_owner"], "outcome": row["outcome"], "opened_at": row["opened_at"],
            "next_due": row["next_due"], "overdue": bool(row["overdue"]), "open_task_count": int(row["open_tasks"])}


def _cursor(row: Any) -> str:
    return cursors.encode(row["opened_at"], row["id"])


def _after(cursor: str | None) -> tuple[datetime, str] | None:
    return cursors.decode(cursor, str, valid=lambda key: re.match(CASE_ID_PATTERN, key) is not None)


@router.get("/cases", response_model=CasePage, summary="The case list (no personal data), newest first",
            responses=problem_responses(401, 403, 422, 503))
async def list_cases(
    who: Who, svc: Svc,
    stage: Annotated[Stage | None, Query(description="Only cases at this stage")] = None,
    team: Annotated[Name | None, Query(description="Only cases routed to this team")] = None,
    owner: Annotated[Name | None, Query(description="Only cases of this case owner (staff ID)")] = None,
    overdue: Annotated[bool, Query(description="Only open cases with a task past due")] = False,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    cursor: Annotated[str | None, Query(max_length=400, description="next_cursor of the page before")] = None,
) -> CasePage:
    allow(who, Action.LIST_CASES)
    after = _after(cursor)
    async with svc.pool.acquire() as conn:
        rows = await read_model.visible_cases(conn, cases_of(who), stage=stage.value if stage else None, team=team,
                                              owner=owner, overdue=overdue, after=after, limit=limit + 1)
    more = len(rows) > limit
    rows = rows[:limit]
    return CasePage(cases=[CaseSummary(**_summary(r)) for r in rows],
                    next_cursor=_cursor(rows[-1]) if more and rows else None)


@router.get("/cases/{case_id}", response_model=CaseDetail, summary="One case (no personal data)",
            responses=problem_responses(401, 403, 404, 422, 503))
async def one_case(case_id: CaseId, who: Who, svc: Svc) -> CaseDetail:
    if who.is_system and SCOPES[Action.SEE_CASE] not in who.scopes:
        allow(who, Action.SEE_CASE, CaseRef(case_id=case_id))  # 403: the credential's scope, not this case
    async with svc.pool.acquire() as conn:
        found = await case_ref(conn, case_id)
        row = await read_model.visible_case(conn, cases_of(who), case_id) if found is not None else None
        # The policy too, besides the SQL scope: one rule, asked the one way.
        if row is None or found is None or not _sees(who, found):
            raise Problem(404, f"no case {case_id} that you may see", kind="no-such-case")
        tasks = await read_model.open_tasks_of(conn, case_id)
    return CaseDetail(**_summary(row), updated_at=row["updated_at"], closed_at=row["closed_at"], open_tasks=[
        OpenTask(task_id=t["id"], key=t["task_key"], kind=t["kind"], title=t["title"], team=t["team"],
                 assignee=t["assignee"], due_at=t["due_at"], overdue=bool(t["overdue"])) for t in tasks])


@router.get("/cases/{case_id}/decisions", response_model=DecisionPage,
            summary="The case's decisions in the order taken: rule, outcome, facts, sentence (no personal data)",
            responses=problem_responses(401, 403, 404, 422, 503))
async def case_decisions(case_id: CaseId, who: Who, svc: Svc,  # type: ignore[valid-type]
                         after: Annotated[int, Query(ge=0, le=2**63 - 1, description="Only decisions after this ID")] = 0,
                         limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT) -> DecisionPage:
    """Issue 20: why the case did what it did, from the CID (never from Temporal), for
    whoever may see the case; one the caller may not see is answered 404, as ``one_case``."""
    if who.is_system and SCOPES[Action.SEE_CASE] not in who.scopes:
        allow(who, Action.SEE_CASE, CaseRef(case_id=case_id))
    async with svc.pool.acquire() as conn:
        found = await case_ref(conn, case_id)
        if found is None or not _sees(who, found):
            raise Problem(404, f"no case {case_id} that you may see", kind="no-such-case")
        rows = await decisions.page(conn, after=after, limit=limit, case_id=case_id)
    return DecisionPage(decisions=[DecisionOut(**r) for r in rows], next_after=rows[-1]["id"] if rows else after)


@router.get("/cases/{case_id}/timeline", response_model=TimelinePage,
            summary="The case's audit rows and decisions in one list, oldest first, actor per row (no personal data)",
            responses=problem_responses(401, 403, 404, 422, 503))
async def case_timeline(case_id: CaseId, who: Who, svc: Svc,  # type: ignore[valid-type]
                        limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
                        cursor: Annotated[str | None, Query(max_length=400, description="next_cursor of the page before")] = None,
                        ) -> TimelinePage:
    """Issue 20: the case's trail from the CID (never Temporal), for whoever may see the case;
    one the caller may not see is answered 404, as ``one_case``."""
    if who.is_system and SCOPES[Action.SEE_CASE] not in who.scopes:
        allow(who, Action.SEE_CASE, CaseRef(case_id=case_id))
    after = cursors.decode(cursor, str, valid=lambda key: re.fullmatch(r"[ad]\d{20}", key) is not None)
    async with svc.pool.acquire() as conn:
        found = await case_ref(conn, case_id)
        if found is None or not _sees(who, found):
            raise Problem(404, f"no case {case_id} that you may see", kind="no-such-case")
        rows = await case_trail.entries(conn, case_id, after=after, limit=limit + 1)
    more = len(rows) > limit
    rows = rows[:limit]
    return TimelinePage(entries=[TimelineEntry(**r) for r in rows],
                        next_cursor=cursors.encode(*case_trail.key(rows[-1])) if more and rows else None)


def _sees(who: Who, case: CaseRef) -> bool:
    return bool(decide(who, Action.SEE_CASE, case))


@router.post("/cases/{case_id}/personal-data", response_model=PersonalData,
             summary="The case's personal data, for a stated purpose; the read is recorded (R60)",
             responses=problem_responses(400, 401, 403, 404, 413, 422, 429, 503), openapi_extra=body_limit(4 * 1024))
async def personal_data(case_id: CaseId, body: PersonalDataRequest, who: Who, svc: Svc, request: Request,
                        response: Response) -> PersonalData:
    found = await case_ref(svc.pool, case_id)
    allow(who, Action.READ_PERSONAL_DATA, PersonalDataRead(case=found or CaseRef(case_id=case_id), purpose=body.purpose))
    reads = watch_of(request).personal_data_reads
    wait = reads.wait(who.subject)
    if wait:  # issue 25: a subject's reads of personal data are limited (CASEWORK_API_PERSONAL_DATA_READS_PER_MINUTE)
        raise Problem(429, f"R60: more than {reads.limit} reads of personal data in a minute; wait {wait} s",
                      kind="too-many-requests", rule="R60", retry_after=wait,
                      refused=Refused(Action.READ_PERSONAL_DATA.value, f"personal data of {case_id}", "personal_data_limit"))
    reads.hit(who.subject)
    try:  # a case only submitted (not yet registered) has no personal data in the CID yet: 404 too
        data = await read_personal_data(svc.pool, case_id, who.subject, body.purpose.value, body.reason)
    except LookupError:
        raise Problem(404, f"the CID holds no registered case {case_id}", kind="no-such-case") from None
    response.headers["Cache-Control"] = "no-store"
    return PersonalData(**data)
