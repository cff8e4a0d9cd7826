"""SQL for acknowledging outbound messages (issue 15's feeds, migration 0009): the first
acknowledgement of a message stands, with who made it and when; a repeat changes nothing."""

from __future__ import annotations

import asyncpg


async def acknowledge(conn: asyncpg.Connection, message_ids: list[int], actor: str) -> set[int]:
    """Record ``actor``'s acknowledgement of each message; the IDs acknowledged just now."""
    rows = await conn.fetch(
        "INSERT INTO feed_acknowledgements (message_id, acknowledged_by)"
        " SELECT DISTINCT unnest($1::bigint[]), $2 ON CONFLICT (message_id) DO NOTHING RETURNING message_id",
        message_ids, actor,
    )
    return {int(r["message_id"]) for r in rows}
