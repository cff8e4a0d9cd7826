"""What a dependency's failure looks like to a caller: 503 with Retry-After, one line
saying what happened, in Temporal's words where Temporal said something.

Temporal or the CID not answering is no fault of the request; nor is a state of the case
that passes by itself (issue 25, item 2): the case continuing as new, too many updates in
flight on it (RESOURCE_EXHAUSTED), its workflow task failed and being retried. All are
503 with ``Retry-After`` - never 422, which says the case refused and sending again
cannot change that. The caller may send again: every write here is idempotent by its key
(a referral by its ACRO reference, an event by its kind and ID, a completion by its task).
Anything else unexpected stays the app's 500 (api/problems.py).
"""

from __future__ import annotations

import logging

import asyncpg
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from temporalio.client import WorkflowUpdateFailedError, WorkflowUpdateRPCTimeoutOrCancelledError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from api.problems import Problem, response
from casework.refusals import SEND_AGAIN
from workflows.continuing import CONTINUING_AS_NEW

log = logging.getLogger(__name__)

#: Seconds a caller waits before sending again when Temporal or the CID is down.
RETRY_AFTER = 5
#: Seconds before sending again to a case that is busy (continuing as new, updates in flight).
BUSY_RETRY_AFTER = 2
_UNAVAILABLE = (RPCStatusCode.UNAVAILABLE, RPCStatusCode.DEADLINE_EXCEEDED, RPCStatusCode.CANCELLED)
#: What sending again means for whoever reads a 503.
_AGAIN = "nothing was refused: send again (a repeat of what was applied changes nothing)"


def unavailable(what: str) -> Problem:
    return Problem(503, f"{what} is not answering; nothing was refused: send again later", kind="unavailable",
                   retry_after=RETRY_AFTER)


def _said(err: RPCError) -> str:
    """What Temporal said: its status and its message (about the workflow, never a payload)."""
    status = err.status.name if err.status else "UNKNOWN"
    words = " ".join(str(err.message or "").split())[:200]
    return f"{status}: {words}" if words else status


def transient(err: BaseException, case_id: str | None = None) -> Problem | None:
    """The 503 for a state of the case or of Temporal that passes by itself; None when
    ``err`` is a refusal (or something else) that sending again cannot change."""
    case = f"case {case_id}" if case_id else "the case"
    if isinstance(err, WorkflowUpdateFailedError):
        cause = err.cause
        if isinstance(cause, ApplicationError) and cause.type == CONTINUING_AS_NEW:
            return Problem(503, f"{case} is continuing as new (the case said: {cause.message}); {_AGAIN}",
                           kind="case-busy", retry_after=BUSY_RETRY_AFTER)
        return None
    if isinstance(err, WorkflowUpdateRPCTimeoutOrCancelledError):
        return Problem(503, f"{case} did not answer in time (is a worker running?); {_AGAIN}", kind="case-unavailable",
                       retry_after=RETRY_AFTER)
    if not isinstance(err, RPCError):
        return None
    if err.status is RPCStatusCode.RESOURCE_EXHAUSTED:
        return Problem(503, f"{case} has too many updates in flight (Temporal said {_said(err)}); {_AGAIN}",
                       kind="case-busy", retry_after=BUSY_RETRY_AFTER)
    if err.status is RPCStatusCode.FAILED_PRECONDITION and "workflow task" in (err.message or "").lower():
        # Temporal aborts updates waiting on a workflow task that failed; the server retries it.
        return Problem(503, f"{case}'s workflow task failed and is being retried (Temporal said {_said(err)}); {_AGAIN}",
                       kind="case-busy", retry_after=RETRY_AFTER)
    if err.status in _UNAVAILABLE:
        # DEADLINE_EXCEEDED too: Temporal did not take the request in time (an update that
        # it did take is answered 'already applied' when sent again).
        return Problem(503, f"Temporal is not answering (it said {_said(err)}); {_AGAIN}", kind="unavailable",
                       retry_after=RETRY_AFTER)
    return None


def install(app: FastAPI) -> None:
    @app.exception_handler(RPCError)
    async def _temporal(request: Request, exc: RPCError) -> JSONResponse:
        problem = transient(exc)
        if problem is not None:
            return response(problem, request)
        log.error("Temporal refused %s %s: %s", request.method, request.url.path, exc.status.name if exc.status else "?")
        return response(Problem(500, "something went wrong on our side; it has been logged", kind="internal"), request)

    @app.exception_handler(WorkflowUpdateRPCTimeoutOrCancelledError)
    async def _no_answer(request: Request, exc: WorkflowUpdateRPCTimeoutOrCancelledError) -> JSONResponse:
        return response(transient(exc) or unavailable("the case"), request)

    for kind in (asyncpg.PostgresConnectionError, asyncpg.InterfaceError, asyncpg.TooManyConnectionsError,
                 asyncpg.CannotConnectNowError, OSError):
        app.add_exception_handler(kind, _database)


async def _database(request: Request, exc: Exception) -> JSONResponse:
    log.warning("the CID is not answering on %s %s: %s", request.method, request.url.path, type(exc).__name__)
    return response(unavailable("the case database"), request)
