"""How people name cases, stages and tasks on the command line, and how a case and a task
list look: shared by the commands. People's commands read through the API, never the CID."""

from __future__ import annotations

from enum import Enum

import typer
from rich.markup import escape

from api.schemas import CaseSummary
from casework.case import Stage, case_id_for
from casework.keys import WORKFLOW_ID_PREFIX
from starter.exits import CliError, Exit
from starter.output import Column, console, when, yes

#: The most rows one page of a listing has (the API's limit).
LIMIT_MAX = 200
CASE_ARGUMENT = typer.Argument(..., metavar="CASE", help="Case ID or ACRO reference.")
TASK_ARGUMENT = typer.Argument(..., metavar="TASK", help="Task ID from 'casework tasks', or CASE:KEY.")
JSON_OPTION = typer.Option(False, "--json", help="Print the API's answer as JSON.")
CSV_OPTION = typer.Option(False, "--csv", help="Print the listing as CSV (the API's field names).")


def _letters() -> dict[str, Stage]:
    """A letter names a stage when its part of the process has only that one (C-F)."""
    letters = [s.value[0] for s in Stage if s.value[1:2] == "-"]
    return {letter: next(s for s in Stage if s.value.startswith(letter + "-")) for letter in letters
            if letters.count(letter) == 1}


#: ``--stage``: a stage's value, or a letter that names one stage; typer checks it.
StageChoice = Enum("StageChoice", {**{s.name: s.value for s in Stage}, **{k: k for k in _letters()}}, type=str)


def one_stage(choice: StageChoice | None) -> str | None:
    if choice is None:
        return None
    return _letters()[choice.value].value if choice.value in _letters() else choice.value


def case_id_from(text: str) -> str:
    """A case as people name it: its case ID, or the ACRO reference it came from."""
    text = text.strip()
    if text.lower().startswith(WORKFLOW_ID_PREFIX):
        return WORKFLOW_ID_PREFIX + text[len(WORKFLOW_ID_PREFIX):].upper()
    if not text:
        raise CliError("which case? give its case ID or ACRO reference", Exit.BAD_INPUT)
    return case_id_for(text)


CASE_COLUMNS = (
    Column("case_id", "Case", id=True), Column("stage", "Stage"), Column("status", "Status"), Column("team", "Team"),
    Column("case_owner", "Owner"), Column("open_task_count", "Open tasks"), Column("overdue", "Overdue", yes),
    Column("next_due", "Next due (UTC)", when), Column("outcome", "Outcome"),
)
#: A task's key names its kind (``nbtc_check-1``): the table leaves the kind to --json and --csv.
TASK_COLUMNS = (
    Column("task_id", "Task", id=True), Column("case_id", "Case", id=True), Column("key", "Key", id=True),
    Column("title", "Title"), Column("team", "Team"), Column("assignee", "Assignee"),
    Column("due_at", "Due (UTC)", when), Column("overdue", "Overdue", yes),
)


def summarise(c: CaseSummary) -> None:
    """A case in a few lines, without personal data."""
    console.print(f"[bold]Case {escape(c.case_id)}[/bold] · stage {escape(c.stage)} · {escape(c.status)}")
    console.print(f"Team {c.team or '-'} · owner {c.case_owner or '-'} · overdue {yes(c.overdue) or 'no'}"
                  + (f" · next due {when(c.next_due)} UTC" if c.next_due else ""), markup=False)
    if c.outcome:
        console.print(("Outcome: " if c.status == "closed" else "Outcome so far: ") + c.outcome, markup=False)
    closed = getattr(c, "closed_at", None)
    console.print(f"Opened {when(c.opened_at)}" + (f" · closed {when(closed)}" if closed else ""), markup=False)
