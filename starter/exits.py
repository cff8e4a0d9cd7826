"""Exit statuses of the ``casework`` command (documented in the README)."""

from __future__ import annotations

from enum import IntEnum


class Exit(IntEnum):
    OK = 0
    FAILED = 1  # some items of a batch failed (the summary says which)
    BAD_INPUT = 2  # a file, flag or field is wrong; nothing was changed
    NOT_FOUND = 3  # no such case or task
    REFUSED = 4  # the process refused the action (validator), e.g. R30
    UNAVAILABLE = 5  # Temporal or the database cannot be reached


class CliError(Exception):
    """One readable line for the user, and the exit status that goes with it."""

    def __init__(self, message: str, code: Exit) -> None:
        super().__init__(message)
        self.code = code
