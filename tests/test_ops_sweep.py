"""Issue 22: the stuck-case sweep over every case (activities/sweep.py), by ``casework stuck
--sweep`` and ``GET /ops/stuck``: each kind of stuck case planted, each found, with counts,
and no personal data in what either says.

On a dev server of its own and a CID of its own (so that the counts are this test's): the
cases are CID rows and sleeping case workflows (bench/sleeping.py: started with a start
delay of years on a queue no worker polls), as a deployment's dormant cases are.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import AsyncIterator

import asyncpg
import pytest
from temporalio.client import Client

from bench.sleeping import Sleeper, start_sleeping
from activities.sweep import REASONS
from tests.cli_support import Casework, cli_environment
from tests.ops_support import listed, ops_server, own_cid_of

NAME = "Zbigniew Qwertyukowski"
STAGE, TEAM = "B-first-actions", "CC EEA Team"


@pytest.fixture(scope="module")
async def ops_env():  # noqa: ANN201
    async with ops_server() as env:
        yield env


@pytest.fixture(scope="module")
async def own_cid(database_url: str) -> AsyncIterator[tuple[str, asyncpg.Pool]]:
    async with own_cid_of(database_url, 1) as cid:  # <name>_scale_1
        yield cid


async def _case(pool: asyncpg.Pool, case_id: str, *, stage: str = STAGE, status: str = "open",
                overdue_task: bool = False) -> None:
    old = datetime.now(timezone.utc) - timedelta(days=30)
    await pool.execute(
        "INSERT INTO cases (id, acro_reference, stage, status, team, eea, opened_at, updated_at, overdue)"
        " VALUES ($1, $1, $2, $3, $4, true, $5, $5, $6)", case_id, stage, status, TEAM, old, overdue_task)
    await pool.execute(
        "INSERT INTO referrals (case_id, name, nationalities, whereabouts, received_at, date_of_birth)"
        " VALUES ($1, $2, '{POL}', '{}', $3, '1971-04-13')", case_id, NAME, old)
    due = datetime.now(timezone.utc) + (timedelta(days=-2) if overdue_task else timedelta(days=5))
    await pool.execute(
        "INSERT INTO tasks (case_id, task_key, kind, title, team, due_at, created_at, overdue)"
        " VALUES ($1, 'nbtc_check-1', 'nbtc_check', 'NBTC check', 'NBTC', $2, $3, $4)", case_id, due, old, overdue_task)


async def _plant(client: Client, pool: asyncpg.Pool) -> dict[str, str]:
    tag = uuid.uuid4().hex[:6]
    ids = {kind: f"acro-case-W{tag}-{kind}" for kind in
           ("healthy", "overdue", "terminated", "gone", "no_cid_row", "disagree", "closed")}
    await _case(pool, ids["healthy"])
    await _case(pool, ids["overdue"], overdue_task=True)
    await _case(pool, ids["terminated"])
    await _case(pool, ids["gone"])
    await _case(pool, ids["disagree"], stage="C-located")  # the workflow still says B (a hand edit, a restore)
    await _case(pool, ids["closed"], status="closed", stage="closed")
    sleepers = [Sleeper(ids["healthy"], STAGE, TEAM), Sleeper(ids["overdue"], STAGE, TEAM, overdue=True),
                Sleeper(ids["terminated"], STAGE, TEAM), Sleeper(ids["no_cid_row"], STAGE, TEAM),
                Sleeper(ids["disagree"], STAGE, TEAM), Sleeper(ids["closed"], STAGE, TEAM)]
    await start_sleeping(client, sleepers)
    await client.get_workflow_handle(ids["terminated"]).terminate(reason="behind the CID's back")
    for case_id in (ids["healthy"], ids["no_cid_row"], ids["disagree"], ids["closed"]):
        await listed(client, 'ExecutionStatus = "Running"', case_id)
    await listed(client, 'ExecutionStatus = "Terminated"', ids["terminated"])
    return ids


EXPECTED = {"overdue_task": ["overdue"], "workflow_not_running": ["gone", "terminated"], "no_cid_case": ["no_cid_row"],
            "attributes_disagree": ["disagree"], "cid_closed_workflow_running": ["closed"]}


async def test_sweep_finds_each_kind_of_stuck_case(ops_env, own_cid, pool, database_url, tmp_path: Path) -> None:
    """Each planted kind found once, under its reason, by the command and by the API; the
    healthy case not at all; counts that add up; no name or date of birth anywhere."""
    from tests.api_support import serving_api

    dsn, cid = own_cid
    client = ops_env.client
    ids = await _plant(client, cid)
    names = {v: k for k, v in ids.items()}

    env = cli_environment(dsn, client.service_client.config.target_host, "sweep-test", tmp_path / "data")
    ran = await Casework(env, pool, tmp_path).ok("stuck", "--sweep", "--grace", "0", "--json")
    report = ran.json()
    assert report["counts"] == {reason: len(kinds) for reason, kinds in EXPECTED.items()}
    assert {reason: sorted(names[i] for i in found) for reason, found in report["examples"].items()} == EXPECTED
    assert report["not_running_by_status"] == {"NOT_FOUND": 1, "TERMINATED": 1}
    assert report["open_cases_seen"] == 5 and report["workflows_seen"] == 5
    text = await Casework(env, pool, tmp_path).ok("stuck", "--sweep", "--grace", "0")
    for reason in REASONS:
        assert reason in text.out

    async with serving_api(client, "sweep-test", dsn) as api:
        answer = await api.call("GET", "/ops/stuck", "ops.ivy", params={"grace_seconds": 0})
        refused = await api.call("GET", "/ops/stuck", "cw.ben")
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("application/x-ndjson")
    lines = [json.loads(line) for line in answer.text.splitlines()]
    findings, summary = lines[:-1], lines[-1]["summary"]
    assert sorted((f["reason"], names[f["case_id"]]) for f in findings) == sorted(
        (reason, kind) for reason, kinds in EXPECTED.items() for kind in kinds)
    assert summary["counts"] == report["counts"]
    assert refused.status_code == 403 and "operators" in refused.json()["detail"]

    for said in (ran.out, text.out, answer.text):
        assert NAME not in said and "Qwertyukowski" not in said and "1971-04-13" not in said
    # The default grace: the workflow started a moment ago is not yet "missing its case row".
    fresh = (await Casework(env, pool, tmp_path).ok("stuck", "--sweep", "--json")).json()
    assert fresh["counts"]["no_cid_case"] == 0
