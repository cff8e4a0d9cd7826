"""The ``casework`` command: one entry point for caseworkers, operators and scripts.

Each command group lives in its own module and registers itself on ``app``. Errors are
one readable line on stderr with a documented exit status (``starter.exits``), never
a traceback.
"""

from __future__ import annotations

import sys

import typer
from rich.console import Console

from starter.exits import CliError, Exit

app = typer.Typer(
    name="casework",
    help="ACRO overseas-convictions casework: submit referrals, run the stack, drive cases.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
err_console = Console(stderr=True, highlight=False)


@app.callback()
def _root() -> None:
    """ACRO overseas-convictions casework."""


def _register() -> None:
    # Imported for their side effect of adding commands to ``app``.
    from starter import cases, events, ops, privacy, submit, tasks_cmd, up  # noqa: F401


def main() -> None:
    _register()
    try:
        # Without standalone mode click *returns* a typer.Exit's status rather than raising it.
        status = app(standalone_mode=False)
    except CliError as err:
        # soft_wrap: one line however narrow the stream (rich wraps at 80 off a terminal).
        err_console.print(f"casework: {err}", markup=False, soft_wrap=True)
        sys.exit(err.code)
    except (typer.Abort, KeyboardInterrupt):
        err_console.print("casework: interrupted", markup=False)
        sys.exit(130)
    except typer.Exit as done:
        sys.exit(done.exit_code)
    except Exception as err:  # click usage errors and the like
        import click

        if isinstance(err, click.ClickException):
            err.show()
            sys.exit(Exit.BAD_INPUT)
        raise
    if isinstance(status, int) and status:
        sys.exit(status)


if __name__ == "__main__":
    main()
