"""Errors as RFC 9457 problem documents (``application/problem+json``).

Every refusal names the field or the rule (``rule``: R30, R61 ...) in the project's own
words, with the documented status; nothing else (no traceback, no stack, no personal
data) ever reaches a body.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.problem_types import INVALID_REQUEST, PAGE
from api.security_events import Refused, watch_of
from api.schemas import FieldError, ProblemDocument  # noqa: F401 - their home is api.schemas
from casework.refusals import Refusal, RefusalCode, field_errors

log = logging.getLogger(__name__)

MEDIA_TYPE = "application/problem+json"
#: Refusals recorded as security events (issue 25, item 4).
SECURITY_STATUSES = frozenset({401, 403, 429})
#: Problem types are relative URIs into the page the API serves (api/docs_pages.py), one
#: anchor per type of api/problem_types.py.
TYPE_BASE = f"{PAGE}#"

TITLES = {
    400: "Bad request",
    401: "Not authenticated",
    403: "Not allowed",
    404: "Not found",
    405: "Method not allowed",
    406: "Not acceptable",
    409: "Conflict",
    413: "Too large",
    415: "Unsupported media type",
    422: "Refused",
    429: "Too many requests",
    500: "Internal error",
    503: "Unavailable",
}


#: The one table from a refusal's code to its HTTP status (issue 20): a condition gets one
#: status wherever it is met, and a reworded refusal keeps it.
REFUSAL_STATUS: dict[RefusalCode, int] = {
    RefusalCode.CASE_CLOSED: 409,
    RefusalCode.CASE_BUSY: 503,
    RefusalCode.OLDER_RELEASE: 409,
    RefusalCode.TASK_DONE: 409,
    RefusalCode.NO_OPEN_TASK: 409,
    RefusalCode.CASE_DORMANT: 422,
    RefusalCode.TASK_BEING_COMPLETED: 409,
    RefusalCode.NOT_PERMITTED: 403,
    RefusalCode.OUTCOME_REFUSED: 422,
    RefusalCode.DETAILS_REFUSED: 422,
    RefusalCode.CONVICTIONS_NOT_DISCLOSABLE: 422,
    RefusalCode.CONFLICTING_REPEAT: 409,
    RefusalCode.CERTIFICATE_REFUSED: 422,
    RefusalCode.INVALID_DELIVERY: 422,
    RefusalCode.REFUSED: 422,
}


class Problem(Exception):
    """Raise anywhere in a request to answer with a problem document."""

    def __init__(self, status: int, detail: str | None = None, *, kind: str | None = None, title: str | None = None,
                 rule: str | None = None, errors: list[FieldError] | None = None,
                 headers: dict[str, str] | None = None, retry_after: int | None = None,
                 refused: Refused | None = None) -> None:
        super().__init__(detail or title or TITLES.get(status, "Error"))
        self.status = status
        #: What a 401, 403 or 429 refused, for its security event (api/security_events.py).
        self.refused = refused
        self.document = ProblemDocument(
            type=f"{TYPE_BASE}{kind}" if kind else "about:blank",
            title=title or TITLES.get(status, "Error"), status=status, detail=detail, rule=rule, errors=errors,
        )
        self.headers = dict(headers or {})
        if retry_after is not None:
            self.headers["Retry-After"] = str(retry_after)

    @classmethod
    def refused(cls, refusal: Refusal, **kw: Any) -> "Problem":
        """A refusal of the case as a problem: its status from ``REFUSAL_STATUS``, its code
        as the problem's type and ``code``, its rule as ``rule``."""
        problem = cls(REFUSAL_STATUS[refusal.code], refusal.message, kind=refusal.code.value, rule=refusal.rule, **kw)
        problem.document.code = refusal.code
        return problem


def response(problem: Problem, request: Request | None = None) -> JSONResponse:
    document = problem.document
    if request is not None and document.instance is None:
        document = document.model_copy(update={"instance": request.url.path})
    return JSONResponse(document.model_dump(exclude_none=True), status_code=problem.status,
                        headers=problem.headers, media_type=MEDIA_TYPE)


#: For route declarations: ``responses=problem_responses(403, 404)``.
def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    return {status: {"model": ProblemDocument, "description": TITLES.get(status, "Problem"),
                     "content": {MEDIA_TYPE: {}}} for status in statuses}


def truthful(document: dict[str, Any]) -> dict[str, Any]:
    """The OpenAPI document as the app answers: FastAPI files a response ``model`` under
    application/json, but problems are served as application/problem+json only."""
    problem = {"schema": {"$ref": "#/components/schemas/ProblemDocument"}}
    for operations in document.get("paths", {}).values():
        for operation in operations.values():
            for status, answer in operation.get("responses", {}).items():
                content = answer.get("content", {})
                if MEDIA_TYPE in content and "application/json" in content:
                    content[MEDIA_TYPE] = content.pop("application/json")
                elif status == "422" and "HTTPValidationError" in str(content):  # FastAPI's own: ours is a problem
                    answer.update(description=TITLES[422], content={MEDIA_TYPE: problem})
    document.setdefault("components", {}).setdefault("schemas", {}).setdefault(
        "ProblemDocument", ProblemDocument.model_json_schema(ref_template="#/components/schemas/{model}"))
    return document


def install(app: FastAPI) -> None:
    """Every error the app can raise answers as a problem document, and the OpenAPI
    document says so."""
    plain_openapi = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = truthful(plain_openapi())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]

    @app.exception_handler(Problem)
    async def _problem(request: Request, exc: Problem) -> JSONResponse:
        if exc.status in SECURITY_STATUSES:
            route = request.scope.get("route")
            refused = exc.refused or Refused(f"{request.method} {getattr(route, 'path', request.url.path)}",
                                             request.url.path, exc.document.type.rpartition("#")[2] or str(exc.status))
            await watch_of(request).record(request, exc.status, refused, exc.document.detail or exc.document.title)
        return response(exc, request)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [FieldError(field=where, message=message) for where, message in field_errors(exc.errors())]
        detail = "; ".join(f"{e.field}: {e.message}" for e in errors[:5]) or "the request is not valid"
        return response(Problem(422, detail, kind=INVALID_REQUEST, errors=errors), request)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        detail = exc.detail if isinstance(exc.detail, str) and exc.detail != TITLES.get(exc.status_code) else None
        # The door's refusals (api/door.py: a body too large, JSON not strict) name their type.
        kind = getattr(exc, "kind", None)
        errors = [FieldError(field="body", message=detail)] if exc.status_code == 400 and kind and detail else None
        return response(Problem(exc.status_code, detail, kind=kind, errors=errors, headers=dict(exc.headers or {})),
                        request)

    @app.exception_handler(Exception)
    async def _internal(request: Request, exc: Exception) -> JSONResponse:
        # The type only: an exception's text may carry a case's personal data.
        log.error("internal error on %s %s: %s", request.method, request.url.path, type(exc).__name__)
        return response(Problem(500, "something went wrong on our side; it has been logged", kind="internal"), request)
