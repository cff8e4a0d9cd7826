"""R04: which subjects in the CID may join different people (an operator's check).

Before subject matching folded names in every script, a name written without Latin
letters folded to nothing, so referrals with one date of birth met under the key
``name-dob::<date>`` and shared a subject. This reads the subjects that hold such a key,
or whose cases today's fold keys differently from what the subject holds, and says which
and why - by subject and case IDs only: names are read to recompute keys, never returned.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import asyncpg

from casework.rules import Identity, is_weak_name_key, subject_match_keys

WEAK_KEY = "name-dob key with an empty or too-short folded name (matched on date of birth alone)"
SPLIT = "its cases share no match key under today's fold (they may be different people)"
REKEYED = "a case's name and date of birth key differently under today's fold (a new referral would not find this subject)"

_SUBJECTS = """
    SELECT c.subject_id, c.id AS case_id, r.name, r.date_of_birth, r.pnc_id, r.identity_documents
    FROM cases c JOIN referrals r ON r.case_id = c.id
    WHERE c.subject_id IS NOT NULL AND c.personal_data_purged_at IS NULL
    ORDER BY c.subject_id, c.id
"""
_KEYS = "SELECT subject_id, match_key FROM subject_identifiers ORDER BY subject_id, match_key"


@dataclass
class SuspectSubject:
    subject_id: int
    case_ids: list[str]
    reasons: list[str] = field(default_factory=list)


def diagnose(held: set[str], cases: dict[str, list[str]]) -> list[str]:
    """Why one subject is suspect: ``held`` its stored keys, ``cases`` each case's keys today."""
    reasons = []
    if any(is_weak_name_key(k) for k in held):
        reasons.append(WEAK_KEY)
    if len(cases) > 1 and len(_linked_groups(cases)) > 1:
        reasons.append(SPLIT)
    if any(k.startswith("name-dob:") and k not in held for keys in cases.values() for k in keys):
        reasons.append(REKEYED)
    return reasons


def _linked_groups(cases: dict[str, list[str]]) -> list[set[str]]:
    """The cases joined, directly or through others, by a shared key."""
    groups: list[tuple[set[str], set[str]]] = []  # (case IDs, keys)
    for case_id, keys in cases.items():
        mine = ({case_id}, set(keys))
        for group in [g for g in groups if g[1] & mine[1]]:
            groups.remove(group)
            mine = (mine[0] | group[0], mine[1] | group[1])
        groups.append(mine)
    return [ids for ids, _ in groups]


async def suspect_subjects(conn: asyncpg.Connection) -> list[SuspectSubject]:
    held: dict[int, set[str]] = {}
    for row in await conn.fetch(_KEYS):
        held.setdefault(row["subject_id"], set()).add(row["match_key"])
    cases: dict[int, dict[str, list[str]]] = {}
    for row in await conn.fetch(_SUBJECTS):
        identity = Identity(
            name=row["name"], date_of_birth=row["date_of_birth"], pnc_id=row["pnc_id"],
            documents=tuple((d["issuing_country"], d["kind"], d["number"]) for d in row["identity_documents"]),
        )
        cases.setdefault(row["subject_id"], {})[row["case_id"]] = subject_match_keys(identity)
    found = []
    for subject_id in sorted(set(held) | set(cases)):
        reasons = diagnose(held.get(subject_id, set()), cases.get(subject_id, {}))
        if reasons:
            found.append(SuspectSubject(subject_id, sorted(cases.get(subject_id, {})), reasons))
    return found
