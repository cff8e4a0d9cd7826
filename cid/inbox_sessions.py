"""The web inbox's sessions (migration 0018): opened at sign-in, touched by each request
within the idle and absolute timeouts, ended at sign-out. The browser's cookie holds a
random token; the CID holds its SHA-256, the person as signed in, and the CSRF token."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import timedelta

from cid.db import Executor


@dataclass(frozen=True)
class Session:
    subject: str
    roles: tuple[str, ...]
    teams: tuple[str, ...]
    issuer: str
    csrf_token: str


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


async def open_session(conn: Executor, token: str, session: Session) -> None:
    await conn.execute(
        "INSERT INTO inbox_sessions (token_sha256, subject, roles, teams, issuer, csrf_token) VALUES ($1, $2, $3, $4, $5, $6)",
        _digest(token), session.subject, list(session.roles), list(session.teams), session.issuer, session.csrf_token)


async def live_session(conn: Executor, token: str, *, idle: timedelta, absolute: timedelta) -> Session | None:
    """The session of ``token`` when it is open and within both timeouts (and marks it
    seen now); None otherwise: ended, idle too long, too old, or never opened."""
    row = await conn.fetchrow(
        "UPDATE inbox_sessions SET last_seen_at = clock_timestamp()"
        " WHERE token_sha256 = $1 AND ended_at IS NULL AND last_seen_at > clock_timestamp() - $2::interval"
        " AND created_at > clock_timestamp() - $3::interval"
        " RETURNING subject, roles, teams, issuer, csrf_token",
        _digest(token), idle, absolute)
    if row is None:
        return None
    return Session(row["subject"], tuple(row["roles"]), tuple(row["teams"]), row["issuer"], row["csrf_token"])


async def end_session(conn: Executor, token: str) -> None:
    await conn.execute("UPDATE inbox_sessions SET ended_at = clock_timestamp() WHERE token_sha256 = $1 AND ended_at IS NULL",
                       _digest(token))


async def forget_old_sessions(conn: Executor, absolute: timedelta) -> int:
    """Delete sessions past the absolute timeout (they can no longer be used)."""
    done = await conn.execute("DELETE FROM inbox_sessions WHERE created_at < clock_timestamp() - $1::interval", absolute)
    return int(done.split()[-1])
