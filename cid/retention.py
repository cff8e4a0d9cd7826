"""Retention: a case closed longer than the retention period loses its personal data.

What goes, per case: the referral as received (redacted in place: name, aliases, date of
birth, nationalities, identity documents, PNC ID, Interpol outcome, requesting officer,
last known address, release date), its convictions (deleted), its certificates' contents
and request purposes, anything still held at intake, and the details caseworkers typed
into its tasks. The subject is redacted too (and its match keys deleted, since they are
made of name, date of birth, PNC ID and document numbers) once no case that still keeps
its data refers to it: every other case of that subject is closed and past the period.

What stays: the case row and its outcome, the task outcomes, the messages sent (their
bodies hold no personal data), notes (fixed wording) and the audit log, which is
append-only and holds no personal data; each purge adds its own audit row.

Every purge is one transaction per case and idempotent: a purged case is marked
(``cases.personal_data_purged_at``) and never selected again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import asyncpg

from cid import case_record

REDACTED = "[redacted]"
PURGE_ACTION = "personal data purged"
PURGE_EVENT_KEY = "retention-purge"


@dataclass(frozen=True)
class DueCase:
    case_id: str
    closed_at: datetime


@dataclass(frozen=True)
class Purged:
    case_id: str
    closed_at: datetime
    convictions_deleted: int
    subject_redacted: bool


async def cases_due(conn: asyncpg.Connection, now: datetime, retention: timedelta) -> list[DueCase]:
    """Closed cases past the period whose personal data is still held, oldest first."""
    rows = await conn.fetch(
        "SELECT id, closed_at FROM cases WHERE status = 'closed' AND personal_data_purged_at IS NULL"
        " AND closed_at <= $1 ORDER BY closed_at, id",
        now - retention,
    )
    return [DueCase(r["id"], r["closed_at"]) for r in rows]


async def purge_case(
    conn: asyncpg.Connection, case_id: str, *, now: datetime, retention: timedelta, actor: str
) -> Purged | None:
    """Purge one case's personal data; None when it is not (or no longer) due."""
    cutoff = now - retention
    async with conn.transaction():
        case = await conn.fetchrow(
            "SELECT id, subject_id, closed_at FROM cases WHERE id = $1 AND status = 'closed'"
            " AND personal_data_purged_at IS NULL AND closed_at <= $2 FOR UPDATE",
            case_id, cutoff,
        )
        if case is None:
            return None
        await conn.execute(
            "UPDATE referrals SET name = $2, aliases = '[]', date_of_birth = NULL, nationalities = '{}',"
            " identity_documents = '[]', pnc_id = NULL, interpol_check = NULL, requesting_officer = NULL,"
            " last_known_address = NULL, whereabouts = jsonb_build_object('status', whereabouts->'status')"
            " WHERE case_id = $1",
            case_id, REDACTED,
        )
        deleted = await conn.fetchval(
            "WITH gone AS (DELETE FROM convictions WHERE case_id = $1 RETURNING 1) SELECT count(*) FROM gone", case_id
        )
        await conn.execute(
            "UPDATE certificates SET content = NULL, request_purpose = NULL,"
            " destroyed_at = COALESCE(destroyed_at, $2) WHERE case_id = $1",
            case_id, now,
        )
        await conn.execute("UPDATE intake_referrals SET payload = NULL WHERE case_id = $1", case_id)
        await conn.execute("UPDATE intake_certificates SET payload = NULL WHERE case_id = $1", case_id)
        await conn.execute("UPDATE tasks SET outcome_details = NULL WHERE case_id = $1", case_id)
        # Issue 20: the personal values kept with decisions (nationality, release date, offences).
        await conn.execute("UPDATE case_decisions SET personal = '{}' WHERE case_id = $1", case_id)
        subject_redacted = False
        if case["subject_id"] is not None:
            subject_redacted = await _redact_subject_if_free(conn, case["subject_id"], case_id, cutoff)
        await conn.execute("UPDATE cases SET personal_data_purged_at = $2 WHERE id = $1", case_id, now)
        await case_record.audit(
            conn, case_id, PURGE_EVENT_KEY, actor, PURGE_ACTION, now,
            {"retention_days": retention.days, "closed_at": case["closed_at"].isoformat(),
             "convictions_deleted": deleted, "subject_redacted": subject_redacted},
        )
        return Purged(case_id, case["closed_at"], deleted, subject_redacted)


async def _redact_subject_if_free(conn: asyncpg.Connection, subject_id: int, case_id: str, cutoff: datetime) -> bool:
    """Redact the subject unless another case still keeps its data (open, dormant, or
    closed within the period)."""
    kept_by = await conn.fetchval(
        "SELECT id FROM cases WHERE subject_id = $1 AND id <> $2"
        " AND NOT (status = 'closed' AND closed_at <= $3) LIMIT 1",
        subject_id, case_id, cutoff,
    )
    if kept_by is not None:
        return False
    await conn.execute("DELETE FROM subject_identifiers WHERE subject_id = $1", subject_id)
    await conn.execute(
        "UPDATE subjects SET name = $2, aliases = '[]', date_of_birth = NULL, nationalities = '{}',"
        " pnc_id = NULL WHERE id = $1",
        subject_id, REDACTED,
    )
    return True


async def purge_expired(
    pool: asyncpg.Pool, *, now: datetime, retention: timedelta, actor: str, dry_run: bool = False
) -> list[DueCase] | list[Purged]:
    """Purge every due case (each in its own transaction); with ``dry_run``, only list them."""
    async with pool.acquire() as conn:
        due = await cases_due(conn, now, retention)
        if dry_run:
            return due
        done: list[Purged] = []
        for case in due:
            purged = await purge_case(conn, case.case_id, now=now, retention=retention, actor=actor)
            if purged is not None:
                done.append(purged)
        return done
