"""How the command line prints: rich tables for people, JSON for scripts.

Colour and styles only on a terminal (rich decides). When the output is piped, the
console is wide enough that IDs are never cut: a caseworker copies them into the next
command, so identifiers fold rather than end in an ellipsis.
"""

from __future__ import annotations

import json
import os
import sys
from datetime import date, datetime, timezone
from typing import Any, Iterable

from rich.console import Console
from rich.table import Table
from rich.text import Text

_PIPE_WIDTH = 200  # rich assumes 80 columns off a terminal; a case table needs more


def _console(stderr: bool = False) -> Console:
    stream = sys.stderr if stderr else sys.stdout
    width = None if stream.isatty() or os.environ.get("COLUMNS") else _PIPE_WIDTH
    return Console(highlight=False, stderr=stderr, width=width)


console = _console()


def when(value: datetime | date | None) -> str:
    """Times in UTC, to the minute: the CID stores business times with their zone."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M")
    return value.isoformat()


def yes(flag: bool | None) -> str:
    return "yes" if flag else ""


def _default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json")
    return str(value)


def print_json(document: Any) -> None:
    print(json.dumps(document, default=_default, indent=1, ensure_ascii=False))


def table(title: str | None, columns: Iterable[str], rows: Iterable[Iterable[Any]], *, ids: int = 1) -> Table:
    """A table whose first ``ids`` columns (identifiers) are never wrapped or cut."""
    t = Table(title=title, title_justify="left", show_lines=False)
    for i, name in enumerate(columns):
        if i < ids:
            t.add_column(name, no_wrap=True)
        else:
            t.add_column(name, overflow="fold")
    for row in rows:
        # Text, not markup: a title, purpose or note with "[...]" must print as written.
        t.add_row(*(Text("" if v is None else str(v)) for v in row))
    return t
