"""``GET /me``: who the bearer token is, as the API verified it, and what the policy lets
them do (access/abilities.py). ``casework whoami`` asks this rather than reading its own
token file, so it says what the API will do (issue 24 item 3)."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter
from pydantic import BaseModel, Field

from access.abilities import abilities
from api.auth import Who
from api.problems import problem_responses

router = APIRouter(tags=["me"])


class May(BaseModel):
    sees_cases: str = Field(description="Which cases (no personal data) you see")
    sends: list[str] = Field(description="Events you may send (referrals included), by action name")
    works_tasks: list[str] = Field(description="Task kinds your roles work, on tasks for your team or your cases")
    personal_data_purposes: list[str] = Field(description="R60: purposes you may state to read personal data")
    reads_feeds: list[str] = Field(description="Outbound message feeds you read, by recipient")
    other: list[str] = Field(description="Other rights, by action name (read_audit, decode_history)")


class Me(BaseModel):
    subject: str = Field(description="The actor recorded for everything you do")
    kind: str = Field(description="person, or system (client credentials)")
    roles: list[str]
    teams: list[str]
    scopes: list[str]
    issuer: str
    client_id: str | None
    expires_at: datetime | None = Field(description="When this access token expires")
    may: May


@router.get("/me", response_model=Me, summary="Who the token is and what the policy lets them do",
            responses=problem_responses(401, 503))
async def me(who: Who) -> Me:
    able = abilities(who)
    return Me(subject=who.subject, kind=who.kind.value, roles=sorted(who.roles), teams=sorted(who.teams),
              scopes=sorted(who.scopes), issuer=who.issuer, client_id=who.client_id, expires_at=who.expires_at,
              may=May(sees_cases=able.sees_cases, sends=list(able.sends), works_tasks=list(able.works_tasks),
                      personal_data_purposes=list(able.personal_data_purposes), reads_feeds=list(able.reads_feeds),
                      other=list(able.other)))
