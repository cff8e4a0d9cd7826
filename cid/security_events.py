"""The security events table (migration 0012): refused attempts at the API, appended by
the API's login, read by auditors through the API (``GET /audit/security-events``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg


@dataclass(frozen=True)
class SecurityEvent:
    """One refusal: no token, no body, no personal data (a case or task ID at most)."""

    request_id: str
    status: int
    subject: str | None
    action: str
    resource: str
    reason_code: str
    reason: str


async def append(conn: asyncpg.Connection | asyncpg.Pool, event: SecurityEvent) -> int:
    return int(await conn.fetchval(
        "INSERT INTO security_events (request_id, status, subject, action, resource, reason_code, reason)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        event.request_id[:64], event.status, event.subject, event.action[:64], event.resource[:200],
        event.reason_code[:64], event.reason[:500]))


async def page(conn: asyncpg.Connection | asyncpg.Pool, *, after: int, limit: int, subject: str | None = None,
               since: datetime | None = None) -> list[dict[str, Any]]:
    """Events after ID ``after``, oldest first."""
    rows = await conn.fetch(
        "SELECT id, occurred_at, request_id, status, subject, action, resource, reason_code, reason"
        " FROM security_events WHERE id > $1 AND ($2::text IS NULL OR subject = $2)"
        " AND ($3::timestamptz IS NULL OR occurred_at >= $3) ORDER BY id LIMIT $4",
        after, subject, since, limit)
    return [dict(r) for r in rows]
