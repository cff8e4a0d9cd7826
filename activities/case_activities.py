"""The case workflow's activities: each one unit of work on the CID, committed at once.

A unit that is one statement runs on the pool as it is; a change and its audit entry
are one statement (``case_record.write_audited``); anything more is one transaction.
Round trips to the database are most of an activity's cost (bench: docs/performance.md).

Every activity is idempotent by a domain key (case + step + sequence) with a unique
constraint, never by the activity ID, which restarts after continue-as-new. Each also
writes its audit entry in the same transaction, keyed the same way, so a retried
activity neither duplicates a row nor the record that it happened.
"""

from __future__ import annotations

import asyncpg
from temporalio import activity

from casework import records as r
from casework import keys, rules
from casework.referral import DISCLOSABLE_PURPOSE, Certificate, first_conviction_before_birth
from casework.rules import NON_DISCLOSABLE_NOTE
from casework.settings import ProcessSettings
from activities.contract import CaseActivityContract
from casework.decisions import Decision
from cid import case_record, decisions, inbox, intake


class _CertificateRefused(Exception):
    """A certificate the case cannot take; its transaction is rolled back."""


class CaseActivities(CaseActivityContract):
    """Every activity of the contract (activities/contract.py), on the CID; the worker
    registers ``registered()``."""

    def __init__(self, pool: asyncpg.Pool, settings: ProcessSettings) -> None:
        self.pool = pool
        self.settings = settings

    @activity.defn
    async def load_settings(self) -> ProcessSettings:
        return self.settings

    @activity.defn
    async def record_referral(self, cmd: r.RecordReferral) -> r.ReferralFacts:
        """R01/R02: the case, the referral as received and its certificate (seq 1).

        Returns only the facts the workflow's rules need: no personal data enters history.
        """
        async with self.pool.acquire() as conn, conn.transaction():
            referral = await intake.take_referral(conn, cmd.case_id, cmd.at)
            if referral is None:  # a repeat of this activity: the rows exist; read the facts back
                facts = await intake.referral_facts(conn, cmd.case_id)
                return r.ReferralFacts(
                    disclosable=facts["disclosable"], eea=facts["eea"], most_serious=facts["most_serious"],
                    whereabouts=facts["whereabouts"]["status"], release_date=facts["whereabouts"].get("release_date"),
                )
            certificate = referral.certificate
            disclosable = rules.is_disclosable(certificate)  # R02
            # R03/R61: nothing is derived from a certificate that is to be destroyed; in the
            # result (history) as in the CID, so it holds on replay too.
            most_serious = disclosable and self._most_serious(certificate)
            eea = rules.is_eea(referral.nationalities, self.settings.eea_countries)
            await intake.insert_case(
                conn, cmd.case_id, referral, eea=eea, disclosable=disclosable,
                most_serious=most_serious, stage="A-intake", at=cmd.at,
            )
            await intake.insert_certificate(
                conn, cmd.case_id, 1, certificate, disclosable=disclosable, most_serious=most_serious, at=cmd.at
            )
            await case_record.audit(
                conn, cmd.case_id, "referral-received", cmd.actor, "referral received", cmd.at,
                {"disclosable": disclosable, "eea": eea, "rule": "R01"},
            )
            # Issue 20: the intake's decisions, in the transaction that takes them.
            taken = [("referral", rules.referral_decision(by=cmd.actor, eea=eea, nationalities=referral.nationalities)),
                     ("certificate-1", rules.disclosable_decision(certificate, by=cmd.actor))]
            if not disclosable:
                taken.append(("certificate-1-r61", rules.criminal_proceedings_decision(certificate)))
            else:
                taken.append(("exclusion-check", rules.exclusion_decision(
                    (c.category for c in certificate.convictions), self.settings.most_serious_categories)))
            for step, decision in taken:
                await decisions.record(conn, cmd.case_id, step, decision, cmd.actor, cmd.at)
            return r.ReferralFacts(
                disclosable=disclosable, eea=eea, most_serious=most_serious,
                whereabouts=referral.whereabouts.status, release_date=referral.whereabouts.release_date,
            )

    @activity.defn
    async def record_certificate(self, cmd: r.RecordCertificate) -> r.CertificateFacts:
        """A certificate handed in after intake becomes certificate ``seq`` of the case."""
        try:
            return await self._record_certificate(cmd)
        except _CertificateRefused as refused:  # rolled back: nothing taken, nothing recorded
            return r.CertificateFacts(disclosable=False, most_serious=False, refused=str(refused))

    async def _record_certificate(self, cmd: r.RecordCertificate) -> r.CertificateFacts:
        async with self.pool.acquire() as conn, conn.transaction():
            try:
                certificate = await intake.take_certificate(conn, cmd.case_id, cmd.certificate_id, cmd.at)
            except LookupError as err:  # no retry can make it right: refused, and the case goes on
                raise _CertificateRefused(str(err)) from None
            if certificate is not None:
                # What cannot be true. Checked here, where the date of birth is, so that the
                # API needs no read of it; the refusal names the conviction, never a date.
                born = await conn.fetchval("SELECT date_of_birth FROM referrals WHERE case_id = $1", cmd.case_id)
                wrong = first_conviction_before_birth(certificate, born)
                if wrong is not None:
                    raise _CertificateRefused(
                        f"certificate {cmd.certificate_id}: conviction {wrong + 1} is dated before the subject's "
                        "date of birth; send a corrected certificate with a new event ID")
                disclosable = rules.is_disclosable(certificate)  # R02
                most_serious = disclosable and self._most_serious(certificate)  # R03/R61, as above
                await intake.insert_certificate(
                    conn, cmd.case_id, cmd.seq, certificate, disclosable=disclosable, most_serious=most_serious, at=cmd.at
                )
                if disclosable:
                    await conn.execute(
                        "UPDATE cases SET disclosable = true, most_serious = most_serious OR $2 WHERE id = $1",
                        cmd.case_id, most_serious,
                    )
                await case_record.audit(
                    conn, cmd.case_id, f"certificate-{cmd.seq}", cmd.actor, keys.CERTIFICATE_RECEIVED, cmd.at,
                    {"seq": cmd.seq, "disclosable": disclosable, "event_id": cmd.event_id},
                )
                await decisions.record(conn, cmd.case_id, f"certificate-{cmd.seq}",
                                       rules.disclosable_decision(certificate, by=cmd.actor), cmd.actor, cmd.at)
            facts = await intake.certificate_facts(conn, cmd.case_id, cmd.seq)
            return r.CertificateFacts(disclosable=facts["disclosable"], most_serious=facts["most_serious"])

    def _most_serious(self, certificate: Certificate) -> bool:
        return rules.is_most_serious((c.category for c in certificate.convictions), self.settings.most_serious_categories)

    @activity.defn
    async def apply_non_disclosable(self, cmd: r.DestroyCertificate) -> None:
        """R03: note the CID, request a new ACRO certificate, destroy this one."""
        async with self.pool.acquire() as conn, conn.transaction():
            await case_record.add_note(conn, cmd.case_id, f"non-disclosable-{cmd.seq}", NON_DISCLOSABLE_NOTE, cmd.at)
            await case_record.send_message(
                conn, cmd.case_id, f"acro-request-{cmd.seq}", keys.Recipient.ACRO, "ACRO certificate request",
                {"purpose": DISCLOSABLE_PURPOSE,
                 "replaces_certificate": cmd.seq}, cmd.at,
            )
            await intake.destroy_certificate(conn, cmd.case_id, cmd.seq, cmd.at)
            await case_record.audit(
                conn, cmd.case_id, f"certificate-{cmd.seq}-destroyed", r.SYSTEM_ACTOR,
                "non-disclosable certificate destroyed", cmd.at, {"seq": cmd.seq, "rule": "R03"},
            )
            await decisions.record(conn, cmd.case_id, f"certificate-{cmd.seq}-destroyed",
                                   rules.destroyed_decision(cmd.seq), r.SYSTEM_ACTOR, cmd.at)

    @activity.defn
    async def register_case(self, cmd: r.RegisterCase) -> None:
        """R04: subject (matched, never duplicated), convictions, calendar, PNC check, paper file."""
        async with self.pool.acquire() as conn, conn.transaction():
            subject_id, subject = await intake.match_or_create_subject(conn, cmd.case_id)
            if subject is not None:  # None: a repeat, recorded the first time
                await decisions.record(conn, cmd.case_id, "subject", subject, r.SYSTEM_ACTOR, cmd.at)
            count = await intake.record_convictions(conn, cmd.case_id, subject_id)
            await intake.add_calendar_event(conn, cmd.case_id, cmd.at)
            await case_record.send_message(
                conn, cmd.case_id, "pnc-check", keys.Recipient.PNC_BUREAU, "PNC check request", {}, cmd.at
            )
            paper_file = await intake.create_paper_file(conn, cmd.case_id, cmd.at)
            await case_record.audit(
                conn, cmd.case_id, "registered", r.SYSTEM_ACTOR, "case registered in CID", cmd.at,
                {"subject_id": subject_id, "convictions": count, "paper_file": paper_file, "rule": "R04"},
            )

    @activity.defn
    async def restricted_step(self, cmd: r.RestrictedStep) -> None:
        """R05/R15/R53: withheld sections of the guidance. We record that the step was
        reached and do nothing else: the content is not ours to invent."""
        await case_record.audit(
            self.pool, cmd.case_id, f"restricted-{cmd.rule}", r.SYSTEM_ACTOR,
            "restricted step reached", cmd.at, {"rule": cmd.rule},
        )

    @activity.defn
    async def route_case(self, cmd: r.RouteCase) -> str:
        """R06: the team from the routing table."""
        async with self.pool.acquire() as conn, conn.transaction():
            routing = await intake.route(conn, cmd.eea, cmd.whereabouts)
            team = routing.subject
            if team is None:
                raise LookupError("no route in team_routes matches this case: add a catch-all row")
            await decisions.record(conn, cmd.case_id, "routed", routing, r.SYSTEM_ACTOR, cmd.at)
            await case_record.update_case(conn, cmd.case_id, cmd.at, team=team)
            await case_record.audit(
                conn, cmd.case_id, "routed", r.SYSTEM_ACTOR, "referred to team", cmd.at,
                {"team": team, "rule": "R06"},
            )
            return team

    @activity.defn
    async def open_task(self, cmd: r.OpenInboxTask) -> int:
        task_id = await case_record.write_audited(
            self.pool, inbox.OPEN_TASK,
            [cmd.case_id, cmd.key, cmd.kind, cmd.title, cmd.team, cmd.due_at, cmd.at, cmd.escalates],
            cmd.case_id, f"task-{cmd.key}-opened", r.SYSTEM_ACTOR, "task opened", cmd.at,
            {"task": cmd.key, "kind": cmd.kind, "team": cmd.team, "due_at": cmd.due_at.isoformat()},
            returning=True,
        )
        # None: a repeat of this activity, and the task (with its audit entry) exists.
        return int(task_id) if task_id is not None else await inbox.task_id_of(self.pool, cmd.case_id, cmd.key)

    @activity.defn
    async def complete_task(self, cmd: r.CompleteTask) -> None:
        async with self.pool.acquire() as conn, conn.transaction():
            await inbox.complete_task(conn, cmd.case_id, cmd.key, cmd.outcome, cmd.details, cmd.actor, cmd.at)
            await case_record.audit(
                conn, cmd.case_id, f"task-{cmd.key}-completed", cmd.actor, "task completed", cmd.at,
                {"task": cmd.key, "outcome": cmd.outcome},
            )

    @activity.defn
    async def escalate_task(self, cmd: r.EscalateTask) -> None:
        """A missed deadline: the task and case are marked overdue, a senior caseworker gets a review."""
        async with self.pool.acquire() as conn, conn.transaction():
            await inbox.mark_overdue(conn, cmd.case_id, cmd.key)
            await inbox.open_task(
                conn, cmd.case_id, cmd.review_key, "overdue_review", f"Review overdue task {cmd.key}",
                cmd.review_team, cmd.review_due_at, cmd.at, escalates=cmd.key,
            )
            await case_record.audit(
                conn, cmd.case_id, f"task-{cmd.key}-escalation-{cmd.number}", r.SYSTEM_ACTOR,
                "task escalated", cmd.at, {"task": cmd.key, "escalation": cmd.number},
            )

    @activity.defn
    async def send_message(self, cmd: r.SendMessage) -> None:
        await case_record.write_audited(
            self.pool, case_record.SEND_MESSAGE, [cmd.case_id, cmd.key, cmd.recipient, cmd.form, cmd.body, cmd.at],
            cmd.case_id, f"message-{cmd.key}", r.SYSTEM_ACTOR, "message sent", cmd.at,
            {"recipient": cmd.recipient, "form": cmd.form},
        )

    @activity.defn
    async def set_stage(self, cmd: r.SetStage) -> None:
        """The case's stage and fields. The workflow sends this on entering a stage and also
        for a change within one (owner, detention power, custody, ...): the audit log says
        "stage entered" only when the stage changes, else what changed (``cmd.action``, or
        "case updated") naming the fields."""
        changed = {"status": cmd.status, "outcome": cmd.outcome, "case_owner": cmd.case_owner,
                   "detention_power": cmd.detention_power, "custody": cmd.custody, "disclosable": cmd.disclosable}
        update, args = case_record.case_update(
            cmd.case_id, cmd.at, stage=cmd.stage.value, clear_outcome=cmd.clear_outcome, **changed)
        detail = {"stage": cmd.stage.value, "outcome": cmd.outcome, "status": cmd.status, "custody": cmd.custody}
        await case_record.write_stage_audited(
            self.pool, update, args, cmd.case_id, cmd.stage.value, f"stage-{cmd.seq}", r.SYSTEM_ACTOR, cmd.at,
            {k: v for k, v in detail.items() if v},
            sorted(k for k, v in changed.items() if v is not None and k != "status") + (["outcome"] if cmd.clear_outcome else []),
            within=cmd.action if cmd.action != r.STAGE_ENTERED else "case updated",
        )

    @activity.defn
    async def add_note(self, cmd: r.AddNote) -> None:
        await case_record.add_note(self.pool, cmd.case_id, cmd.key, cmd.text, cmd.at)

    @activity.defn
    async def record_event(self, cmd: r.AuditEvent) -> None:
        await case_record.audit(self.pool, cmd.case_id, cmd.event_key, cmd.actor, cmd.action, cmd.at, cmd.detail)

    @activity.defn
    async def record_message(self, cmd: r.RecordMessage) -> r.MessageStatus:
        """A message's audit entry, once per (kind, event ID): a repeat with other content is a conflict."""
        detail = {**cmd.detail, "content_sha256": cmd.content_hash, "delivery": cmd.delivery}
        if cmd.legacy_action and await case_record.legacy_event_seen(
            self.pool, cmd.case_id, cmd.detail["event_id"], cmd.legacy_action
        ):
            return r.MessageStatus.REPEAT
        if await case_record.audit(self.pool, cmd.case_id, cmd.event_key, cmd.actor, cmd.action, cmd.at, detail):
            return r.MessageStatus.NEW
        earlier = await case_record.audit_detail(self.pool, cmd.case_id, cmd.event_key) or {}
        if earlier.get("content_sha256") != cmd.content_hash:
            return r.MessageStatus.CONFLICT
        return r.MessageStatus.NEW if earlier.get("delivery") == cmd.delivery else r.MessageStatus.REPEAT

    @activity.defn
    async def record_decision(self, cmd: r.RecordDecision) -> None:
        """Issue 20: a decision the workflow took, once per (case, step)."""
        decision = Decision.from_stored(cmd.rule, cmd.outcome, cmd.subject, cmd.facts)
        await decisions.record(self.pool, cmd.case_id, cmd.step, decision, cmd.actor, cmd.at)

    @activity.defn
    async def close_case(self, cmd: r.CloseCase) -> None:
        async with self.pool.acquire() as conn, conn.transaction():
            await case_record.close_case(conn, cmd.case_id, cmd.outcome, cmd.at)
            await case_record.audit(
                conn, cmd.case_id, "closed", r.SYSTEM_ACTOR, "case closed", cmd.at, {"outcome": cmd.outcome}
            )
