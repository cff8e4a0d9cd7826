"""/cases/{case_id}/events/{kind} (docs/api.md): messages from other systems and people.

Each goes to its case as the ``deliver_event`` update (``CaseClient.deliver_event``) and
the answer is the case's own receipt: applied, already applied (an identical repeat),
or refused - a conflicting repeat (409) or a refusal by the case (422, naming the rule
when the case names one). The sender recorded is the token's subject; a certificate is
held in the CID first (``CaseClient.hold_certificate``) and the case given its ID.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from fastapi import APIRouter, Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model
from temporalio.client import WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from access.policy import Action, CaseRef
from api.auth import Who, allow
from api.problems import FieldError, Problem, problem_responses
from api.resources import case_ref
from api.services import Svc
from casework.case import (
    AT_THE_DOOR,
    CertificateReceived,
    Event,
    EventKind,
    EventReceipt,
    EventResult,
    LeftUk,
    PersonLocated,
    RepresentationsReceived,
    Stage,
)
from casework.referral import Certificate, parse_certificate
from casework.refusals import field_errors
from casework.rules import non_disclosable_reason
from workflows.client import is_conflicting_repeat

router = APIRouter(tags=["events"])

_RULE = re.compile(r"\bR\d{2}\b")


def _body_of(event: type[Event], name: str, **extra: Any) -> type[BaseModel]:
    """The request body of an event: the event model's fields but the actor (the token's
    subject is the actor), plus ``extra``; one home for the fields (casework/case.py)."""
    fields: dict[str, Any] = {n: (f.annotation, f) for n, f in event.model_fields.items()
                              if n not in ("actor", "certificate_id")}
    return create_model(name, __config__=ConfigDict(extra="forbid"), __doc__=event.__doc__, **fields, **extra)


LocatedBody = _body_of(PersonLocated, "LocatedEvent")
LeftUkBody = _body_of(LeftUk, "LeftUkEvent")
RepresentationsBody = _body_of(RepresentationsReceived, "RepresentationsEvent")
CertificateBody = _body_of(CertificateReceived, "CertificateEvent",
                           certificate=(Certificate, Field(description="The ACRO certificate (R02/R03)")))


class Receipt(BaseModel):
    """What the case did with the message, as the case says."""

    case_id: str
    kind: EventKind
    event_id: str
    result: EventResult = Field(description="'applied'; 'already applied' (an identical repeat: nothing changed); "
                                            "'sent' (a case of an older release, which applies it in its own time)")
    detail: str
    stage: Stage
    non_disclosable: str | None = Field(None, description="A certificate judged non-disclosable (R02/R03): why")


_ANSWERS = {
    200: {"model": Receipt, "description": "Applied, or already applied (an identical repeat)"},
    202: {"model": Receipt, "description": "Sent to a case of an older release, which applies it in its own time"},
    **problem_responses(401, 403, 404, 409, 422, 503),
}
_ACTIONS = {
    EventKind.LOCATED: Action.SEND_LOCATED, EventKind.LEFT_UK: Action.SEND_LEFT_UK,
    EventKind.CERTIFICATE: Action.SEND_CERTIFICATE, EventKind.REPRESENTATIONS: Action.SEND_REPRESENTATIONS,
}


async def _allowed_case(svc: Svc, who: Who, kind: EventKind, case_id: str) -> CaseRef:
    """The policy first, then existence: a caller who may not send on a case it cannot see
    hears 403 whether or not the case exists (asked of a bare ref when there is none)."""
    found = await case_ref(svc.pool, case_id)
    allow(who, _ACTIONS[kind], found or CaseRef(case_id=case_id))
    if found is None:
        raise Problem(404, f"no case {case_id}", kind="no-such-case")
    return found


async def _closed(svc: Svc, case_id: str) -> bool:
    return await svc.pool.fetchval("SELECT status = 'closed' FROM cases WHERE id = $1", case_id) is True


def _door(model: type[Event], data: dict[str, Any]) -> Event:
    """The event as checked at the door (casework/case.py's ``AT_THE_DOOR`` rules)."""
    try:
        return model.model_validate(data, context=AT_THE_DOOR)
    except ValidationError as err:
        errors = [FieldError(field=f"body.{f}" if f != "(document)" else "body", message=m)
                  for f, m in field_errors(err.errors())]
        detail = "; ".join(f"{e.field}: {e.message}" for e in errors[:5])
        raise Problem(422, detail, kind="invalid-event", errors=errors, rule=_rule(detail)) from None


async def _deliver(svc: Svc, case_id: str, event: Event, response: Response, judged: str | None = None) -> Receipt:
    try:
        receipt: EventReceipt = await svc.cases.deliver_event(case_id, event)  # type: ignore[arg-type]
    except WorkflowUpdateFailedError as err:
        cause = err.cause
        message = getattr(cause, "message", None) or str(cause or err)
        closed = isinstance(cause, ApplicationError) and cause.type == "CaseClosed"
        raise Problem(422, message, kind="case-closed" if closed else "refused-by-case",
                      rule=_rule(message)) from None
    except RPCError as err:
        if err.status is RPCStatusCode.NOT_FOUND:
            if "completed" in err.message or "closed" in err.message:
                raise Problem(422, f"case {case_id} is closed", kind="case-closed") from None
            raise Problem(404, f"no case {case_id} is running", kind="no-such-case") from None
        raise
    if receipt.result is EventResult.REFUSED:
        if is_conflicting_repeat(receipt):
            raise Problem(409, receipt.detail, kind="conflicting-repeat")
        raise Problem(422, receipt.detail, kind="refused-by-case", rule=_rule(receipt.detail))
    if receipt.result is EventResult.SENT:
        response.status_code = 202
    return Receipt(case_id=case_id, kind=receipt.kind, event_id=receipt.event_id, result=receipt.result,
                   detail=receipt.detail, stage=receipt.stage, non_disclosable=judged)


def _rule(text: str) -> str | None:
    found = _RULE.search(text)
    return found.group(0) if found else None


async def _send(svc: Svc, who: Who, kind: EventKind, case_id: str, model: type[Event], fields: dict[str, Any],
                response: Response) -> Receipt:
    await _allowed_case(svc, who, kind, case_id)
    event = _door(model, {**fields, "actor": who.subject})
    if await _closed(svc, case_id):
        raise Problem(422, f"case {case_id} is closed", kind="case-closed")
    return await _deliver(svc, case_id, event, response)


@router.post("/cases/{case_id}/events/located", response_model=Receipt, responses=_ANSWERS,
             summary="The person has been found (R16 -> R20)")
async def located(case_id: str, body: LocatedBody, who: Who, svc: Svc, response: Response) -> Receipt:  # type: ignore[valid-type]
    return await _send(svc, who, EventKind.LOCATED, case_id, PersonLocated, body.model_dump(), response)  # type: ignore[attr-defined]


@router.post("/cases/{case_id}/events/left-uk", response_model=Receipt, responses=_ANSWERS,
             summary="The person has left the UK (R10/R11)")
async def left_uk(case_id: str, body: LeftUkBody, who: Who, svc: Svc, response: Response) -> Receipt:  # type: ignore[valid-type]
    return await _send(svc, who, EventKind.LEFT_UK, case_id, LeftUk, body.model_dump(), response)  # type: ignore[attr-defined]


@router.post("/cases/{case_id}/events/representations", response_model=Receipt, responses=_ANSWERS,
             summary="Representations against the Stage 1 notice (R43)")
async def representations(case_id: str, body: RepresentationsBody, who: Who, svc: Svc,  # type: ignore[valid-type]
                          response: Response) -> Receipt:
    return await _send(svc, who, EventKind.REPRESENTATIONS, case_id, RepresentationsReceived, body.model_dump(), response)  # type: ignore[attr-defined]


@router.post("/cases/{case_id}/events/certificate", response_model=Receipt, responses=_ANSWERS,
             summary="A new ACRO certificate (R03 -> R04): held in the CID, then given to the case")
async def certificate(case_id: str, body: CertificateBody, who: Who, svc: Svc, response: Response) -> Receipt:  # type: ignore[valid-type]
    await _allowed_case(svc, who, EventKind.CERTIFICATE, case_id)
    event_id: str = body.event_id  # type: ignore[attr-defined]
    try:
        cert = parse_certificate(body.certificate.model_dump(mode="json"), date.today())  # type: ignore[attr-defined]
    except ValidationError as err:
        errors = [FieldError(field=f"body.certificate.{f}", message=m) for f, m in field_errors(err.errors())]
        raise Problem(422, "; ".join(f"{e.field}: {e.message}" for e in errors[:5]), kind="invalid-certificate",
                      errors=errors) from None
    await _before_birth(svc, case_id, cert)
    if await _closed(svc, case_id):
        raise Problem(422, f"case {case_id} is closed", kind="case-closed")
    judged = non_disclosable_reason(cert)  # R02/R03: said before the case destroys it
    held = await svc.cases.hold_certificate(case_id, cert, event_id=event_id, actor=who.subject)
    if held is None:
        raise Problem(409, f"certificate event {event_id} was handed in before with a different certificate: "
                           "refused; use a new event ID", kind="conflicting-repeat")
    event = CertificateReceived(event_id=event_id, actor=who.subject, certificate_id=held)
    return await _deliver(svc, case_id, event, response, judged)


async def _before_birth(svc: Svc, case_id: str, cert: Certificate) -> None:
    """What cannot be true: a conviction before the referral's date of birth. Asked of the
    CID's definer function (migration 0008), which answers which conviction without
    giving the API the date of birth (personal data read only with R60's record)."""
    index = await svc.pool.fetchval("SELECT api_conviction_before_birth($1, $2::date[])", case_id,
                                    [c.conviction_date for c in cert.convictions])
    if index is not None:
        field = f"body.certificate.convictions.{index}.conviction_date"
        message = f"{cert.convictions[index].conviction_date.isoformat()} is before the subject's date of birth"
        raise Problem(422, f"{field}: {message}; nothing was sent", kind="invalid-certificate",
                      errors=[FieldError(field=field, message=message)])
