"""What each message from another system does to a case, applied in its turn (messages-v2).

A message is recorded once by its kind and event ID (``record_message``: new, a repeat,
or a conflicting repeat), then takes effect: the person located (R16 -> R20), left the
UK (R11, per stage), a new ACRO certificate (R02/R03), representations (R43).
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Any

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.contract import CaseActivityContract as A
    from casework import keys
    from casework import records as r
    from casework.case import (
        CertificateReceived,
        Event,
        EventKind,
        EventResult,
        LeftUk,
        PersonLocated,
        RepresentationsReceived,
        Stage,
        content_hash,
        kind_of,
        message_key,
    )
    from casework.referral import WhereaboutsStatus
    from casework.refusals import Refusal, RefusalCode

from workflows.context import CaseRun
from workflows.human_task import HumanTasks
from workflows.inbox import Applied
from workflows.record import CaseRecord

#: Messages whose keys and hashes a case remembers, to answer a repeat without the CID.
RECENT_EVENTS = 256
#: How the audit log names each kind of message.
RECEIVED = MappingProxyType({
    EventKind.LOCATED: "person located", EventKind.LEFT_UK: "left the UK",
    EventKind.CERTIFICATE: "certificate event received", EventKind.REPRESENTATIONS: "representations received",
})
#: ... and how releases before messages-v2 named them (certificates by record_certificate).
LEGACY_ACTION = MappingProxyType({**RECEIVED, EventKind.CERTIFICATE: keys.CERTIFICATE_RECEIVED})
#: The refusal of a conflicting repeat, as clients recognise it (workflows/client.py).
CONFLICTING_REPEAT = ("{kind} event {id} was applied before with different content: refused; "
                      "send a new event ID for a new message")

#: R43: what a sender of representations is told once the Stage 1 window has ended.
RECORDED_AFTER_WINDOW = "representations recorded after the window ended (R43): the decision is not reopened"
#: R03: "located" before a disclosable certificate: the whereabouts are kept, the case still waits.
LOCATED_AWAITING_CERTIFICATE = ("whereabouts recorded ({custody}); the case waits for a disclosable certificate (R03) "
                                "before it goes on to the case owner (R20)")


def _conflicting(kind: EventKind, event_id: str) -> Refusal:
    return Refusal(RefusalCode.CONFLICTING_REPEAT, CONFLICTING_REPEAT.format(kind=kind.value, id=event_id))


class MessageEffects:
    def __init__(self, run: CaseRun, record: CaseRecord, tasks: HumanTasks) -> None:
        self.run, self.record, self.tasks = run, record, tasks

    async def apply(self, event: Event) -> Applied:
        s = self.run.s
        kind = kind_of(event)
        key = message_key(kind, event.event_id)
        digest = content_hash(event)
        known = s.recent_events.get(key)
        if known is not None:
            if known == digest:
                return EventResult.ALREADY_APPLIED, f"{kind.value} event {event.event_id} was applied before; nothing changed"
            return EventResult.REFUSED, _conflicting(kind, event.event_id)
        s.messages_applied += 1
        status = await self.record.act(A.record_message, r.RecordMessage(
            case_id=s.case_id, at=workflow.now(), event_key=keys.event_key(kind.value, event.event_id), actor=event.actor,
            action=RECEIVED[kind], content_hash=digest, delivery=s.messages_applied,
            legacy_action=LEGACY_ACTION[kind] if event.event_id in s.seen_events else None,
            detail={"event_id": event.event_id, "kind": kind.value, **_detail_of(event)},
        ))
        if status is r.MessageStatus.CONFLICT:
            return EventResult.REFUSED, _conflicting(kind, event.event_id)
        self._remember(key, digest)
        if status is r.MessageStatus.REPEAT:  # applied in an earlier run, past the window
            return EventResult.ALREADY_APPLIED, f"{kind.value} event {event.event_id} was applied before; nothing changed"
        if s.stage is Stage.CLOSED:
            return EventResult.REFUSED, Refusal(RefusalCode.CASE_CLOSED,
                                                "the case is closed; the message is recorded and changes nothing")
        if isinstance(event, PersonLocated):
            return EventResult.APPLIED, await self._located(event)
        if isinstance(event, LeftUk):
            return EventResult.APPLIED, await self._left_uk(event)
        if isinstance(event, CertificateReceived):
            return await self._certificate(event)
        assert isinstance(event, RepresentationsReceived)
        return EventResult.APPLIED, self._representations()

    def _representations(self) -> str:
        """R43: representations inside the Stage 1 window end it; later ones are recorded and
        change nothing (issue 25 item 3: they were answered as if they ended the window)."""
        s = self.run.s
        if s.notice_served_at is None:
            return "representations recorded; no Stage 1 notice has been served, so no response window is open (R43)"
        in_window = s.representations_at is None and not s.window_ended and (
            s.respond_by is None or workflow.now() <= s.respond_by)
        if in_window:
            s.representations_at = workflow.now()
            return "representations recorded; the Stage 1 response window ends (R43)"
        return RECORDED_AFTER_WINDOW

    def _remember(self, key: str, digest: str) -> None:
        recent = self.run.s.recent_events
        recent[key] = digest
        while len(recent) > RECENT_EVENTS:  # oldest first: dicts keep insertion order
            del recent[next(iter(recent))]

    async def _located(self, event: PersonLocated) -> str:
        s = self.run.s
        was_located = s.located
        s.whereabouts = event.custody
        s.release_date = event.release_date
        s.located_by = event.actor
        s.mark_located(event.custody is WhereaboutsStatus.DETAINED)
        await self.record.set_stage(action="whereabouts recorded", custody=event.custody.value)
        if was_located:
            return f"whereabouts updated: {event.custody.value}"
        if s.stage is Stage.AWAITING_CERTIFICATE:  # R03: nothing goes on without a disclosable certificate
            return LOCATED_AWAITING_CERTIFICATE.format(custody=event.custody.value)
        if s.stage in (Stage.INTAKE, Stage.REGISTRATION):
            return f"person located ({event.custody.value}); the case goes on to the case owner (R20) once it is registered"
        return f"person located ({event.custody.value}); the case goes on to the case owner (R20)"

    async def _left_uk(self, event: LeftUk) -> str:
        """R11 per stage (docs/design.md, "Decisions in brief"): before the case owner's stages
        it settles the NBTC or ICE task, or ends dormancy, and the case closes (R11/R12); from
        Stage C on the person has been located and action is under way, so the case owner is
        asked to decide."""
        s = self.run.s
        s.left_uk = True
        s.left_uk_by = event.actor
        if s.stage in (Stage.INTAKE, Stage.AWAITING_CERTIFICATE, Stage.REGISTRATION):
            return "recorded; the case closes at the NBTC check (R10/R11) once it is registered"
        if s.stage in (Stage.FIRST_ACTIONS, Stage.DORMANT):
            return "the case closes: left the UK before deport action (R11)"
        if any(t.kind == "left_uk_review" for t in s.open_tasks.values()):
            return "recorded; the case owner's review of an earlier report is open"
        task = await self.tasks.open("left_uk_review", awaited=False)  # not waited on: applied from the inbox
        return f"recorded; the case owner decides whether the case closes under R11 (task {task.key})"

    async def _certificate(self, event: CertificateReceived) -> Applied:
        s = self.run.s
        s.certificates_received += 1
        seq = s.certificates_received
        facts = await self.record.act(A.record_certificate, r.RecordCertificate(
            case_id=s.case_id, at=workflow.now(), seq=seq, certificate_id=event.certificate_id,
            actor=event.actor, event_id=event.event_id,
        ))
        if facts.refused is not None:  # e.g. an unknown certificate: refused, recorded, the case goes on
            s.certificates_received -= 1
            await self.record.audit(keys.refused_event_key(EventKind.CERTIFICATE.value, event.event_id), "message refused",
                                    {"kind": EventKind.CERTIFICATE.value, "event_id": event.event_id, "reason": facts.refused})
            return EventResult.REFUSED, Refusal(RefusalCode.CERTIFICATE_REFUSED, facts.refused)
        if not facts.disclosable:  # R02/R03 again: never kept, never used
            await self.record.act(A.apply_non_disclosable, r.DestroyCertificate(case_id=s.case_id, at=workflow.now(), seq=seq))
            return EventResult.APPLIED, "certificate not disclosable for immigration purposes: destroyed, ACRO asked again (R03)"
        s.most_serious = s.most_serious or facts.most_serious
        s.convictions_disclosable = True
        s.certificate_by = event.actor
        return EventResult.APPLIED, "disclosable certificate taken into the case (R02)"


def _detail_of(event: Event) -> dict[str, Any]:
    """What a message's audit entry says of it beside its ID (no personal data)."""
    if isinstance(event, PersonLocated):
        return {"custody": event.custody.value}
    if isinstance(event, CertificateReceived):
        return {"certificate_id": event.certificate_id}
    return {}
