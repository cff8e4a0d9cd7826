"""The string keys one layer writes and another reads, each defined once.

The workflow and activities write them into Temporal and the CID; the read model
(``cid/read_model.py``), the command line and operators' queries read them back. A
literal repeated elsewhere would silently stop matching when one side changed, so
``tests/test_keys.py`` refuses a second literal of any of them in product code.
Changing a value here is a data migration: rows and histories already hold the old one.
"""

from __future__ import annotations

from enum import StrEnum

#: The case workflow's type name, as Temporal records it (and visibility queries name it).
WORKFLOW_TYPE = "AcroCase"
#: Every case's workflow ID (and CID case ID) starts with this (``casework.case.case_id_for``).
WORKFLOW_ID_PREFIX = "acro-case-"
#: The audit log's action for a certificate handed to a case (R03/R04).
CERTIFICATE_RECEIVED = "certificate received"
#: The outbound message key of the Stage 1 notice (R40-R42), one per case.
STAGE1_NOTICE = "stage1-notice"
#: The field of the Stage 1 notice's body holding the end of its response window (R42/R43).
RESPOND_BY = "respond_by"
#: The recipient of a submission that deportation is not appropriate (R50).
DIRECTOR = "CC Director (SCS PB1)"


class Recipient(StrEnum):
    """Who the case's outbound messages go to: the workflow addresses them, the CID records
    them, and the access policy says who reads each one's feed (``access/policy.py``)."""

    PNC_BUREAU = "PNC Bureau"  # ICD.5079 / ICD5080 (R13, R21), the PNC check (R04)
    ICE = "ICE"  # tasking and detention requests (R14, R45)
    NBTC = "NBTC"
    ACRO = "ACRO"  # certificate requests (R03, R23), R52 advice
    DIRECTOR = DIRECTOR  # R50 submissions
    REMOVALS_CASEWORK = "Removals Casework"  # R51
    SUBJECT = "subject"  # the Stage 1 notice (R41)
    RELEVANT_DEPARTMENTS = "relevant departments"  # after deportation (R46)


#: What every message's audit key starts with.
_EVENT = "event-"


def event_key(kind: str, event_id: str) -> str:
    """The audit log's key for a message from another system: one row per (kind, event ID),
    holding its content hash, so a repeat is recognised and a conflicting one refused."""
    return f"{_EVENT}{kind}:{event_id}"


def refused_event_key(kind: str, event_id: str) -> str:
    """The audit log's key for a message the case refused (an unknown certificate, say)."""
    return f"{_EVENT}refused-{kind}:{event_id}"


def legacy_event_key(event_id: str) -> str:
    """How releases before messages-v2 keyed a message: by its event ID alone, of any kind."""
    return _EVENT + event_id
