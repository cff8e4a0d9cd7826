"""/cases/{case_id}/events/{kind} (docs/api.md): messages from other systems and people.

Each goes to its case as the ``deliver_event`` update (``CaseClient.deliver_event``) and
the answer is the case's own receipt: applied, already applied (an identical repeat),
or refused - a conflicting repeat (409) or a refusal by the case (422, naming the rule
when the case names one). The sender recorded is the token's subject; a certificate is
held in the CID first (``cid.intake.hold_certificate``) and the case given its ID.

A sender of many messages may ask ``Prefer: respond-async`` (RFC 7240): after the same
checks the message is signalled (``CaseClient.send_event``: durable once Temporal accepted
it; the case applies it in order, once per kind and event ID) and answered 202 with a
``Location`` where what the case did is read back (``GET .../events/{kind}/{event_id}``,
from the case's audit row). Certificates are always answered synchronously: they are held
in the CID first, and their refusals (a conviction before the date of birth) matter.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Header, Path, Request, Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model
from temporalio.client import WorkflowUpdateFailedError
from temporalio.service import RPCError, RPCStatusCode

from access.policy import Action, CaseRef
from api.door import StrictJsonRoute, body_limit
from api.failures import transient
from api.auth import Who, allow
from api.problem_types import INVALID_REQUEST
from api.problems import FieldError, Problem, problem_responses
from api.schemas import Receipt
from api.security_events import Refused, watch_of
from api.resources import CaseId, as_case_ref
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
    kind_of,
)
from casework.referral import Certificate, parse_certificate
from casework.refusals import Refusal, RefusalCode, field_errors, of_error
from cid import intake, read_model
from casework.rules import non_disclosable_reason

router = APIRouter(tags=["events"], route_class=StrictJsonRoute)



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


_ANSWERS = {
    200: {"model": Receipt, "description": "Applied, or already applied (an identical repeat)"},
    202: {"model": Receipt, "description": "Sent (asked with 'Prefer: respond-async', or to a case of an older release): "
                                           "the case applies it in order; read what it did at Location"},
    **problem_responses(400, 401, 403, 404, 409, 413, 422, 429, 503),
}
#: The most bytes a message may take; a certificate carries convictions (as a referral).
MESSAGE_BYTES = 16 * 1024
CERTIFICATE_BYTES = 512 * 1024
_ACTIONS = {
    EventKind.LOCATED: Action.SEND_LOCATED, EventKind.LEFT_UK: Action.SEND_LEFT_UK,
    EventKind.CERTIFICATE: Action.SEND_CERTIFICATE, EventKind.REPRESENTATIONS: Action.SEND_REPRESENTATIONS,
}


async def _allowed_case(svc: Svc, who: Who, kind: EventKind, case_id: str) -> read_model.CaseAccess:
    """The policy first, then existence: a caller who may not send on a case it cannot see
    hears 403 whether or not the case exists (asked of a bare ref when there is none)."""
    found = await read_model.case_ref(svc.pool, case_id)
    allow(who, _ACTIONS[kind], as_case_ref(found) if found is not None else CaseRef(case_id=case_id))
    if found is None:
        raise Problem(404, f"no case {case_id}", kind="no-such-case")
    return found


def _closed(case_id: str) -> Problem:
    """A closed case: one status for every route (``REFUSAL_STATUS``)."""
    return Problem.refused(Refusal(RefusalCode.CASE_CLOSED, f"case {case_id} is closed"))


def _refuse_closed(case: read_model.CaseAccess) -> None:
    if case.status == "closed":
        raise _closed(case.case_id)


def respond_async(prefer: str | None) -> bool:
    """RFC 7240: whether ``Prefer`` asks ``respond-async`` (among others, any case, with or
    without parameters)."""
    if not prefer:
        return False
    return any(part.split(";")[0].split("=")[0].strip().lower() == "respond-async" for part in prefer.split(","))


#: The request header of RFC 7240 (documented in the OpenAPI document on each event route).
Prefer = Annotated[str | None, Header(description="'respond-async': answered 202 once sent; read the outcome at Location "
                                                  "(not for certificates, always answered with the case's receipt)")]
#: Seconds a reader of a message not yet applied waits before asking again.
APPLIED_RETRY_AFTER = 1


def _door(model: type[Event], data: dict[str, Any]) -> Event:
    """The event as checked at the door (casework/case.py's ``AT_THE_DOOR`` rules)."""
    try:
        return model.model_validate(data, context=AT_THE_DOOR)
    except ValidationError as err:
        errors = [FieldError(field=f"body.{f}" if f != "(document)" else "body", message=m)
                  for f, m in field_errors(err.errors())]
        detail = "; ".join(f"{e.field}: {e.message}" for e in errors[:5])
        raise Problem(422, detail, kind=INVALID_REQUEST, errors=errors) from None


async def _deliver(svc: Svc, case_id: str, event: Event, response: Response, judged: str | None = None) -> Receipt:
    try:
        receipt: EventReceipt = await svc.cases.deliver_event(case_id, event)  # type: ignore[arg-type]
    except WorkflowUpdateFailedError as err:
        busy = transient(err, case_id)  # continuing as new: 503, never a refusal (issue 25, item 2)
        if busy is not None:
            raise busy from None
        refusal = of_error(err.cause) or Refusal(RefusalCode.REFUSED, " ".join(str(err.cause or err).split()))
        raise Problem.refused(refusal) from None
    except RPCError as err:
        if err.status is RPCStatusCode.NOT_FOUND:
            if "completed" in err.message or "closed" in err.message:
                raise _closed(case_id) from None
            raise Problem(404, f"no case {case_id} is running", kind="no-such-case") from None
        raise transient(err, case_id) or err from None
    if receipt.result is EventResult.REFUSED:
        raise Problem.refused(Refusal(receipt.code or RefusalCode.REFUSED, receipt.detail, receipt.rule))
    if receipt.result is EventResult.SENT:
        response.status_code = 202
    return Receipt(case_id=case_id, kind=receipt.kind, event_id=receipt.event_id, result=receipt.result,
                   detail=receipt.detail, stage=receipt.stage, non_disclosable=judged)


def _applied_path(case_id: str, kind: EventKind, event_id: str) -> str:
    return f"/cases/{case_id}/events/{kind.value}/{quote(event_id, safe='')}"


async def _signal(svc: Svc, case_id: str, event: Event, response: Response) -> Receipt:
    """Fire and forget, once the checks passed: durable when Temporal accepted the signal."""
    kind = kind_of(event)
    try:
        await svc.cases.send_event(case_id, event)  # type: ignore[arg-type]
    except RPCError as err:
        if err.status is RPCStatusCode.NOT_FOUND:  # closed between the CID's read and the signal
            raise _closed(case_id) from None
        raise transient(err, case_id) or err from None
    response.status_code = 202
    response.headers["Preference-Applied"] = "respond-async"
    response.headers["Location"] = _applied_path(case_id, kind, event.event_id)
    return Receipt(case_id=case_id, kind=kind, event_id=event.event_id, result=EventResult.SENT,
                   detail=f"{kind.value} event {event.event_id} accepted: the case applies it in order, once; "
                          "read what it did at Location", stage=None)


def _admit(request: Request, who: Who, kind: EventKind, case_id: str) -> None:
    """Issue 25 item 9: a burst is refused at the door, before it reaches the case - so many
    messages to one case in a minute (from all senders), so many from one sender (to all
    cases); beyond, 429 saying which limit and when to send again, and nothing is sent."""
    watch = watch_of(request)
    for window, key, what in ((watch.case_messages, case_id, f"case {case_id} has been sent"),
                              (watch.sender_messages, who.subject, "you have sent")):
        wait = window.wait(key)
        if wait:
            raise Problem(429, f"{what} {window.limit} messages in the last minute, as many as the API takes: "
                               f"this {kind.value} event was not sent; send it again in {wait} s",
                          kind="too-many-requests", retry_after=wait,
                          refused=Refused(_ACTIONS[kind].value, case_id, "message_limit", stored=False))
    watch.case_messages.hit(case_id)
    watch.sender_messages.hit(who.subject)


async def _send(svc: Svc, who: Who, kind: EventKind, case_id: str, model: type[Event], fields: dict[str, Any],
                response: Response, prefer: str | None, request: Request) -> Receipt:
    case = await _allowed_case(svc, who, kind, case_id)
    event = _door(model, {**fields, "actor": who.subject})
    _refuse_closed(case)
    _admit(request, who, kind, case_id)
    if respond_async(prefer):
        return await _signal(svc, case_id, event, response)
    return await _deliver(svc, case_id, event, response)


@router.post("/cases/{case_id}/events/located", response_model=Receipt, responses=_ANSWERS,
             openapi_extra=body_limit(MESSAGE_BYTES),
             summary="The person has been found (R16 -> R20)")
async def located(case_id: CaseId, body: LocatedBody, who: Who, svc: Svc, response: Response,  # type: ignore[valid-type]
                  request: Request, prefer: Prefer = None) -> Receipt:  # type: ignore[valid-type]
    return await _send(svc, who, EventKind.LOCATED, case_id, PersonLocated, body.model_dump(), response, prefer, request)  # type: ignore[attr-defined]


@router.post("/cases/{case_id}/events/left-uk", response_model=Receipt, responses=_ANSWERS,
             openapi_extra=body_limit(MESSAGE_BYTES),
             summary="The person has left the UK (R10/R11)")
async def left_uk(case_id: CaseId, body: LeftUkBody, who: Who, svc: Svc, response: Response,  # type: ignore[valid-type]
                  request: Request, prefer: Prefer = None) -> Receipt:  # type: ignore[valid-type]
    return await _send(svc, who, EventKind.LEFT_UK, case_id, LeftUk, body.model_dump(), response, prefer, request)  # type: ignore[attr-defined]


@router.post("/cases/{case_id}/events/representations", response_model=Receipt, responses=_ANSWERS,
             openapi_extra=body_limit(MESSAGE_BYTES),
             summary="Representations against the Stage 1 notice (R43)")
async def representations(case_id: CaseId, body: RepresentationsBody, who: Who, svc: Svc,  # type: ignore[valid-type]
                          response: Response, request: Request, prefer: Prefer = None) -> Receipt:
    return await _send(svc, who, EventKind.REPRESENTATIONS, case_id, RepresentationsReceived,
                       body.model_dump(), response, prefer, request)  # type: ignore[attr-defined]


@router.post("/cases/{case_id}/events/certificate", response_model=Receipt, responses=_ANSWERS,
             openapi_extra=body_limit(CERTIFICATE_BYTES),
             summary="A new ACRO certificate (R03 -> R04): held in the CID, then given to the case")
async def certificate(case_id: CaseId, body: CertificateBody, who: Who, svc: Svc, response: Response,  # type: ignore[valid-type]
                      request: Request) -> Receipt:
    case = await _allowed_case(svc, who, EventKind.CERTIFICATE, case_id)
    event_id: str = body.event_id  # type: ignore[attr-defined]
    try:
        cert = parse_certificate(body.certificate.model_dump(mode="json"), date.today())  # type: ignore[attr-defined]
    except ValidationError as err:
        errors = [FieldError(field=f"body.certificate.{f}", message=m) for f, m in field_errors(err.errors())]
        raise Problem(422, "; ".join(f"{e.field}: {e.message}" for e in errors[:5]), kind=INVALID_REQUEST,
                      errors=errors) from None
    _refuse_closed(case)
    _admit(request, who, EventKind.CERTIFICATE, case_id)
    judged = non_disclosable_reason(cert)  # R02/R03: said before the case destroys it
    held = await intake.hold_certificate(svc.pool, case_id, cert, event_id=event_id, actor=who.subject)
    if held is None:
        raise Problem.refused(Refusal(RefusalCode.CONFLICTING_REPEAT, f"certificate event {event_id} was handed in "
                                      "before with a different certificate: refused; use a new event ID"))
    event = CertificateReceived(event_id=event_id, actor=who.subject, certificate_id=held)
    return await _deliver(svc, case_id, event, response, judged)



class MessageApplied(BaseModel):
    """What the case did with a message sent to it, as its record says."""

    case_id: str
    kind: EventKind
    event_id: str
    result: EventResult = Field(description="'applied'; 'refused' when it came after the case closed (recorded, "
                                            "it changed nothing)")
    action: str = Field(description="What the case recorded, e.g. 'person located'")
    applied_at: datetime
    detail: str


@router.get("/cases/{case_id}/events/{kind}/{event_id:path}", response_model=MessageApplied,
            responses=problem_responses(401, 403, 404, 422),
            summary="What the case did with a message sent asynchronously (404 with Retry-After until it applied it)")
async def applied(case_id: CaseId, kind: EventKind, event_id: Annotated[str, Path(min_length=1, max_length=128)],
                  who: Who, svc: Svc) -> MessageApplied:
    # Whoever may send such a message on the case may read back what became of it.
    await _allowed_case(svc, who, kind, case_id)
    record = await read_model.message_record(svc.pool, case_id, kind.value, event_id)
    if record is None:
        raise Problem(404, f"{kind.value} event {event_id} is not applied yet (or was never sent): ask again later",
                      kind="not-applied-yet", retry_after=APPLIED_RETRY_AFTER)
    if record.after_closing:
        result, detail = EventResult.REFUSED, "the case was closed: the message is recorded and changes nothing"
    else:
        result, detail = EventResult.APPLIED, f"{kind.value} event {event_id} applied: {record.action}"
    return MessageApplied(case_id=case_id, kind=kind, event_id=event_id, result=result, action=record.action,
                          applied_at=record.occurred_at, detail=detail)


@router.post("/cases/{case_id}/events/{kind}", include_in_schema=False)
async def unknown_kind(case_id: CaseId, kind: EventKind, who: Who) -> None:  # type: ignore[valid-type]
    """Every kind has its own route above; this one answers a kind that is not one (422
    naming ``path.kind``, as ``GET .../events/{kind}/{event_id}`` does) rather than the
    redirect and 405 that an unmatched POST got (issue 24 item 8)."""
    raise Problem(404, f"no route for {kind.value} events here", kind="no-such-case")
