"""Exit statuses of the ``casework`` command (documented in docs/cli.md, "Exit statuses")."""

from __future__ import annotations

from enum import IntEnum

import click

from casework.refusals import RefusalCode


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


#: The one table from a refusal's code (casework/refusals.py) to the exit status (issue 20):
#: a reworded refusal keeps its status.
EXIT_OF: dict[RefusalCode, Exit] = {
    RefusalCode.CASE_CLOSED: Exit.REFUSED,
    RefusalCode.CASE_BUSY: Exit.UNAVAILABLE,
    RefusalCode.OLDER_RELEASE: Exit.REFUSED,
    RefusalCode.TASK_DONE: Exit.REFUSED,
    RefusalCode.NO_OPEN_TASK: Exit.REFUSED,
    RefusalCode.CASE_DORMANT: Exit.REFUSED,
    RefusalCode.TASK_BEING_COMPLETED: Exit.REFUSED,
    RefusalCode.NOT_PERMITTED: Exit.NOT_ALLOWED,
    RefusalCode.OUTCOME_REFUSED: Exit.REFUSED,
    RefusalCode.DETAILS_REFUSED: Exit.REFUSED,
    RefusalCode.CONVICTIONS_NOT_DISCLOSABLE: Exit.REFUSED,
    RefusalCode.CONFLICTING_REPEAT: Exit.REFUSED,
    RefusalCode.CERTIFICATE_REFUSED: Exit.REFUSED,
    RefusalCode.INVALID_DELIVERY: Exit.BAD_INPUT,
    RefusalCode.REFUSED: Exit.REFUSED,
}


class CliError(click.ClickException):
    """One readable line for the user, and the exit status that goes with it: a click
    exception, so click ends the command with it as it ends a usage error."""

    def __init__(self, message: str, code: Exit) -> None:
        super().__init__(message)
        self.code = code
        self.exit_code = int(code)
