"""How people name cases and stages on the command line. Pure: people's commands read
through the API, never the CID (tasks are found through the API: starter/tasks_cmd.py)."""

from __future__ import annotations

import re

from casework.case import Stage, case_id_for
from casework.keys import WORKFLOW_ID_PREFIX
from starter.exits import CliError, Exit


def case_id_from(text: str) -> str:
    """A case as people name it: its case ID, or the ACRO reference it came from."""
    text = text.strip()
    if text.lower().startswith(WORKFLOW_ID_PREFIX):
        return WORKFLOW_ID_PREFIX + text[len(WORKFLOW_ID_PREFIX):].upper()
    if not text:
        raise CliError("which case? give its case ID or ACRO reference", Exit.BAD_INPUT)
    return case_id_for(text)


def stage_filter(text: str | None) -> str | None:
    """A stage value ("C-located") or its letter ("C"); refused with the list otherwise."""
    if text is None:
        return None
    wanted = text.strip().lower()
    for stage in Stage:
        if stage.value.lower() == wanted or stage.name.lower() == wanted.replace("-", "_"):
            return stage.value
    if re.fullmatch(r"[a-f]", wanted):
        return wanted.upper() + "-%"
    names = ", ".join(s.value for s in Stage)
    raise CliError(f"unknown stage '{text}'; stages: {names} (or a letter A-F)", Exit.BAD_INPUT)
