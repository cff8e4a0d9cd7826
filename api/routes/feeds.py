"""/feeds (docs/api.md): each recipient system's outbound messages, which it reads and
acknowledges, so that the systems a case writes to can act on what it sends.

A message's body is what the case workflow wrote with it (workflows/case.py, through ``CaseRecord.message``):
fixed wording, dates of the Stage 1 window, task keys - never a name, a date of birth or a
conviction, which stay in the CID behind the R60 read. The feed passes the body on as it is
and adds the case ID and ACRO reference (no personal data) so the recipient knows the case.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, ConfigDict, Field

from access.policy import FEED_SLUGS, FEEDS_BY_CASE, Action, Feed
from access.principal import Principal
from api.door import StrictJsonRoute, body_limit
from api.auth import Who, allow
from api.problems import FieldError, Problem, problem_responses
from api.resources import cases_of
from api.schemas import FeedPage, Message
from api.services import Svc
from cid import feeds, read_model

router = APIRouter(tags=["feeds"], route_class=StrictJsonRoute)

Recipient = Annotated[str, Path(max_length=40, description=f"The feed: {', '.join(FEED_SLUGS)}")]
MAX_ACKNOWLEDGED = 500


class AcknowledgementIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    message_ids: list[Annotated[int, Field(ge=1, le=2**63 - 1)]] = Field(min_length=1, max_length=MAX_ACKNOWLEDGED)


class Acknowledged(BaseModel):
    message_id: int
    acknowledged_by: str
    acknowledged_at: datetime
    now: bool = Field(description="Acknowledged by this request (false: it was before; the first one stands)")


class AcknowledgementOut(BaseModel):
    recipient: str
    acknowledged: list[Acknowledged]


def _recipient(slug: str) -> str:
    name = FEED_SLUGS.get(slug)
    if name is None:
        raise Problem(404, f"no feed '{slug}'; the feeds are {', '.join(FEED_SLUGS)}", kind="no-such-feed")
    return name


def _visible(who: Principal, recipient: str) -> read_model.Visible:
    """A person's feeds (the notices the case owner serves, R41/R46) show only their
    cases; a system's feed is all of its own messages."""
    return cases_of(who) if recipient in FEEDS_BY_CASE else read_model.Visible(all_cases=True)


def _message(row: Any) -> Message:
    return Message(message_id=row["id"], case_id=row["case_id"], acro_reference=row["acro_reference"], form=row["form"],
                   body=row["body"] or {}, sent_at=row["sent_at"], acknowledged_by=row["acknowledged_by"],
                   acknowledged_at=row["acknowledged_at"])


@router.get("/feeds/{recipient}", response_model=FeedPage, summary="A recipient's outbound messages, oldest first",
            responses=problem_responses(401, 403, 404, 422))
async def read_feed(
    recipient: Recipient, who: Who, svc: Svc,
    after: int = Query(0, ge=0, le=2**63 - 1, description="Only messages after this message ID"),
    limit: int = Query(50, ge=1, le=200),
    include_acknowledged: bool = Query(False, description="Acknowledged messages too"),
) -> FeedPage:
    name = _recipient(recipient)
    allow(who, Action.READ_FEED, Feed(name))
    async with svc.pool.acquire() as conn:
        rows = await read_model.feed(conn, name, after=after, limit=limit + 1,
                                     include_acknowledged=include_acknowledged, visible=_visible(who, name))
    more = len(rows) > limit
    messages = [_message(r) for r in rows[:limit]]
    return FeedPage(recipient=recipient, messages=messages,
                    next_after=messages[-1].message_id if messages else after, more=more)


@router.post("/feeds/{recipient}/acknowledgements", response_model=AcknowledgementOut,
             summary="The recipient has acted on these messages",
             responses=problem_responses(400, 401, 403, 404, 413, 422), openapi_extra=body_limit(32 * 1024))
async def acknowledge(recipient: Recipient, body: AcknowledgementIn, who: Who, svc: Svc) -> AcknowledgementOut:
    name = _recipient(recipient)
    allow(who, Action.ACKNOWLEDGE_FEED, Feed(name))
    wanted = sorted(set(body.message_ids))
    async with svc.pool.acquire() as conn:
        async with conn.transaction():
            found = {r["id"]: r for r in await read_model.feed_entries(conn, wanted, _visible(who, name))
                     if r["recipient"] == name}
            foreign = [i for i in wanted if i not in found]
            if foreign:  # nothing is written unless every ID is this feed's
                shown = ", ".join(str(i) for i in foreign[:20]) + (" …" if len(foreign) > 20 else "")
                raise Problem(422, f"body.message_ids: not messages of the '{recipient}' feed you may read: {shown};"
                              " nothing was acknowledged", kind="not-this-feed",
                              errors=[FieldError(field="body.message_ids", message=f"not in the '{recipient}' feed: {shown}")])
            fresh = await feeds.acknowledge(conn, wanted, who.subject)
            rows = await read_model.feed_entries(conn, wanted, read_model.Visible(all_cases=True))
    return AcknowledgementOut(recipient=recipient, acknowledged=[
        Acknowledged(message_id=r["id"], acknowledged_by=r["acknowledged_by"], acknowledged_at=r["acknowledged_at"],
                     now=r["id"] in fresh) for r in rows])
