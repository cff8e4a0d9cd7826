"""/referrals (docs/api.md): ACRO referrals in, one case each (R01).

The same checks as ``casework submit`` (casework/referral.py, at the door with today's
date) and the same client (``CaseClient.submit``); the submitter recorded is the token's
subject. A batch is answered per referral: one refused referral refuses only itself.
"""

from __future__ import annotations

import asyncio
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Body, Response
from pydantic import ValidationError

from access.policy import Action
from api.door import StrictJsonRoute, body_limit
from api.auth import Who, allow
from api.problem_types import INVALID_REQUEST
from api.problems import FieldError, Problem, problem_responses
from api.schemas import BatchAnswer, BatchItem, Started
from api.services import Svc
from casework.referral import Referral, parse_referral
from casework.refusals import field_errors
from cid import intake
from workflows.client import SubmitResult, Submitted

router = APIRouter(tags=["referrals"], route_class=StrictJsonRoute)

#: The most referrals one batch may carry (as the CLI's one submission, starter/referral_files.py).
MAX_BATCH = 100
#: The most bytes one referral may take (200 convictions of long text), and one batch.
REFERRAL_BYTES = 512 * 1024
BATCH_BYTES = 4 * 1024 * 1024
#: Referrals of one batch submitted at once.
BATCH_CONCURRENCY = 16


def checked(data: Any, where: str = "body") -> Referral:
    """The referral at the door (R01): shape, countries, no date after today; a
    ``Problem`` (422) naming each field otherwise."""
    try:
        return parse_referral(data, date.today())
    except ValidationError as err:
        errors = [FieldError(field=f"{where}.{field}" if field != "(document)" else where, message=message)
                  for field, message in field_errors(err.errors())]
        detail = "; ".join(f"{e.field}: {e.message}" for e in errors[:5])
        raise Problem(422, detail, kind=INVALID_REQUEST, errors=errors) from None


def conflict(result: SubmitResult) -> Problem:
    return Problem(409, f"{result.reason}: nothing was started; a case has one referral (R01)", kind="referral-conflict",
                   rule="R01")


def answered(result: SubmitResult) -> Started:
    return Started(case_id=result.case_id, status=result.status.value, non_disclosable=result.non_disclosable)  # type: ignore[arg-type]


@router.post(
    "/referrals", status_code=201, response_model=Started, summary="Submit one referral (R01)",
    responses={200: {"model": Started, "description": "A case for this referral exists already (an identical repeat)"},
               201: {"description": "The case was started", "headers": {"Location": {"schema": {"type": "string"},
                                                                                    "description": "/cases/{case_id}"}}},
               **problem_responses(400, 401, 403, 409, 413, 422, 503)},
    openapi_extra=body_limit(REFERRAL_BYTES),
)
async def submit(referral: Referral, who: Who, svc: Svc, response: Response) -> Started:
    allow(who, Action.SUBMIT_REFERRAL)
    ready = checked(referral.model_dump(mode="json"))
    if await intake.hold_referral(svc.pool, ready, actor=who.subject) is intake.Held.CONFLICT:
        raise conflict(SubmitResult.conflicting(ready))
    result = await svc.cases.submit(ready, actor=who.subject)
    response.headers["Location"] = f"/cases/{result.case_id}"
    if result.status is Submitted.EXISTS:
        response.status_code = 200
    return answered(result)


@router.post(
    "/referrals/batch", response_model=BatchAnswer, summary=f"Submit up to {MAX_BATCH} referrals, answered per referral",
    responses=problem_responses(400, 401, 403, 413, 422, 503),
    openapi_extra={**body_limit(BATCH_BYTES), "requestBody": {"content": {"application/json": {"schema": {
        "type": "array", "minItems": 1, "maxItems": MAX_BATCH, "items": {"$ref": "#/components/schemas/Referral"}}}}}},
)
async def submit_batch(referrals: Annotated[list[Any], Body()], who: Who, svc: Svc) -> BatchAnswer:
    allow(who, Action.SUBMIT_REFERRAL)
    if len(referrals) > MAX_BATCH:
        raise Problem(413, f"{len(referrals)} referrals in one batch; at most {MAX_BATCH}: split them", kind="batch-too-large")
    if not referrals:
        raise Problem(422, "no referral in this batch (an empty list)", kind=INVALID_REQUEST,
                      errors=[FieldError(field="body", message="needs at least 1 item, none given")])
    items: list[BatchItem | None] = [None] * len(referrals)
    valid: dict[int, Referral] = {}
    for index, data in enumerate(referrals):
        try:
            valid[index] = checked(data, f"body.{index}")
        except Problem as problem:
            items[index] = BatchItem(index=index, status=422, result="refused", problem=problem.document)
    first: dict[str, int] = {}
    for index, referral in sorted(valid.items()):
        earlier = first.setdefault(referral.acro_reference, index)
        if earlier != index:  # as the CLI does: one submission names a reference once
            del valid[index]
            problem = Problem(422, f"ACRO reference {referral.acro_reference} appears more than once in this batch "
                                   f"(first at index {earlier}); nothing was submitted for this one", rule="R01",
                              kind=INVALID_REQUEST, errors=[FieldError(field=f"body.{index}.acro_reference",
                                                                          message="appears more than once in this batch")])
            items[index] = BatchItem(index=index, status=422, result="refused", problem=problem.document)
    limit = asyncio.Semaphore(BATCH_CONCURRENCY)

    async def one(index: int, referral: Referral) -> None:
        async with limit:
            held = await intake.hold_referral(svc.pool, referral, actor=who.subject)
            result = SubmitResult.conflicting(referral) if held is intake.Held.CONFLICT \
                else await svc.cases.submit(referral, actor=who.subject)
        if result.status is Submitted.CONFLICT:
            items[index] = BatchItem(index=index, status=409, result="refused", case_id=result.case_id,
                                     problem=conflict(result).document)
        else:
            items[index] = BatchItem(index=index, status=201 if result.status is Submitted.STARTED else 200,
                                     result=result.status.value, case_id=result.case_id,  # type: ignore[arg-type]
                                     non_disclosable=result.non_disclosable)

    await asyncio.gather(*(one(i, r) for i, r in valid.items()))
    done = [item for item in items if item is not None]
    assert len(done) == len(referrals)
    return BatchAnswer(results=done, started=sum(i.status == 201 for i in done),
                       already_existed=sum(i.status == 200 for i in done), refused=sum(i.result == "refused" for i in done))
