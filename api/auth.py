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

from access.policy import Action, Resource, decide
from access.principal import Principal
from access.tokens import IssuerUnavailable, TokenRefused
from api.problems import Problem

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
    started = time.perf_counter()
    try:
        return await verifier.verify_header_async(request.headers.get("authorization"))
    except IssuerUnavailable as err:
        raise Problem(503, err.reason, kind="issuer-unavailable", retry_after=ISSUER_RETRY_AFTER) from None
    except TokenRefused as err:
        raise Problem(401, err.reason, kind="token-refused", headers={"WWW-Authenticate": err.www_authenticate}) from None
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
        raise Problem(403, decision.reason, kind="not-allowed")
