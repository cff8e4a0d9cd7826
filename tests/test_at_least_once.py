"""At-least-once delivery: every Stage A activity executed twice writes the CID once.

A worker interceptor runs each activity body twice (await it, then run it again and
return the second result), on the real dev server and the real CID. The rows each case
leaves are compared, table by table, with a clean run of the same path.
"""

from __future__ import annotations

import uuid
from collections import Counter
from typing import Any

import asyncpg
from temporalio.client import Client
from temporalio.worker import (
    ActivityInboundInterceptor,
    ExecuteActivityInput,
    Interceptor,
    Worker,
)

from activities.case_activities import CaseActivities
from casework.referral import DISCLOSABLE_PURPOSE
from casework.settings import ProcessSettings
from tests.support import Case, referral, running_worker, until
from tests.test_intake import stop_running
from workflows.case import CaseWorkflow

CRIMINAL_PROCEEDINGS = "Request for criminal proceedings"
STAGE_A_ACTIVITIES = {
    "load_settings", "record_referral", "apply_non_disclosable", "record_certificate", "register_case",
    "restricted_step", "route_case", "set_stage", "open_task", "complete_task",
}


class _Twice(ActivityInboundInterceptor):
    def __init__(self, next: ActivityInboundInterceptor, runs: Counter[str]) -> None:
        super().__init__(next)
        self.runs = runs

    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        from temporalio import activity

        name = activity.info().activity_type
        await super().execute_activity(input)  # the attempt whose completion was "lost"
        self.runs[name] += 1
        result = await super().execute_activity(input)  # the redelivery
        self.runs[name] += 1
        return result


class RunTwice(Interceptor):
    """Every activity body runs twice per attempt; ``runs`` counts executions by activity type."""

    def __init__(self) -> None:
        self.runs: Counter[str] = Counter()

    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        return _Twice(next, self.runs)


def certificate(purpose: str, *offences: str) -> dict[str, Any]:
    return {
        "request_purpose": purpose,
        "convictions": [
            {"country": "IT", "offence": o, "category": "violence", "conviction_date": "2009-09-09"} for o in offences
        ],
    }


# Per-case tables, and how their rows are told apart (compared as sets besides the counts).
CASE_TABLES = {
    "cases": "SELECT stage AS k FROM cases WHERE id = $1",
    "referrals": "SELECT name IS NOT NULL AS k FROM referrals WHERE case_id = $1",
    "certificates": "SELECT seq::text AS k FROM certificates WHERE case_id = $1",
    "convictions": "SELECT seq::text AS k FROM convictions WHERE case_id = $1",
    "calendar_events": "SELECT event_type AS k FROM calendar_events WHERE case_id = $1",
    "notes": "SELECT note_key AS k FROM notes WHERE case_id = $1",
    "paper_files": "SELECT created_at IS NOT NULL AS k FROM paper_files WHERE case_id = $1",
    "tasks": "SELECT task_key || ':' || status AS k FROM tasks WHERE case_id = $1",
    "outbound_messages": "SELECT message_key AS k FROM outbound_messages WHERE case_id = $1",
    "audit_log": "SELECT event_key AS k FROM audit_log WHERE case_id = $1",
    "intake_certificates": "SELECT event_id AS k FROM intake_certificates WHERE case_id = $1",
}


async def footprint(pool: asyncpg.Pool, case: Case) -> dict[str, tuple[int, list[str]]]:
    """Rows per table for one case: (count, sorted keys). Subjects are counted by the
    case's (unique) name, so a second subject made by a repeat would show."""
    found: dict[str, tuple[int, list[str]]] = {}
    for table, sql in CASE_TABLES.items():
        keys = sorted(r["k"] for r in await pool.fetch(sql, case.id))
        found[table] = (len(keys), keys)
    subjects = [r["id"] for r in await pool.fetch("SELECT id FROM subjects WHERE name = $1", case.referral.name)]
    found["subjects"] = (len(subjects), [])
    identifiers = await pool.fetch(
        "SELECT match_key FROM subject_identifiers WHERE subject_id = ANY($1::bigint[])", subjects)
    # Match keys carry the (unique) name; strip it so two runs compare.
    found["subject_identifiers"] = (len(identifiers), sorted(k["match_key"].split(":")[0] for k in identifiers))
    return found


async def disclosable_path(client: Client, pool: asyncpg.Pool, task_queue: str) -> Case:
    ref = referral(name=f"Luca Bianchi {uuid.uuid4().hex[:8]}", nationalities=["IT"], pnc_id=None,
                   certificate=certificate(DISCLOSABLE_PURPOSE, "Robbery", "Assault"))
    case = await Case.start(client, pool, task_queue, ref)
    await case.task("nbtc_check")
    return case


async def non_disclosable_path(client: Client, pool: asyncpg.Pool, task_queue: str) -> Case:
    ref = referral(name=f"Marco Rossi {uuid.uuid4().hex[:8]}", nationalities=["IT"],
                   certificate=certificate(CRIMINAL_PROCEEDINGS, "Theft"))
    case = await Case.start(client, pool, task_queue, ref)
    await case.task("await_certificate")
    await case.certificate(certificate(CRIMINAL_PROCEEDINGS, "Fraud"), event_id="second")
    # The second certificate is taken and destroyed before the third arrives.
    await until(lambda: pool.fetchval("SELECT destroyed_at FROM certificates WHERE case_id = $1 AND seq = 2", case.id),
                "the second certificate to be destroyed", 15, 0.05)
    await case.certificate(certificate(DISCLOSABLE_PURPOSE, "Burglary", "Arson"), event_id="third")
    await case.task("nbtc_check")
    return case


async def test_every_stage_A_activity_twice_writes_once(dev_env, pool, task_queue):
    """R01-R06 under at-least-once delivery: identical rows to a clean run, table by table."""
    async with running_worker(dev_env.client, pool, task_queue):
        clean = [await disclosable_path(dev_env.client, pool, task_queue),
                 await non_disclosable_path(dev_env.client, pool, task_queue)]

    twice = RunTwice()
    worker = Worker(
        dev_env.client,
        task_queue=f"{task_queue}-twice",
        workflows=[CaseWorkflow],
        activities=CaseActivities(pool, ProcessSettings()).registered(),
        interceptors=[twice],
    )
    async with worker:
        repeated = [await disclosable_path(dev_env.client, pool, f"{task_queue}-twice"),
                    await non_disclosable_path(dev_env.client, pool, f"{task_queue}-twice")]

    await stop_running(dev_env.client, task_queue, f"{task_queue}-twice")

    # The interceptor did run every Stage A activity body twice.
    assert STAGE_A_ACTIVITIES <= set(twice.runs), set(twice.runs)
    assert all(n % 2 == 0 for n in twice.runs.values()), twice.runs

    for expected, actual in zip(clean, repeated):
        want, got = await footprint(pool, expected), await footprint(pool, actual)
        assert got == want, {t: (want[t], got[t]) for t in want if want[t] != got[t]}
        assert want["subjects"][0] == 1 and want["convictions"][0] == 2 and want["calendar_events"][0] == 1

    # The non-disclosable case: both non-disclosable certificates destroyed exactly once each.
    _, non_disclosable = repeated
    destroyed = await pool.fetch(
        "SELECT seq FROM certificates WHERE case_id = $1 AND destroyed_at IS NOT NULL ORDER BY seq", non_disclosable.id)
    assert [r["seq"] for r in destroyed] == [1, 2]
