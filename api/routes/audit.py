"""/audit (docs/api.md): what auditors read through the API - the security events, every
refused attempt (issue 25, item 4), gated by the policy's ``read_audit``."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from access.policy import Action
from api.auth import Who, allow
from api.door import StrictJsonRoute
from api.problems import problem_responses
from api.resources import CASE_ID_PATTERN
from api.schemas import DecisionOut, DecisionPage
from api.services import Svc
from cid import decisions, security_events

router = APIRouter(tags=["audit"], route_class=StrictJsonRoute)


class SecurityEventOut(BaseModel):
    """A refused attempt: no token, no body, no personal data."""

    id: int
    occurred_at: datetime
    request_id: str = Field(description="The request's X-Request-ID")
    status: int = Field(description="401, 403 or 429")
    subject: str | None = Field(description="Who, when the token was verified")
    action: str
    resource: str = Field(description="A case, a task, a feed, a path: IDs only")
    reason_code: str = Field(description="A token's refusal code, 'policy', 'refused_by_case', a limit's name")
    reason: str


class SecurityEventPage(BaseModel):
    events: list[SecurityEventOut]
    next_after: int = Field(description="Give as ``after`` to read on")


@router.get("/audit/security-events", response_model=SecurityEventPage, summary="Refused attempts, oldest first (auditors)",
            responses=problem_responses(401, 403, 422, 429))
async def read_security_events(
    who: Who, svc: Svc,
    after: Annotated[int, Query(ge=0, le=2**63 - 1, description="Only events after this ID")] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    subject: Annotated[str | None, Query(max_length=64, pattern=r"^[A-Za-z0-9._@:-]+$")] = None,
    since: Annotated[datetime | None, Query(description="Only events at or after this time")] = None,
) -> SecurityEventPage:
    allow(who, Action.READ_AUDIT)
    rows = await security_events.page(svc.pool, after=after, limit=limit, subject=subject, since=since)
    return SecurityEventPage(events=[SecurityEventOut(**r) for r in rows], next_after=rows[-1]["id"] if rows else after)


@router.get("/audit/decisions", response_model=DecisionPage,
            summary="Every case's decisions, oldest first, by case, rule, actor and time (auditors)",
            responses=problem_responses(401, 403, 422, 429))
async def read_decisions(
    who: Who, svc: Svc,
    after: Annotated[int, Query(ge=0, le=2**63 - 1, description="Only decisions after this ID")] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    case_id: Annotated[str | None, Query(pattern=CASE_ID_PATTERN)] = None,
    rule: Annotated[str | None, Query(pattern=r"^R\d{2}$", description="e.g. R42")] = None,
    actor: Annotated[str | None, Query(max_length=64, pattern=r"^[A-Za-z0-9._@:-]+$")] = None,
    since: Annotated[datetime | None, Query(description="Only decisions at or after this time")] = None,
) -> DecisionPage:
    """Issue 20: every decision under a rule, by one person, on one case; read from the CID."""
    allow(who, Action.READ_AUDIT)
    rows = await decisions.page(svc.pool, after=after, limit=limit, case_id=case_id, rule=rule, actor=actor, since=since)
    return DecisionPage(decisions=[DecisionOut(**r) for r in rows], next_after=rows[-1]["id"] if rows else after)
