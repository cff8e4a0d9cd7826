"""SQL for Stage A: the referral, certificates, subjects, convictions, calendar, paper file."""

from __future__ import annotations

import hashlib
import json
from datetime import date, datetime
from enum import StrEnum

import asyncpg

from casework.case import case_id_for
from casework.keys import WORKFLOW_ID_PREFIX
from casework.referral import Certificate, Referral
from casework.decisions import Decision
from casework.rules import ACRO_REFERRAL_EVENT, Identity, Route, route_decision, subject_decision, subject_match_keys

SUBJECT_LOCK = 0x5B1EC7  # serialises subject matching across workers (R04: no duplicates)


class Held(StrEnum):
    """What holding a submitted referral did."""

    NEW = "new"
    #: Already held: an identical repeat.
    SAME = "same"
    #: Another referral already holds this ACRO reference: nothing is held.
    CONFLICT = "conflict"


def fingerprint(model: Referral | Certificate) -> str:
    """What makes two submissions "the same": the canonical JSON of the validated model."""
    canonical = json.dumps(model.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


async def hold_referral(pool: asyncpg.Pool, referral: Referral, *, actor: str) -> Held:
    """R01: hold a submitted referral in the CID for its case, before the case is started
    (``CaseClient.submit``): the personal data stays here, the case gets a reference
    (docs/design.md, "Personal data held in the CID"). Holding it again is harmless."""
    async with pool.acquire() as conn:
        return await submit_referral(conn, case_id_for(referral.acro_reference), referral, fingerprint(referral), actor)


async def hold_certificate(pool: asyncpg.Pool, case_id: str, certificate: Certificate, *, event_id: str,
                           actor: str) -> int | None:
    """R03 -> R04: hold a new ACRO certificate for its case before the case is told of it; the
    same event ID with the same certificate gives the same ID, with another certificate None."""
    async with pool.acquire() as conn:
        return await submit_certificate(conn, case_id, event_id, certificate, fingerprint(certificate), actor)


async def submit_referral(
    conn: asyncpg.Connection, case_id: str, referral: Referral, payload_sha256: str, actor: str
) -> Held:
    """Hold a submitted referral for its case: new, the same (already held) or a conflict
    (another referral already holds this ACRO reference)."""
    # No conflict target: the reference and the case ID are one-to-one, and two concurrent
    # submits of one referral may collide on either unique index first.
    inserted = await conn.fetchval(
        "INSERT INTO intake_referrals (acro_reference, case_id, payload, payload_sha256, submitted_by)"
        " VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING RETURNING case_id",
        referral.acro_reference, case_id, referral.model_dump(mode="json"), payload_sha256, actor,
    )
    if inserted is not None:
        return Held.NEW
    held = await conn.fetchval(
        "SELECT payload_sha256 FROM intake_referrals WHERE acro_reference = $1", referral.acro_reference
    )
    return Held.SAME if held == payload_sha256 else Held.CONFLICT


async def submit_certificate(
    conn: asyncpg.Connection, case_id: str, event_id: str, certificate: Certificate, payload_sha256: str, actor: str
) -> int | None:
    """Hold a certificate handed in for a case; the same event ID returns the same ID, or
    None when that event ID came before with a different certificate (nothing is changed)."""
    certificate_id = await conn.fetchval(
        "INSERT INTO intake_certificates (case_id, event_id, payload, payload_sha256, submitted_by)"
        " VALUES ($1, $2, $3, $4, $5) ON CONFLICT (case_id, event_id) DO NOTHING RETURNING id",
        case_id, event_id, certificate.model_dump(mode="json"), payload_sha256, actor,
    )
    if certificate_id is None:
        earlier = await conn.fetchrow(
            "SELECT id, payload_sha256 FROM intake_certificates WHERE case_id = $1 AND event_id = $2", case_id, event_id
        )
        if earlier["payload_sha256"] != payload_sha256:
            return None
        certificate_id = earlier["id"]
    return int(certificate_id)


# Taking a held payload is one statement: the row is locked as it is read (the subquery's
# FOR UPDATE), and its payload returned as it was while the row is cleared. A repeat finds
# it cleared (None) and keeps the first taken_at; no row at all means nothing was held.


async def take_referral(conn: asyncpg.Connection, case_id: str, at: datetime) -> Referral | None:
    """The held referral, once: its payload is cleared as the case takes it (None after)."""
    row = await conn.fetchrow(
        "UPDATE intake_referrals i SET payload = NULL, taken_at = COALESCE(i.taken_at, $2)"
        " FROM (SELECT case_id, payload FROM intake_referrals WHERE case_id = $1 FOR UPDATE) held"
        " WHERE i.case_id = held.case_id RETURNING held.payload",
        case_id, at,
    )
    if row is None:
        raise LookupError(f"no referral was submitted for {case_id}")
    return None if row["payload"] is None else Referral.model_validate(row["payload"])


async def take_certificate(conn: asyncpg.Connection, case_id: str, certificate_id: int, at: datetime) -> Certificate | None:
    row = await conn.fetchrow(
        "UPDATE intake_certificates i SET payload = NULL, taken_at = COALESCE(i.taken_at, $3)"
        " FROM (SELECT id, payload FROM intake_certificates WHERE case_id = $1 AND id = $2 FOR UPDATE) held"
        " WHERE i.id = held.id RETURNING held.payload",
        case_id, certificate_id, at,
    )
    if row is None:
        raise LookupError(f"no certificate {certificate_id} was handed in for {case_id}")
    return None if row["payload"] is None else Certificate.model_validate(row["payload"])


async def insert_case(
    conn: asyncpg.Connection, case_id: str, referral: Referral, *, eea: bool, disclosable: bool,
    most_serious: bool, stage: str, at: datetime,
) -> bool:
    """The case row and the referral as received; False when they were already there."""
    new = await conn.fetchval(
        "INSERT INTO cases (id, acro_reference, stage, eea, disclosable, most_serious, custody, opened_at, updated_at)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) ON CONFLICT (id) DO NOTHING RETURNING id",
        case_id, referral.acro_reference, stage, eea, disclosable, most_serious,
        referral.whereabouts.status.value, at,
    )
    if new is None:
        return False
    await conn.execute(
        "INSERT INTO referrals (case_id, name, aliases, date_of_birth, nationalities,"
        " identity_documents, pnc_id, interpol_check, requesting_officer, reason_for_request,"
        " last_known_address, whereabouts, received_at)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
        case_id,
        referral.name,
        list(referral.aliases),
        referral.date_of_birth,
        list(referral.nationalities),
        [d.model_dump(mode="json") for d in referral.identity_documents],
        referral.pnc_id,
        referral.interpol_check_outcome,
        referral.requesting_officer.model_dump(mode="json") if referral.requesting_officer else None,
        referral.reason_for_request.value if referral.reason_for_request else None,
        referral.last_known_address.model_dump(mode="json") if referral.last_known_address else None,
        referral.whereabouts.model_dump(mode="json"),
        at,
    )
    return True


async def insert_certificate(
    conn: asyncpg.Connection, case_id: str, seq: int, certificate: Certificate, *,
    disclosable: bool, most_serious: bool, at: datetime,
) -> None:
    await conn.execute(
        "INSERT INTO certificates (case_id, seq, request_purpose, offences_on_pnc, issued_on,"
        " disclosable, most_serious, content, received_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
        " ON CONFLICT (case_id, seq) DO NOTHING",
        case_id, seq, certificate.request_purpose, certificate.offences_on_pnc, certificate.issued_on,
        disclosable, most_serious, [c.model_dump(mode="json") for c in certificate.convictions], at,
    )


async def referral_facts(conn: asyncpg.Connection, case_id: str) -> asyncpg.Record:
    row = await conn.fetchrow(
        "SELECT c.disclosable, c.eea, c.most_serious, r.whereabouts FROM cases c"
        " JOIN referrals r ON r.case_id = c.id WHERE c.id = $1",
        case_id,
    )
    if row is None:
        raise LookupError(f"{case_id} has no recorded referral")
    return row


async def certificate_facts(conn: asyncpg.Connection, case_id: str, seq: int) -> asyncpg.Record:
    row = await conn.fetchrow(
        "SELECT disclosable, most_serious FROM certificates WHERE case_id = $1 AND seq = $2", case_id, seq
    )
    if row is None:
        raise LookupError(f"{case_id} has no certificate {seq}")
    return row


async def destroy_certificate(conn: asyncpg.Connection, case_id: str, seq: int, at: datetime) -> bool:
    """R03: the certificate's content is gone, and all that was derived from it (its issue
    date, its "most serious" mark); the row remains to show it existed and when it came.

    Its intake copy was cleared when the case took it, and Temporal history never held it.
    """
    done = await conn.fetchval(
        "UPDATE certificates SET content = NULL, request_purpose = NULL, issued_on = NULL,"
        " most_serious = false, destroyed_at = $3"
        " WHERE case_id = $1 AND seq = $2 AND destroyed_at IS NULL RETURNING id",
        case_id, seq, at,
    )
    return done is not None


async def match_or_create_subject(conn: asyncpg.Connection, case_id: str) -> tuple[int, Decision | None]:
    """R04: the subject named by the referral, created only if no existing one matches; with
    the decision (matched by which kind of identifier, or created), None on a repeat."""
    await conn.execute("SELECT pg_advisory_xact_lock($1)", SUBJECT_LOCK)
    row = await conn.fetchrow(
        "SELECT c.subject_id AS matched, r.* FROM cases c JOIN referrals r ON r.case_id = c.id WHERE c.id = $1",
        case_id,
    )
    if row is None:
        raise LookupError(f"no referral recorded for {case_id}")
    if row["matched"] is not None:  # a repeat of this step
        return int(row["matched"]), None
    keys = subject_match_keys(
        Identity(
            name=row["name"],
            date_of_birth=row["date_of_birth"],
            pnc_id=row["pnc_id"],
            documents=tuple((d["issuing_country"], d["kind"], d["number"]) for d in row["identity_documents"]),
        )
    )
    subject_id = matched_key = None
    if keys:
        found = await conn.fetchrow(
            "SELECT subject_id, match_key FROM subject_identifiers WHERE match_key = ANY($1::text[])"
            " ORDER BY array_position($1::text[], match_key) LIMIT 1",
            keys,
        )
        if found is not None:
            subject_id, matched_key = found["subject_id"], found["match_key"]
    if subject_id is None:
        subject_id = await conn.fetchval(
            "INSERT INTO subjects (name, aliases, date_of_birth, nationalities, pnc_id)"
            " VALUES ($1, $2, $3, $4, $5) RETURNING id",
            row["name"], row["aliases"], row["date_of_birth"], row["nationalities"], row["pnc_id"],
        )
    await conn.executemany(
        "INSERT INTO subject_identifiers (match_key, subject_id) VALUES ($1, $2) ON CONFLICT (match_key) DO NOTHING",
        [(key, subject_id) for key in keys],
    )
    await conn.execute("UPDATE cases SET subject_id = $2 WHERE id = $1", case_id, subject_id)
    return int(subject_id), subject_decision(matched_key, keys)


async def record_convictions(conn: asyncpg.Connection, case_id: str, subject_id: int) -> int:
    """R04: the overseas convictions of the newest disclosable certificate; returns how many."""
    content = await conn.fetchval(
        "SELECT content FROM certificates WHERE case_id = $1 AND disclosable AND destroyed_at IS NULL"
        " ORDER BY seq DESC LIMIT 1",
        case_id,
    )
    if content is None:
        raise LookupError(f"{case_id} has no disclosable certificate to register")
    await conn.executemany(
        "INSERT INTO convictions (case_id, subject_id, seq, country, offence, category,"
        " conviction_date, sentence) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
        " ON CONFLICT (case_id, seq) DO NOTHING",
        [(case_id, subject_id, seq, c["country"], c["offence"], c["category"], _date(c["conviction_date"]), c.get("sentence"))
         for seq, c in enumerate(content, start=1)],
    )
    return len(content)


def _date(text: str) -> date:
    return date.fromisoformat(text)


async def add_calendar_event(conn: asyncpg.Connection, case_id: str, at: datetime) -> None:
    """R04: CID calendar event "CC - ACRO Referral", status "Completed"."""
    await conn.execute(
        "INSERT INTO calendar_events (case_id, event_type, status, occurred_at)"
        " VALUES ($1, $2, 'Completed', $3) ON CONFLICT (case_id, event_type) DO NOTHING",
        case_id, ACRO_REFERRAL_EVENT, at,
    )


async def create_paper_file(conn: asyncpg.Connection, case_id: str, at: datetime) -> str:
    """R04: the Home Office paper file; its reference is derived from the case."""
    reference = "HO-PF-" + case_id.removeprefix(WORKFLOW_ID_PREFIX)
    await conn.execute(
        "INSERT INTO paper_files (case_id, reference, created_at) VALUES ($1, $2, $3)"
        " ON CONFLICT (case_id) DO NOTHING",
        case_id, reference, at,
    )
    return reference


async def route(conn: asyncpg.Connection, eea: bool, whereabouts: str) -> Decision:
    """R06: the routing decision (its subject the team; which row matched) from team_routes."""
    rows = await conn.fetch("SELECT priority, eea, whereabouts, team FROM team_routes")
    routes = [Route(r["priority"], r["team"], r["eea"], r["whereabouts"]) for r in rows]
    return route_decision(routes, eea=eea, whereabouts=whereabouts)
