"""Who is acting (a verified bearer token) and whether the policy allows it.

Every route takes ``Who`` and asks ``allow(who, Action..., resource)`` before it reads or
writes anything; a refusal is 403 with the policy's reason. The subject recorded as the
actor anywhere (audit, R60 log, tasks) is ``who.subject``.
"""

from __future__ import annotations

import time
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from access.policy import Action, Assignment, CaseRef, Feed, PersonalDataRead, Resource, TaskRef, decide
from access.principal import Principal
from access.tokens import IssuerUnavailable, TokenRefused
from api.problems import Problem
from api.security_events import Refused, client_address, watch_of

#: Declares the bearer scheme in the OpenAPI document; the check itself is ours (a missing
#: header is a 401 with the RFC 6750 challenge, not FastAPI's 403).
bearer = HTTPBearer(auto_error=False, description="An OAuth 2.0 access token (JWT) from the configured OpenID Connect issuer")

#: Seconds a caller waits before trying again when the issuer's keys cannot be fetched.
ISSUER_RETRY_AFTER = 5


async def authenticate(request: Request) -> Principal:
    """The verified principal of the request's bearer token; a ``Problem`` (401, or 503
    when the issuer's keys cannot be fetched) otherwise. Called at the door (api/door.py)
    before a body is read."""
    verifier = request.app.state.services.verifier
    watch, address = watch_of(request), client_address(request)
    wait = watch.token_failures.wait(address)
    if wait:  # issue 25: an address that keeps sending bad tokens is not verified for a while
        raise Problem(429, f"too many refused tokens from your address in a minute; wait {wait} s", kind="too-many-requests",
                      retry_after=wait, refused=Refused("authenticate", request.url.path, "token_failures_limit", stored=False))
    started = time.perf_counter()
    try:
        return await verifier.verify_header_async(request.headers.get("authorization"))
    except IssuerUnavailable as err:
        raise Problem(503, err.reason, kind="issuer-unavailable", retry_after=ISSUER_RETRY_AFTER) from None
    except TokenRefused as err:
        if err.code != "missing":  # a request without a token is no failed attempt at one
            watch.token_failures.hit(address)
        raise Problem(401, err.reason, kind="token-refused", headers={"WWW-Authenticate": err.www_authenticate},
                      refused=Refused("authenticate", request.url.path, err.code)) from None
    finally:
        # How long the token took (api/routes/tasks.py reports it in Server-Timing).
        request.state.token_seconds = time.perf_counter() - started


async def principal(
    request: Request,
    _: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Principal:
    verified = getattr(request.state, "principal", None)
    if isinstance(verified, Principal):  # verified at the door, before the body was read
        return verified
    return await authenticate(request)


Who = Annotated[Principal, Depends(principal)]


def allow(who: Principal, action: Action, resource: Resource = None) -> None:
    """Ask the policy; 403 with its reason when it refuses (before anything is written)."""
    decision = decide(who, action, resource)
    if not decision:
        raise Problem(403, decision.reason, kind="not-allowed", refused=Refused(action.value, resource_label(resource), "policy"))


def resource_label(resource: Resource) -> str:
    """A resource as a security event names it: IDs only, never personal data."""
    if isinstance(resource, CaseRef):
        return f"case {resource.case_id}"
    if isinstance(resource, TaskRef):
        return f"task {resource.key} of {resource.case.case_id}"
    if isinstance(resource, Assignment):
        return f"task {resource.task.key} of {resource.task.case.case_id} to {resource.to.subject}"
    if isinstance(resource, PersonalDataRead):
        return f"personal data of {resource.case.case_id} for {resource.purpose.value}"
    if isinstance(resource, Feed):
        return f"feed {resource.recipient}"
    return "-"
