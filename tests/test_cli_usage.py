"""The command line's own shape, with no stack behind it (issue 24 items 5 and 8; issue 19
item 5): every listing fits 80 and 120 columns with no word broken, under the API's field
names; help says what the checks check; --version; operators' commands in their own panel;
a batch's progress shows counts and the time left."""

from __future__ import annotations

import io
import re
from datetime import datetime, timedelta, timezone

import pytest
from rich.console import Console

from api import schemas
from starter import events, feeds, ops, submit
from starter.cli import COMMANDS, OPERATORS
from starter.output import Column, listing, progress
from starter.views import CASE_COLUMNS, TASK_COLUMNS
from tests.test_cli_errors import run_console_script

NOW = datetime(2026, 3, 1, 9, 30, tzinfo=timezone.utc)
TASK = schemas.TaskOut(
    task_id=123456, case_id="acro-case-16_123456A", key="offending_history_check-1", kind="offending_history_check",
    title="Check the full offending history is on the PNC or a usable ACRO certificate is held", team="CC EEA Team",
    assignee="cw.benedict", status="open", due_at=NOW, overdue=True, outcome=None, completed_by=None, completed_at=None,
    created_at=NOW, outcomes=["acro_certificate_held", "full_history_on_pnc", "not_available"])
CASE = schemas.CaseSummary(
    case_id="acro-case-16_123456A", stage="E-consideration", status="open", team="CC Non-EEA Team", case_owner="cw.benedict",
    outcome="deportation pursued", opened_at=NOW, next_due=NOW + timedelta(days=10), overdue=True, open_task_count=3)
STUCK = {"case_id": "acro-case-16_123456A", "stage": "C-located", "team": "CC EEA Team", "waiting_on": "allocate_case_owner",
         "stuck_since": NOW, "reasons": [{"code": "task_overdue", "text": "task allocate_case_owner overdue since "
                                                                         "2026-03-01 09:30 UTC (CC EEA Team)"}]}
LISTINGS = {
    "cases": (CASE_COLUMNS, [CASE.model_dump()] * 3),
    "tasks": (TASK_COLUMNS, [TASK.model_dump()] * 3),
    "event --from-csv": (events.RESULT_COLUMNS, [{"line": 12, "kind": "located", "case_id": CASE.case_id,
                                                 "event_id": "ice-2026-000123", "result": "refused",
                                                 "note": "R16: the person is located already (event ice-2026-000122)"}]),
    "submit": (submit.RESULT_COLUMNS, [schemas.BatchItem(index=7, status=409, result="refused", case_id=CASE.case_id,
                                                         problem=schemas.ProblemDocument(
                                                             title="Conflict", status=409, detail="16/123456A was "
                                                             "submitted before with other content: nothing was started"))
                                       .model_dump()]),
    "stuck": (ops.STUCK_COLUMNS, [STUCK]),
    "feed": (feeds.MESSAGE_COLUMNS, [schemas.Message(
        message_id=4711, case_id=CASE.case_id, acro_reference="16/123456A", form="stage1-notice",
        body={"respond_by": "2026-03-11T09:30:00+00:00", "task": "consideration_decision-1"}, sent_at=NOW,
        acknowledged_by=None, acknowledged_at=None).model_dump()]),
    "subject-check": (ops.SUBJECT_COLUMNS, [{"subject_id": "subject-0f3a9c2e", "case_ids": [CASE.case_id, "acro-case-17_2B"],
                                             "reasons": ["folded name 'li' is shorter than 3 letters"]}]),
}


def _words(columns: tuple[Column, ...], rows: list[dict]) -> set[str]:
    return {w for row in rows for c in columns for w in c.show(row.get(c.field)).split()}


