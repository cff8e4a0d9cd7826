"""Turning what Temporal and PostgreSQL raise into one readable line and an exit status.

The commands wrap their work in ``translated()``; anything it does not know is a bug
and is left to surface as one. Temporal and asyncpg are imported only when an error
is being classified, so the command line starts quickly.
"""

from __future__ import annotations

import contextlib
from typing import Iterator

from starter.exits import CliError, Exit

#: How long a command waits for the case to answer an update (a worker must be running).
UPDATE_TIMEOUT_SECONDS = 30.0


def _one_line(text: object) -> str:
    return " ".join(str(text).split())


def closed_message(case_id: str) -> str:
    return f"case {case_id} is closed"


def classify(err: BaseException, *, case_id: str | None = None) -> CliError | None:
    """The CliError for a known failure of Temporal or the CID; None for anything else."""
    import asyncio

    import asyncpg
    from temporalio.client import WorkflowUpdateFailedError, WorkflowUpdateRPCTimeoutOrCancelledError
    from temporalio.service import RPCError, RPCStatusCode

    if isinstance(err, CliError):
        return err
    if isinstance(err, WorkflowUpdateFailedError):
        # The validator's (or handler's) own refusal: its code decides the exit status.
        from casework.refusals import Refusal, RefusalCode, of_error
        from starter.exits import EXIT_OF

        refusal = of_error(err.cause) or Refusal(RefusalCode.REFUSED, _one_line(err.cause or err))
        text = refusal.message if not refusal.rule or refusal.message.startswith(refusal.rule) \
            else f"{refusal.rule}: {refusal.message}"
        return CliError(text, EXIT_OF[refusal.code])
    if isinstance(err, (WorkflowUpdateRPCTimeoutOrCancelledError, asyncio.TimeoutError, TimeoutError)):
        return CliError(
            f"the case did not answer within {UPDATE_TIMEOUT_SECONDS:.0f} s: is a casework worker running"
            " on this task queue? (nothing was refused; check with 'casework tasks' before repeating)",
            Exit.UNAVAILABLE,
        )
    if isinstance(err, RPCError):
        if err.status is RPCStatusCode.NOT_FOUND:
            if "completed" in err.message or "closed" in err.message:
                return CliError(closed_message(case_id or "the case"), Exit.REFUSED)
            return CliError(f"no case {case_id}" if case_id else f"not found: {_one_line(err.message)}", Exit.NOT_FOUND)
        status = err.status.name if err.status else "error"
        return CliError(f"Temporal did not answer ({status}): {_one_line(err.message)}", Exit.UNAVAILABLE)
    if isinstance(err, asyncpg.UndefinedTableError):
        return CliError("the case database has no CID tables yet: start the worker (or 'casework up') once to create them",
                        Exit.UNAVAILABLE)
    if isinstance(err, (asyncpg.PostgresConnectionError, asyncpg.InterfaceError, OSError)):
        return CliError(f"the case database cannot be reached: {_one_line(err)}", Exit.UNAVAILABLE)
    if isinstance(err, asyncpg.PostgresError):
        return CliError(f"the case database refused the request: {_one_line(err)}", Exit.UNAVAILABLE)
    return None


@contextlib.contextmanager
def translated(*, case_id: str | None = None) -> Iterator[None]:
    """Re-raise known Temporal/PostgreSQL failures as CliError (works around ``await``s)."""
    try:
        yield
    except CliError:
        raise
    except Exception as err:  # classified below; unknown errors re-raised as they are
        known = classify(err, case_id=case_id)
        if known is None:
            raise
        raise known from None
