"""Exit statuses of the ``casework`` command (documented in docs/cli.md, "Exit statuses")."""

from __future__ import annotations

from enum import IntEnum

import click


class Exit(IntEnum):
    OK = 0
    FAILED = 1  # some items of a batch failed (the summary says which), or an internal error
    BAD_INPUT = 2  # a file, flag or field is wrong; nothing was changed (click's usage errors too)
    NOT_FOUND = 3  # no such case or task
    REFUSED = 4  # the process refused the action (validator), e.g. R30
    UNAVAILABLE = 5  # the API, Temporal or the database cannot be reached
    NOT_SIGNED_IN = 6  # no token, or the API refused it (401): run 'casework login'
    NOT_ALLOWED = 7  # the policy refuses this action to who is signed in (403); nothing was changed
    INTERRUPTED = 130  # Ctrl-C


class CliError(click.ClickException):
    """One readable line for the user, and the exit status that goes with it: a click
    exception, so click ends the command with it as it ends a usage error."""

    def __init__(self, message: str, code: Exit) -> None:
        super().__init__(message)
        self.code = code
        self.exit_code = int(code)