@pytest.mark.parametrize("width", [80, 120])
@pytest.mark.parametrize("name", sorted(LISTINGS))
def test_every_listing_fits_the_terminal_with_no_word_broken(name: str, width: int) -> None:
    columns, rows = LISTINGS[name]
    out = io.StringIO()
    Console(file=out, width=width, color_system=None).print(listing(name, columns, rows, width=width))
    text = out.getvalue()
    assert max(len(line) for line in text.splitlines()) <= width, text
    for word in _words(columns, rows):
        assert word in text, (word, text)  # never broken into pieces (let alone single characters)
    # A line of a table whose cells hold one character each is what rich did at 80 columns before.
    assert not [line for line in text.splitlines() if re.fullmatch(r"[│ ]*(\S[│ ]+){3,}\S?[│ ]*", line)], text


def test_listings_are_a_table_when_they_fit_and_stacked_when_not() -> None:
    out = io.StringIO()
    Console(file=out, width=200, color_system=None).print(listing("Tasks", TASK_COLUMNS, [TASK.model_dump()], width=200))
    assert "│" in out.getvalue()
    out = io.StringIO()
    Console(file=out, width=80, color_system=None).print(listing("Tasks", TASK_COLUMNS, [TASK.model_dump()], width=80))
    assert "│" not in out.getvalue() and re.search(r"\n  Title: +Check the full offending history", out.getvalue())


def test_listings_speak_the_apis_field_names() -> None:
    """One set of names: what --json, --csv and the tables' columns call a field is what the API does."""
    assert {c.field for c in TASK_COLUMNS} <= set(schemas.TaskOut.model_fields)
    assert {c.field for c in CASE_COLUMNS} <= set(schemas.CaseSummary.model_fields)
    assert set(schemas.OpenTask.model_fields) <= set(schemas.TaskOut.model_fields)  # a case's tasks: same names
    assert {c.field for c in submit.RESULT_COLUMNS} <= set(schemas.BatchItem.model_fields)
    assert {c.field for c in feeds.MESSAGE_COLUMNS} <= set(schemas.Message.model_fields)


def test_help_says_what_the_checks_check_and_the_version() -> None:
    version = run_console_script("--version")
    assert version.code == 0 and re.fullmatch(r"casework \d+\.\d+\.\d+\S*\n", version.out), str(version)
    helped = run_console_script("cases", "--help")
    assert "C-F" in helped.out and "A-F" not in helped.out
    refused = run_console_script("cases", "--stage", "A")  # A has three stages: not a choice, as help says
    assert refused.code == 2 and "'c', 'd', 'e', 'f'" in refused.one_error_line() and "'a'," not in refused.one_error_line()
    for args, option in ((("event", "located", "--help"), "--event-id"), (("assign", "--help"), "--to"),
                         (("event", "certificate", "--help"), "--file")):
        text = run_console_script(*args).out
        line = next(line for line in text.splitlines() if option in line)
        assert re.match(rf"│ \*\s+{option} ", line), text  # typer marks it required: the one check is typer's


def test_operator_commands_have_their_own_help_panel() -> None:
    text = run_console_script("--help").out
    panels = re.findall(r"╭─ (.+?) ─", text)
    assert panels[-1] == OPERATORS.split(" (")[0] or OPERATORS.startswith(panels[-1]), panels
    operators = text[text.index(panels[-1]):]
    for name, command in COMMANDS.items():
        assert (f"│ {name} " in operators) is (command.panel == OPERATORS), name


def test_a_batch_shows_counts_and_time_left() -> None:
    bars = progress(disable=False)
    bar = bars.add_task("Submitting", total=250)
    bars.advance(bar, 100)
    out = io.StringIO()
    Console(file=out, width=100, color_system=None).print(bars.make_tasks_table(bars.tasks))
    assert re.search(r"Submitting .* 100/250 · left (\d+:\d\d:\d\d|-:--:--)", out.getvalue()), out.getvalue()


def test_a_reason_is_checked_by_the_apis_own_request_model_R60() -> None:
    """The read's reason is checked before anything is sent, by the API's PersonalDataRequest."""
    ran = run_console_script("show", "acro-case-X", "--purpose", "deportation", "--reason", "x" * 501)
    assert ran.code == 2 and ran.one_error_line() == "casework: --reason: String should have at most 500 characters (R60)", str(ran)
