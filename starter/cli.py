"""The ``casework`` command: one entry point for caseworkers, operators and scripts.

``COMMANDS`` is the one list of commands: each name, the function (or sub-app) that is
the command, and its help panel. Running a command imports only its module, so that e.g.
``casework submit`` does not load the local stack first (it starts in about half the
time); ``--help`` and anything unknown load them all. Errors are one readable line on
stderr with a documented exit status (``starter.exits``, docs/cli.md), never a traceback.
"""

from __future__ import annotations

import importlib
import sys
from typing import NamedTuple

import click
import typer

from casework.config import SettingsError
from starter.exits import Exit
from starter.output import err_console

CASEWORK = "Cases and tasks"
SIGN_IN = "Signing in"
OPERATORS = "Operators (direct access to Temporal and the database)"


class Command(NamedTuple):
    module: str
    attribute: str
    panel: str


#: Every command, in the order ``--help`` lists them in their panels.
COMMANDS: dict[str, Command] = {
    "submit": Command("submit", "submit", CASEWORK),
    "cases": Command("cases", "cases", CASEWORK),
    "show": Command("cases", "show", CASEWORK),
    "tasks": Command("tasks_cmd", "tasks", CASEWORK),
    "task": Command("tasks_cmd", "task", CASEWORK),
    "complete": Command("tasks_cmd", "complete", CASEWORK),
    "claim": Command("tasks_cmd", "claim", CASEWORK),
    "unclaim": Command("tasks_cmd", "unclaim", CASEWORK),
    "assign": Command("tasks_cmd", "assign", CASEWORK),
    "event": Command("events", "event_app", CASEWORK),
    "feed": Command("feeds", "feed", CASEWORK),
    "audit": Command("audit", "audit", CASEWORK),  # auditors (issue 20)
    "login": Command("signin", "login", SIGN_IN),
    "logout": Command("signin", "logout", SIGN_IN),
    "whoami": Command("signin", "whoami", SIGN_IN),
    "up": Command("up", "up", OPERATORS),
    "stuck": Command("ops", "stuck", OPERATORS),
    "subject-check": Command("ops", "subject_check", OPERATORS),
    "jobs": Command("ops", "jobs_command", OPERATORS),
    "retention": Command("privacy", "retention_app", OPERATORS),
    "codec-server": Command("privacy", "codec_server", OPERATORS),
    "codec-key": Command("privacy", "codec_key", OPERATORS),
}

app = typer.Typer(
    name="casework",
    help="ACRO overseas-convictions casework: submit referrals, run the stack, drive cases.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version(wanted: bool) -> None:
    if wanted:
        from importlib.metadata import version

        print(f"casework {version('acro-casework')}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version and exit."),
) -> None:
    """ACRO overseas-convictions casework."""


def _register(args: list[str]) -> None:
    if args[:1] == ["--version"]:
        return  # no command: nothing to load
    wanted = next((a for a in args if not a.startswith("-")), None)  # the root's only option is --version
    for name, command in COMMANDS.items() if wanted not in COMMANDS else [(wanted, COMMANDS[wanted])]:
        found = getattr(importlib.import_module(f"starter.{command.module}"), command.attribute)
        if isinstance(found, typer.Typer):
            app.add_typer(found, name=name, rich_help_panel=command.panel)
        else:
            app.command(name, rich_help_panel=command.panel)(found)


def main() -> None:
    from casework.process import exit_without_finalizing

    exit_without_finalizing(_run(sys.argv[1:]))


def _run(args: list[str]) -> int:
    """Run the command; return its exit status. Every failure is one line on stderr."""
    _register(args)
    try:
        # Not standalone: click's own ending prints a usage panel of several lines; the
        # contract is one line (docs/cli.md). An Exit's status is returned, not raised.
        status = app(args=args, standalone_mode=False)
    except click.exceptions.NoArgsIsHelpError as bare:  # bare `casework`: the help
        bare.show()
        return int(Exit.BAD_INPUT)
    except click.ClickException as err:  # ours (CliError) and click's usage errors alike
        ctx = getattr(err, "ctx", None)
        hint = f" (see '{ctx.command_path} --help')" if isinstance(err, click.UsageError) and ctx is not None else ""
        # soft_wrap: one line however narrow the stream (rich wraps at 80 off a terminal).
        err_console.print(f"casework: {err.format_message()}{hint}", markup=False, soft_wrap=True)
        return err.exit_code
    except SettingsError as err:  # a variable with a bad value (casework.config): named in one line
        err_console.print(f"casework: {err}", markup=False, soft_wrap=True)
        return int(Exit.BAD_INPUT)
    except (click.Abort, KeyboardInterrupt):
        err_console.print("casework: interrupted", markup=False)
        return int(Exit.INTERRUPTED)
    except Exception as err:  # a bug of ours
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


if __name__ == "__main__":
    main()
