"""The door every request passes: who it is before its body is read, how large a body may
be, JSON read strictly, and the headers every answer carries (issue 25, items 1, 6, 10).

``StrictJsonRoute`` is every router's ``route_class``. For a route that takes a bearer
token (its handler depends on ``api.auth.principal``) the token is verified *before* the
body is read: an unauthenticated sender cannot make the API read (and hold) a body at
all. Then the route's body limit (declared with ``body_limit``; ``DEFAULT_BODY_LIMIT``
otherwise) is enforced before a byte is read when ``Content-Length`` says too much, and
while reading when it is absent or lies: 413 either way, nothing more read or written.
Then its JSON is read with ``casework.strict_json``: the one parsing path for bodies.

``Door`` is ASGI middleware, so pages added beside the routes get it too: the headers
every answer carries, and a ceiling on any body.

(FastAPI's own ``max_body_size`` is not used: it answers a declared oversize body with
plain text, replacing even a 401, and reads nothing about the token first.)
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.auth import authenticate, principal
from api.problems import Problem, response
from casework.strict_json import NotStrictJson, loads

#: The most bytes a body may have on a route that declares no limit of its own.
DEFAULT_BODY_LIMIT = 64 * 1024
#: The most any request may carry, whatever its route (the referral batch's limit).
MAX_BODY_LIMIT = 4 * 1024 * 1024
#: Where a route declares its own limit (``body_limit``), in bytes.
LIMIT_KEY = "x-body-limit"

#: A caller's request ID we keep (anything else is replaced by our own).
REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")
#: Headers on every answer: no content sniffing, and nothing about a case kept in a cache
#: (lists of cases and tasks, personal data) - an API answer is never for a shared cache.
HEADERS = [(b"x-content-type-options", b"nosniff"), (b"cache-control", b"no-store"),
           (b"referrer-policy", b"no-referrer")]


class BodyTooLarge(HTTPException):
    """Raised while reading: the body passed its route's limit (answered 413). An
    HTTPException, so that FastAPI's body reading passes it on as it is; ``kind`` is its
    problem type (api/problems.py)."""

    kind = "body-too-large"

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"the body is larger than this route takes ({limit:,} bytes at most); "
                              "nothing was read further or written")
        self.limit = limit


class BadJson(HTTPException):
    """Raised while parsing: not strict JSON (answered 400, naming the key or the limit)."""

    kind = "bad-json"

    def __init__(self, refused: NotStrictJson) -> None:
        super().__init__(400, f"body: {refused.reason}; nothing was written")
        self.key = refused.key


class StrictRequest(Request):
    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            try:
                self._json = loads(await self.body())
            except NotStrictJson as refused:
                raise BadJson(refused) from None
        return self._json


def body_limit(limit: int) -> dict[str, Any]:
    """A route's body limit, declared with it: ``@router.post(..., openapi_extra=body_limit(n))``
    (published in the OpenAPI document as ``x-body-limit``, bytes)."""
    return {LIMIT_KEY: limit}


def limit_of(route: APIRoute) -> int:
    return int((route.openapi_extra or {}).get(LIMIT_KEY, DEFAULT_BODY_LIMIT))


def takes_token(route: APIRoute) -> bool:
    """Whether the route's handler depends on the bearer token (``api.auth.principal``)."""

    def depends(dependant: Any) -> bool:
        return any(d.call is principal or depends(d) for d in dependant.dependencies)

    return depends(route.dependant)


class StrictJsonRoute(APIRoute):
    """FastAPI's route, behind the door: the token verified, then the body's size checked
    (before reading when ``Content-Length`` says too much, while reading otherwise), then
    its JSON read with ``casework.strict_json``."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        token = takes_token(self)
        limit = limit_of(self)

        async def at_the_door(request: Request) -> Response:
            if token:
                request.state.principal = await authenticate(request)
            declared = _content_length(request.scope)
            if declared is not None and declared > limit:
                raise Problem(413, BodyTooLarge(limit).detail, kind="body-too-large")
            return await handler(StrictRequest(request.scope, _within(request.receive, limit)))

        return at_the_door


def _within(receive: Receive, limit: int) -> Receive:
    """``receive``, refusing a body once it passes ``limit`` bytes (a missing or lying
    ``Content-Length`` changes nothing: the bytes are counted as they come)."""
    read = 0

    async def receive_within_limit() -> Message:
        nonlocal read
        message = await receive()
        if message["type"] == "http.request":
            read += len(message.get("body", b""))
            if read > limit:
                raise BodyTooLarge(limit)
        return message

    return receive_within_limit


class Door:
    """Every answer's headers, and a ceiling on any body (``MAX_BODY_LIMIT``) for whatever
    route is not a ``StrictJsonRoute``."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        # The request's ID: the caller's X-Request-ID when it is a plain token, else a new one;
        # said back, and kept with any security event of the request (api/security_events.py).
        given = Headers(scope=scope).get("x-request-id")
        request_id = given if given and REQUEST_ID.fullmatch(given) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        headers = [*HEADERS, (b"x-request-id", request_id.encode())]

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                message["headers"] = list(message.get("headers", [])) + [h for h in headers if h[0] not in present]
            await send(message)

        declared = _content_length(scope)
        if declared is not None and declared > MAX_BODY_LIMIT:
            problem = Problem(413, BodyTooLarge(MAX_BODY_LIMIT).detail, kind="body-too-large")
            await response(problem, Request(scope))(scope, receive, send_with_headers)
            return
        await self.app(scope, _within(receive, MAX_BODY_LIMIT), send_with_headers)


def _content_length(scope: Scope) -> int | None:
    value = Headers(scope=scope).get("content-length")
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None
