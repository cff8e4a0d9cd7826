"""Turning what Temporal and PostgreSQL raise into one readable line and an exit status,
for the operator commands that reach them directly (``stuck``, ``subject-check``).

The commands wrap their work in ``translated()``; anything it does not know is a bug and
is left to surface as one. Temporal and asyncpg are imported only when an error is being
classified, so the command line starts quickly.
"""

from __future__ import annotations

import contextlib
from typing import Iterator

from starter.exits import CliError, Exit


def _one_line(text: object) -> str:
    return " ".join(str(text).split())


def classify(err: BaseException) -> CliError | None:
    """The CliError for a known failure of Temporal or the CID; None for anything else."""
    import asyncpg
    from temporalio.service import RPCError

    if isinstance(err, RPCError):
        status = err.status.name if err.status else "error"
        return CliError(f"Temporal did not answer ({status}): {_one_line(err.message)}", Exit.UNAVAILABLE)
    if isinstance(err, asyncpg.UndefinedTableError):
        return CliError("the case database has no CID tables yet: start the worker (or 'casework up') once to create them",
                        Exit.UNAVAILABLE)
    if isinstance(err, (asyncpg.PostgresConnectionError, asyncpg.InterfaceError, OSError, TimeoutError)):
        return CliError(f"the case database cannot be reached: {_one_line(err)}", Exit.UNAVAILABLE)
    if isinstance(err, asyncpg.PostgresError):
        return CliError(f"the case database refused the request: {_one_line(err)}", Exit.UNAVAILABLE)
    return None


@contextlib.contextmanager
def translated() -> Iterator[None]:
    """Re-raise known Temporal/PostgreSQL failures as CliError (works around ``await``s)."""
    try:
        yield
    except CliError:
        raise
    except Exception as err:  # classified below; unknown errors re-raised as they are
        known = classify(err)
        if known is None:
            raise
        raise known from None
