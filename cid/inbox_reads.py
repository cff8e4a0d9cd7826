"""The web inbox's reads of the CID beyond the API's (issue 21): a case's timeline from the
audit log and the messages it sent to other agencies. No personal data in either. (Its
Stage 1 window and the team dashboard's figures are read_model's: they are built from
its task and notice queries.)"""

from __future__ import annotations

import asyncpg

from cid.db import Executor

#: Entries of a case's timeline shown at most (newest first).
TIMELINE_LIMIT = 200


async def timeline(conn: Executor, case_id: str, limit: int = TIMELINE_LIMIT) -> list[asyncpg.Record]:
    """The case's audit log, newest first, through migration 0017's function: when, who,
    what, and the detail's process keys only (no free text people typed)."""
    return list(await conn.fetch("SELECT * FROM api_case_timeline($1, $2)", case_id, limit))


async def messages_sent(conn: Executor, case_id: str) -> list[asyncpg.Record]:
    """What the case sent to other agencies (recipient, form, when); not the bodies, which
    may carry a person's details for the recipient."""
    return list(await conn.fetch(
        "SELECT id, recipient, form, sent_at FROM outbound_messages WHERE case_id = $1 ORDER BY sent_at, id", case_id))
