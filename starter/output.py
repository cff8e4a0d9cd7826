"""How the command line prints: listings that fit the terminal for people, JSON and CSV
for scripts, under the API's field names (api/schemas.py).

A listing is a table when every cell fits with its words whole; otherwise it is stacked,
one block per row, so at 80 columns nothing is broken into single characters. Widths
are chosen here, not by rich: rich shrinks the widest columns first, through words.
Colour and styles only on a terminal (rich decides). Off a terminal the console is wide
enough that IDs are never cut: a caseworker copies them into the next command.
"""

from __future__ import annotations

import csv
import os
import sys
from datetime import date, datetime, timezone
from typing import TYPE_CHECKING, Any, Callable, Iterable, Mapping, NamedTuple, Sequence

from pydantic_core import to_json
from rich.console import Console, Group, RenderableType
from rich.table import Table
from rich.text import Text

if TYPE_CHECKING:
    from rich.progress import Progress

_PIPE_WIDTH = 200  # rich assumes 80 columns off a terminal; a case table needs more


def _console(stderr: bool = False) -> Console:
    stream = sys.stderr if stderr else sys.stdout
    width = None if stream.isatty() or os.environ.get("COLUMNS") else _PIPE_WIDTH
    return Console(highlight=False, stderr=stderr, width=width)


console = _console()
err_console = Console(stderr=True, highlight=False)


def progress(*, disable: bool) -> "Progress":
    """A progress bar on stderr with counts and the time left (it vanishes when done)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TextColumn("· left"),
                    TimeRemainingColumn(), console=err_console, transient=True, disable=disable)


def when(value: datetime | date | str | None) -> str:
    """Times in UTC, to the minute: the CID stores business times with their zone."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value) if "T" in value else date.fromisoformat(value)
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M")
    return value.isoformat()


def yes(flag: bool | None) -> str:
    return "yes" if flag else ""


def print_json(document: Any) -> None:
    """As the API writes JSON (pydantic): models, times in ISO 8601, text as it is."""
    print(to_json(document, indent=1).decode())


class Column(NamedTuple):
    """A column of a listing: the API's field it shows, its heading, and how it prints.
    An ID column is never wrapped (people copy IDs)."""

    field: str
    header: str
    show: Callable[[Any], str] = lambda v: "" if v is None else str(v)
    id: bool = False


_BORDER = 3  # "│ " before each cell and " " after it; one more "│" closes the row


def widths(columns: Sequence[Column], cells: Sequence[Sequence[str]], width: int) -> list[int] | None:
    """Column widths that fit ``width`` with every word whole, or None (stack the rows)."""
    natural, floor = [], []
    for i, column in enumerate(columns):
        texts = [column.header] + [row[i] for row in cells]
        natural.append(max(len(line) for t in texts for line in (t.splitlines() or [""])))
        words = [len(w) for t in texts for w in (t.split() or [""])]
        floor.append(natural[-1] if column.id else max(words))
    room = width - _BORDER * len(columns) - 1
    if sum(natural) <= room:
        return natural
    if sum(floor) > room:
        return None
    spare = room - sum(floor)
    wants = [n - f for n, f in zip(natural, floor)]
    total = sum(wants)
    return [f + (spare * w // total if total else 0) for f, w in zip(floor, wants)]


def listing(title: str | None, columns: Sequence[Column], rows: Sequence[Mapping[str, Any]],
            width: int | None = None) -> RenderableType:
    """The rows as a table if it fits ``width`` (the console's), else stacked, row by row."""
    cells = [[c.show(row.get(c.field)) for c in columns] for row in rows]
    fitted = widths(columns, cells, width or console.width)
    if fitted is not None:
        table = Table(title=title, title_justify="left")
        for column, w in zip(columns, fitted):
            table.add_column(column.header, width=w, no_wrap=column.id, overflow="fold")
        for row in cells:
            # Text, not markup: a title, purpose or note with "[...]" must print as written.
            table.add_row(*(Text(v) for v in row))
        return table
    blocks: list[RenderableType] = [Text(title, style="bold")] if title else []
    for row in cells:
        fields = Table.grid(padding=(0, 1))  # a hanging indent: a long value wraps beside its label
        fields.add_column(no_wrap=True)
        fields.add_column(overflow="fold")
        for column, value in zip(columns, row):
            if value and not column.id:
                fields.add_row(Text(f"  {column.header}:"), Text(value))
        blocks += [Text(" · ".join(v for c, v in zip(columns, row) if c.id and v), style="bold"), fields, Text("")]
    return Group(*blocks)


def print_csv(columns: Sequence[Column], rows: Iterable[Mapping[str, Any]]) -> None:
    """A header of the API's field names, then one line per row: values as the API gives
    them (times in ISO 8601, UTC; true/false), a nested one as its column prints it."""
    out = csv.writer(sys.stdout, lineterminator="\n")
    out.writerow([c.field for c in columns])
    for row in rows:
        values = [row.get(c.field) for c in columns]
        out.writerow(["" if v is None else str(v).lower() if isinstance(v, bool) else v if isinstance(v, (str, int, float))
                      else v.isoformat() if isinstance(v, (date, datetime)) else c.show(v) for c, v in zip(columns, values)])


def emit(title: str | None, columns: Sequence[Column], rows: Sequence[Mapping[str, Any]], *, csv_out: bool = False) -> None:
    """A listing for people, or (``--csv``) for a spreadsheet: the columns, then the row's
    other plain fields (all of them named as the API names them)."""
    if csv_out:
        shown = {c.field for c in columns}
        rest = [Column(f, f) for f, v in (rows[0].items() if rows else ()) if f not in shown and not isinstance(v, (dict, list))]
        print_csv([*columns, *rest], rows)
    else:
        console.print(listing(title, columns, rows))


def emit_page(page: Any, title: str, columns: Sequence[Column], rows: Sequence[Mapping[str, Any]], *,
              what: str, none: str, more: str, json_out: bool, csv_out: bool) -> None:
    """One page of a listing: the API's document (``--json``), or the listing and a line
    counting ``what`` with ``more`` (how to ask for the next page), or ``none`` when empty."""
    if json_out:
        return print_json(page)
    if csv_out or rows:
        emit(title, columns, rows, csv_out=csv_out)
    if not csv_out:
        console.print(f"{len(rows)} {what}{more}" if rows else none, markup=False, soft_wrap=True)
