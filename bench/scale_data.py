"""Years of cases in the CID: a generated population loaded in bulk through the real schema.

The proportions (``Mix``) are a deployment's after years of work: most cases closed, a
share dormant (R16: sleeping for years), the rest open across the stages, a few overdue;
cases routed to the three casework teams (R06), owned by one of a few hundred case owners
once allocated; five tasks a case on average (most settled), twenty audit rows a case.
Every case has a subject with its match keys (R04) and a referral (personal data, for the
R60 read). Nothing here is a real person: names are ``Subject 123``.

Rows go in with asyncpg's ``copy_records_to_table`` in case-ID order (so each index grows
at its right edge), with the foreign-key triggers off for the load (the generator makes
every reference itself; ``session_replication_role = replica`` needs the owner's login),
then ``ANALYZE``. IDs are ``acro-case-S0000001`` etc., apart from anything a test made.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Any

import asyncpg

from casework import keys
from casework.case import Stage
from casework.tasks import CC_WORKFLOW, ICE, NBTC, SENIOR_CASEWORKER, TASK_KINDS

#: The casework teams (the routing table of migration 0001) and their shares of cases.
TEAMS = {"CC EEA Team": 0.40, "CC Non-EEA Team": 0.45, "CC FNO Prison Team": 0.15}
#: Case owners per team: staff IDs ``cw.<team>.<n>``; the development identities own some too.
OWNERS_PER_TEAM = 100
DEV_OWNERS = {"CC EEA Team": ("cw.ben", "cw.eve"), "CC Non-EEA Team": ("cw.cara",), "CC FNO Prison Team": ("cw.dan",)}
#: Open cases by stage, and the open task each stage waits on (its kind).
OPEN_STAGES: dict[str, tuple[float, str]] = {
    Stage.AWAITING_CERTIFICATE.value: (0.05, "await_certificate"),
    Stage.FIRST_ACTIONS.value: (0.35, "nbtc_check"),
    Stage.LOCATED.value: (0.25, "detention_decision"),
    Stage.DETENTION.value: (0.10, "pursuit_decision"),
    Stage.CONSIDERATION.value: (0.20, "consideration_decision"),
    Stage.NOT_PURSUED.value: (0.05, "removals_consideration"),
}
SECOND_TASK = {"nbtc_check": "ice_tasking"}  # B: NBTC and ICE run side by side (R10, R14)
SETTLED_KINDS = ("nbtc_check", "ice_tasking", "allocate_case_owner", "police_contact", "detention_decision",
                 "pursuit_decision", "consideration_decision")
ACTIONS = ("stage entered", "task opened", "task completed", "message sent", "message received", "case updated")
YEARS = 10
START = datetime(2016, 1, 1, tzinfo=timezone.utc)


@dataclass(frozen=True)
class Mix:
    """The shares a deployment has after years (each of all cases)."""

    closed: float = 0.55
    dormant: float = 0.15  # open in law, asleep (R16); the rest are open and active
    overdue_of_open: float = 0.08
    owned_of_later_stages: float = 0.9
    tasks_per_case: float = 5.2
    audit_per_case: float = 20.2
    repeat_subject: float = 0.05  # a referral of someone the CID already holds (R04)


@dataclass
class Loaded:
    cases: int
    counts: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    #: Sample IDs for the measurements: open cases of each team, with their owners.
    samples: dict[str, list[str]] = field(default_factory=dict)
    owners: dict[str, list[str]] = field(default_factory=dict)


def case_id(n: int) -> str:
    return f"{keys.WORKFLOW_ID_PREFIX}S{n:07d}"


def owners_of(team: str) -> list[str]:
    slug = team.split()[1].lower()
    return list(DEV_OWNERS[team]) + [f"cw.{slug}.{i:03d}" for i in range(OWNERS_PER_TEAM)]


def _pick(rng: random.Random, shares: dict[str, float]) -> str:
    x, acc = rng.random(), 0.0
    for key, share in shares.items():
        acc += share
        if x < acc:
            return key
    return key


_TEAM_OF_KIND = {name: kind.team for name, kind in TASK_KINDS.items()}


def _task_team(kind: str, team: str, owner: str | None) -> str:
    fixed = _TASK_KIND_TEAMS.get(_TEAM_OF_KIND[kind])
    if fixed is not None:
        return fixed
    return owner or team  # a case owner's task: the owner once allocated, else the case's team


_TASK_KIND_TEAMS = {NBTC: NBTC, ICE: ICE, CC_WORKFLOW: CC_WORKFLOW, SENIOR_CASEWORKER: SENIOR_CASEWORKER}


@dataclass
class _Batch:
    subjects: list[tuple] = field(default_factory=list)
    identifiers: list[tuple] = field(default_factory=list)
    cases: list[tuple] = field(default_factory=list)
    referrals: list[tuple] = field(default_factory=list)
    tasks: list[tuple] = field(default_factory=list)
    audit: list[tuple] = field(default_factory=list)


def generate(first: int, count: int, total: int, mix: Mix, now: datetime, seed: int) -> _Batch:
    """Cases ``first`` .. ``first + count - 1`` of ``total``, opened in ID order over ``YEARS`` years."""
    rng = random.Random(seed * 1_000_003 + first)
    span = (now - START).total_seconds()
    b = _Batch()
    owners = {team: owners_of(team) for team in TEAMS}
    made: list[int] = []  # subjects made in this batch (a repeat refers to one of them)
    open_shares = {stage: share for stage, (share, _) in OPEN_STAGES.items()}
    for n in range(first, first + count):
        cid = case_id(n)
        opened = START + timedelta(seconds=span * (n + rng.random()) / max(total, 1))
        age = now - opened
        team = _pick(rng, TEAMS)
        # The older the case, the likelier it is closed; the shares over all cases hold.
        x = rng.random()
        closed_p = min(0.98, mix.closed * 2 * (age.total_seconds() / span))
        status = "closed" if x < closed_p else ("dormant" if x < closed_p + mix.dormant else "open")
        if status == "closed":
            stage = Stage.CLOSED.value
        elif status == "dormant":
            stage = Stage.DORMANT.value
        else:
            stage = _pick(rng, open_shares)
        later = stage not in (Stage.AWAITING_CERTIFICATE.value, Stage.FIRST_ACTIONS.value, Stage.DORMANT.value)
        owner = rng.choice(owners[team]) if later and rng.random() < mix.owned_of_later_stages else None
        overdue = status == "open" and rng.random() < mix.overdue_of_open
        updated = opened + timedelta(days=rng.uniform(0, max(age.days, 1)))
        closed_at = updated if status == "closed" else None
        subject = n if not made or rng.random() >= mix.repeat_subject else rng.choice(made)
        if subject == n:
            made.append(n)
            dob = date(1960, 1, 1) + timedelta(days=rng.randrange(16_000))
            b.subjects.append((n, f"Subject {n}", "[]", dob, ["POL"], f"PNC/{n:08d}X", opened))
            b.identifiers.append((f"name-dob:subject {n}|{dob.isoformat()}", n))
            b.identifiers.append((f"pnc:{n:08d}x", n))
        b.cases.append((cid, f"S/{n:07d}", subject, stage, status, team, owner, team == "CC EEA Team",
                        True, rng.random() < 0.1, None, None, "closed" if status == "closed" else None,
                        overdue, opened, updated, closed_at))
        b.referrals.append((cid, f"Subject {n}", "[]", None, ["POL"], "[]", None, None, None, None, None,
                            json.dumps({"status": "unknown"}), opened))
        # Tasks: the settled ones first, then what an open case waits on.
        settled = max(0, round(rng.expovariate(1 / (mix.tasks_per_case - 0.5)))) if mix.tasks_per_case > 0.5 else 0
        at = opened
        for i in range(settled):
            kind = SETTLED_KINDS[i % len(SETTLED_KINDS)]
            at = at + timedelta(days=rng.uniform(1, 20))
            done = status != "closed" or i < settled - 1 or rng.random() < 0.8
            b.tasks.append((cid, f"{kind}-{i + 1}", kind, TASK_KINDS[kind].title, _task_team(kind, team, owner),
                            owner if rng.random() < 0.3 else None, "done" if done else "cancelled", at + timedelta(days=10),
                            False, "done" if done else None, None if done else None, "scale.generator" if done else None,
                            at - timedelta(days=5), at))
        if status == "open":
            kind = OPEN_STAGES[stage][1]
            kinds = [kind] + ([SECOND_TASK[kind]] if kind in SECOND_TASK and rng.random() < 0.5 else [])
            for j, k in enumerate(kinds):
                due = now + timedelta(days=rng.uniform(-20, -1) if overdue else rng.uniform(0.5, 30))
                b.tasks.append((cid, f"{k}-{settled + j + 1}", k, TASK_KINDS[k].title, _task_team(k, team, owner),
                                owner if rng.random() < 0.3 else None, "open", due, overdue and due < now, None, None,
                                None, min(due - timedelta(days=10), now), None))
            if overdue:
                k = "overdue_review"
                b.tasks.append((cid, f"{k}-{settled + 3}", k, TASK_KINDS[k].title, SENIOR_CASEWORKER, None, "open",
                                now + timedelta(days=rng.uniform(1, 5)), False, None, None, None, now - timedelta(days=1),
                                None))
        audits = max(1, round(rng.gauss(mix.audit_per_case, mix.audit_per_case / 4)))
        step = max(age, timedelta(hours=1)) / audits
        for i in range(audits):
            b.audit.append((cid, f"scale-{i}", "scale.generator", ACTIONS[i % len(ACTIONS)], "{}", opened + step * i))
    return b


_COLUMNS = {
    "subjects": ("id", "name", "aliases", "date_of_birth", "nationalities", "pnc_id", "created_at"),
    "subject_identifiers": ("match_key", "subject_id"),
    "cases": ("id", "acro_reference", "subject_id", "stage", "status", "team", "case_owner", "eea", "disclosable",
              "most_serious", "detention_power", "custody", "outcome", "overdue", "opened_at", "updated_at", "closed_at"),
    "referrals": ("case_id", "name", "aliases", "date_of_birth", "nationalities", "identity_documents", "pnc_id",
                  "interpol_check", "requesting_officer", "reason_for_request", "last_known_address", "whereabouts",
                  "received_at"),
    "tasks": ("case_id", "task_key", "kind", "title", "team", "assignee", "status", "due_at", "overdue", "outcome",
              "outcome_details", "completed_by", "created_at", "completed_at"),
    "audit_log": ("case_id", "event_key", "actor", "action", "detail", "occurred_at"),
}
_BATCH_ATTR = {"subjects": "subjects", "subject_identifiers": "identifiers", "cases": "cases",
               "referrals": "referrals", "tasks": "tasks", "audit_log": "audit"}
#: Cases per generated batch: enough for COPY to pay, small enough to stay a few MB.
BATCH = 20_000


async def load(
    dsn: str, cases: int, *, mix: Mix = Mix(), now: datetime | None = None, seed: int = 22,
    progress: Callable[[int], None] | None = None, analyze: bool = True,
) -> Loaded:
    """Add ``cases`` generated cases (and their subjects, tasks, audit rows) to the CID at
    ``dsn`` (the owner's login, migrated), then ANALYZE. The CID should hold no generated
    cases yet: IDs start at 1."""
    now = now or datetime.now(timezone.utc)
    result = Loaded(cases)
    started = time.perf_counter()
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("SET session_replication_role = replica")  # no FK triggers: we make every reference
        await conn.execute("SET synchronous_commit = off")
        base = int(await conn.fetchval("SELECT coalesce(max(id), 0) FROM subjects")) + 1
        timings = {table: 0.0 for table in _COLUMNS}
        generating = 0.0
        for first in range(1, cases + 1, BATCH):
            count = min(BATCH, cases + 1 - first)
            t0 = time.perf_counter()
            batch = generate(first, count, cases + 1, mix, now, seed)
            generating += time.perf_counter() - t0
            if base != 1:  # a CID with subjects of its own: shift ours past them
                batch.subjects = [(s[0] + base, *s[1:]) for s in batch.subjects]
                batch.identifiers = [(k, s + base) for k, s in batch.identifiers]
                batch.cases = [(c[0], c[1], c[2] + base, *c[3:]) for c in batch.cases]
            async with conn.transaction():
                for table, columns in _COLUMNS.items():
                    rows = getattr(batch, _BATCH_ATTR[table])
                    t0 = time.perf_counter()
                    await conn.copy_records_to_table(table, records=rows, columns=columns)
                    timings[table] += time.perf_counter() - t0
                    result.counts[table] = result.counts.get(table, 0) + len(rows)
            if progress is not None:
                progress(count)
        await conn.execute(f"SELECT setval('subjects_id_seq', {base + cases})")
        t0 = time.perf_counter()
        if analyze:
            await conn.execute("ANALYZE")
        result.seconds = {"generate": generating, **{f"copy {t}": s for t, s in timings.items()},
                          "analyze": time.perf_counter() - t0, "total": time.perf_counter() - started}
        result.samples, result.owners = await _samples(conn, cases, seed)
    finally:
        await conn.close()
    return result


async def _samples(conn: asyncpg.Connection, cases: int, seed: int) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """Up to 200 open cases of each team, picked at random over the years, and each team's owners."""
    rng = random.Random(seed)
    picks = [case_id(rng.randrange(1, cases + 1)) for _ in range(3000)]
    rows = await conn.fetch("SELECT id, team FROM cases WHERE id = ANY($1::text[]) AND status <> 'closed'", picks)
    samples = {team: [r["id"] for r in rows if r["team"] == team][:200] for team in TEAMS}
    return samples, {team: owners_of(team) for team in TEAMS}


def records(batch: _Batch) -> Iterator[tuple[str, int]]:
    for table in _COLUMNS:
        yield table, len(getattr(batch, _BATCH_ATTR[table]))


def summary(loaded: Loaded) -> dict[str, Any]:
    return {"cases": loaded.cases, "rows": loaded.counts, "seconds": loaded.seconds}
