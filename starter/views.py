"""How people name cases, stages and tasks on the command line; the reading itself is
the CID's read model (``cid/read_model.py``)."""

from __future__ import annotations

import re

import asyncpg

from casework.case import Stage, case_id_for
from casework.keys import WORKFLOW_ID_PREFIX
from cid import read_model
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


async def find_task(conn: asyncpg.Connection, ref: str) -> asyncpg.Record:
    """A task by its numeric ID, or as CASE:KEY (case ID or ACRO reference, then the task key)."""
    ref = ref.strip()
    if ref.isdigit():
        row = await read_model.task_by_id(conn, int(ref))
    elif ":" in ref:
        case, _, key = ref.rpartition(":")
        row = await read_model.task_by_key(conn, case_id_from(case), key.strip())
    else:
        raise CliError(f"'{ref}' is not a task: give the task ID from 'casework tasks', or CASE:KEY", Exit.BAD_INPUT)
    if row is None:
        raise CliError(f"no task {ref}", Exit.NOT_FOUND)
    return row
