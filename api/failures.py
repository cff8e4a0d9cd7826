"""What a dependency's failure looks like to a caller: 503 with Retry-After, one line.

Temporal or the CID not answering is no fault of the request; the caller may send again
(every write here is idempotent by its key: a referral by its ACRO reference, an event by
its kind and ID). Anything else unexpected stays the app's 500 (api/problems.py).
"""

from __future__ import annotations

import logging

import asyncpg
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from temporalio.client import WorkflowUpdateRPCTimeoutOrCancelledError
from temporalio.service import RPCError, RPCStatusCode

from api.problems import Problem, response

log = logging.getLogger(__name__)

#: Seconds a caller waits before sending again when Temporal or the CID is down.
RETRY_AFTER = 5
_UNAVAILABLE = (RPCStatusCode.UNAVAILABLE, RPCStatusCode.DEADLINE_EXCEEDED, RPCStatusCode.RESOURCE_EXHAUSTED,
                RPCStatusCode.CANCELLED)


def unavailable(what: str) -> Problem:
    return Problem(503, f"{what} is not answering; nothing was refused: send again later", kind="unavailable",
                   retry_after=RETRY_AFTER)


def install(app: FastAPI) -> None:
    @app.exception_handler(RPCError)
    async def _temporal(request: Request, exc: RPCError) -> JSONResponse:
        if exc.status in _UNAVAILABLE:
            return response(unavailable("Temporal"), request)
        log.error("Temporal refused %s %s: %s", request.method, request.url.path, exc.status.name if exc.status else "?")
        return response(Problem(500, "something went wrong on our side; it has been logged", kind="internal"), request)

    @app.exception_handler(WorkflowUpdateRPCTimeoutOrCancelledError)
    async def _no_answer(request: Request, exc: WorkflowUpdateRPCTimeoutOrCancelledError) -> JSONResponse:
        problem = Problem(503, "the case did not answer in time (is a worker running?); nothing was refused: "
                          "send again (a repeat is answered 'already applied' if it was applied)",
                          kind="unavailable", retry_after=RETRY_AFTER)
        return response(problem, request)

    for kind in (asyncpg.PostgresConnectionError, asyncpg.InterfaceError, asyncpg.TooManyConnectionsError,
                 asyncpg.CannotConnectNowError, OSError):
        app.add_exception_handler(kind, _database)


async def _database(request: Request, exc: Exception) -> JSONResponse:
    log.warning("the CID is not answering on %s %s: %s", request.method, request.url.path, type(exc).__name__)
    return response(unavailable("the case database"), request)
