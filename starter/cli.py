"""The ``casework`` command: one entry point for caseworkers, operators and scripts.

Each command group lives in its own module and registers itself on ``app``. Errors are
one readable line on stderr with a documented exit status (``starter.exits``), never
a traceback.
"""

from __future__ import annotations

import sys

import typer
from rich.console import Console

from casework.config import SettingsError
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


#: Every module that adds commands to ``app``, in the order ``--help`` lists them.
COMMAND_MODULES = ("cases", "events", "ops", "privacy", "signin", "submit", "tasks_cmd", "up")
#: The module that defines each command. Running one imports only its module, so that
#: e.g. ``casework submit`` does not load the local stack and the codec server first (the
#: command starts in about half the time). A name not here - ``--help``, a typo, a
#: command added since - imports every module, as before.
MODULE_OF = {
    "cases": "cases", "show": "cases", "event": "events", "stuck": "ops", "codec-server": "privacy",
    "codec-key": "privacy", "retention": "privacy", "submit": "submit", "tasks": "tasks_cmd", "subject-check": "ops", "jobs": "ops",
    "complete": "tasks_cmd", "claim": "tasks_cmd", "unclaim": "tasks_cmd", "assign": "tasks_cmd", "up": "up",
    "login": "signin", "logout": "signin", "whoami": "signin",
}


def _register(args: list[str] | None = None) -> None:
    # Imported for their side effect of adding commands to ``app``.
    import importlib

    args = sys.argv[1:] if args is None else args
    command = next((a for a in args if not a.startswith("-")), None)  # the root takes no options
    for module in [MODULE_OF[command]] if command in MODULE_OF else COMMAND_MODULES:
        importlib.import_module(f"starter.{module}")


def main() -> None:
    _leave(_run())


def _run() -> int:
    """Run the command; return its exit status. Every failure is one line on stderr."""
    _register()
    try:
        # Without standalone mode click *returns* a typer.Exit's status rather than raising it.
        status = app(standalone_mode=False)
    except CliError as err:
        # soft_wrap: one line however narrow the stream (rich wraps at 80 off a terminal).
        err_console.print(f"casework: {err}", markup=False, soft_wrap=True)
        return int(err.code)
    except SettingsError as err:  # a variable with a bad value (casework.config): named in one line
        err_console.print(f"casework: {err}", markup=False, soft_wrap=True)
        return int(Exit.BAD_INPUT)
    except (typer.Abort, KeyboardInterrupt):
        err_console.print("casework: interrupted", markup=False)
        return 130
    except typer.Exit as done:
        return int(done.exit_code)
    except Exception as err:
        import click

        if isinstance(err, click.exceptions.NoArgsIsHelpError):  # bare `casework`: the help
            err.show()
            return int(Exit.BAD_INPUT)
        if isinstance(err, click.ClickException):  # usage errors: one line, as every other error
            ctx = getattr(err, "ctx", None)
            hint = f" (see '{ctx.command_path} --help')" if ctx is not None else ""
            err_console.print(f"casework: {err.format_message()}{hint}", markup=False, soft_wrap=True)
            return int(Exit.BAD_INPUT)
        return _internal_error(err)
    return status if isinstance(status, int) else 0


def _internal_error(err: Exception) -> int:
    """A bug of ours: one line for the user, the traceback in a file for us."""
    import tempfile
    import traceback

    with tempfile.NamedTemporaryFile("w", prefix="casework-error-", suffix=".log", delete=False) as log:
        traceback.print_exception(err, file=log)
    err_console.print(
        f"casework: internal error ({type(err).__name__}); please report it with {log.name}",
        markup=False, soft_wrap=True,
    )
    return int(Exit.FAILED)


def _leave(code: int) -> None:
    from casework.process import exit_without_finalizing

    exit_without_finalizing(code)


if __name__ == "__main__":
    main()
