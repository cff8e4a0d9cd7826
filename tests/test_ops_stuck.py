"""``casework stuck``: overdue and failing cases found through Temporal's visibility and
cross-checked against the CID, each with the reason it is stuck; healthy cases left out.

On a dev server of its own, so that a failing workflow task is reported
(TemporalReportedProblems) at its first failure.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import AsyncIterator

import pytest

from casework.settings import ProcessSettings
from starter.ops import CidSide, CidTask, TemporalSide, diagnose, visibility_queries
from tests.cli_support import Casework, cli_environment
from tests.ops_support import listed, ops_server, wrong_key_client
from tests.support import Case, referral, running_worker

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=timezone.utc)
PAST = NOW - timedelta(days=3)
FUTURE = NOW + timedelta(days=3)


@pytest.fixture(scope="module")
async def ops_env():  # noqa: ANN201
    async with ops_server() as env:
        yield env


def _codes(temporal: TemporalSide | None, cid: CidSide | None) -> list[str]:
    return [r.code for r in diagnose(temporal, cid, NOW)]


def _cid(status: str = "open", *, overdue: bool = False, due: datetime = FUTURE, escalated: bool = False) -> CidSide:
    return CidSide("B-first-actions", status, "CC EEA Team", overdue,
                   [CidTask("nbtc_check-1", "nbtc_check", "NBTC", due, escalated)])


def test_diagnosis_of_each_kind_of_stuck_case() -> None:
    """The reasons, one situation at a time (pure: no server)."""
    running = TemporalSide("RUNNING", "B-first-actions", "CC EEA Team", "nbtc_check", FUTURE, False)
    assert _codes(running, _cid()) == []  # healthy
    overdue = TemporalSide("RUNNING", "B-first-actions", "CC EEA Team", "nbtc_check", FUTURE, True)
    assert _codes(overdue, _cid(overdue=True, due=PAST, escalated=True)) == ["task_overdue"]
    passed = TemporalSide("RUNNING", "B-first-actions", "CC EEA Team", "nbtc_check", PAST, False)
    assert _codes(passed, _cid(due=PAST)) == ["task_past_due", "deadline_not_acted_on"]
    failing = TemporalSide("RUNNING", problems=["category=WorkflowTaskFailed"])
    assert _codes(failing, None) == ["workflow_task_failing", "no_cid_case"]
    assert _codes(running, _cid("closed")) == ["cid_closed_workflow_running"]
    assert _codes(running, _cid(overdue=True, due=PAST, escalated=True)) == ["task_overdue", "cid_overdue_temporal_unaware"]
    assert _codes(overdue, _cid()) == ["temporal_overdue_cid_unaware"]
    assert _codes(TemporalSide("TERMINATED"), _cid(due=PAST)) == ["task_past_due", "workflow_not_running"]
    assert _codes(TemporalSide("NOT_FOUND"), _cid(due=PAST))[-1] == "workflow_not_running"
    # A closed case with a stale task row is not stuck: its workflow has finished.
    assert _codes(TemporalSide("COMPLETED"), _cid("closed")) == []


def test_queries_are_the_saved_queries() -> None:
    queries = visibility_queries(NOW)
    assert queries["overdue"].endswith("Overdue = true")
    assert queries["problems"].endswith("TemporalReportedProblems IS NOT NULL")
    assert queries["deadline_passed"].endswith('NextDeadline < "2026-03-02T12:00:00Z"')


async def test_stuck_reports_overdue_failing_and_disagreeing_cases(ops_env, pool, database_url, task_queue, tmp_path):
    """One overdue NBTC check (R10, escalated), one failing case, two where the CID
    and Temporal disagree, one healthy: each stuck one with its reason, the healthy one absent."""
    client = ops_env.client
    wrong = await wrong_key_client(client)
    fast = ProcessSettings(deadline_days={"nbtc_check": 0})  # the deadline passes ~1 s after the task opens
    async with (
        running_worker(client, pool, task_queue),
        running_worker(client, pool, task_queue + "-fast", fast),
        running_worker(wrong, pool, task_queue + "-wrong-key"),
    ):
        healthy, cid_closed, cid_overdue = [await Case.start(client, pool, task_queue, referral()) for _ in range(3)]
        overdue = await Case.start(client, pool, task_queue + "-fast", referral())
        failing = await Case.start(client, pool, task_queue + "-wrong-key", referral())
        for case in (healthy, cid_closed, cid_overdue):
            await case.task("nbtc_check")
        await overdue.wait_for(lambda v: v.overdue)
        # The CID drifts from Temporal (a hand edit, a restored backup): stuck says so.
        await pool.execute("UPDATE cases SET status = 'closed' WHERE id = $1", cid_closed.id)
        await pool.execute("UPDATE tasks SET overdue = true WHERE case_id = $1", cid_overdue.id)
        await listed(client, 'Overdue = true AND WaitingOn = "nbtc_check"', overdue.id)
        await listed(client, "TemporalReportedProblems IS NOT NULL", failing.id)

        env = cli_environment(database_url, client.service_client.config.target_host, task_queue, tmp_path / "data")
        cw = Casework(env, pool, tmp_path)
        report = (await cw.ok("stuck", "--json")).json()
        by_id = {c["case_id"]: c for c in report["cases"]}
        text = await cw.ok("stuck")

        for case in (overdue, failing, healthy, cid_closed, cid_overdue):
            await case.handle.terminate(reason="test finished")

    assert healthy.id not in by_id, by_id.get(healthy.id)
    assert healthy.id not in text.out

    late = by_id[overdue.id]
    assert [r["code"] for r in late["reasons"]] == ["task_overdue"]
    assert late["reasons"][0]["text"].startswith("task nbtc_check overdue since ")
    assert late["stage"] == "B-first-actions" and late["waiting_on"] == "nbtc_check"
    assert late["temporal"]["overdue"] is True and late["cid"]["overdue"] is True
    assert "overdue" in late["temporal"]["found_by"]

    broken = by_id[failing.id]
    assert [r["code"] for r in broken["reasons"]] == ["workflow_task_failing", "no_cid_case"]
    assert "category=WorkflowTaskFailed" in broken["reasons"][0]["text"]

    assert [r["code"] for r in by_id[cid_closed.id]["reasons"]] == ["cid_closed_workflow_running"]
    assert by_id[cid_closed.id]["reasons"][0]["text"] == "CID says closed but workflow running"
    assert [r["code"] for r in by_id[cid_overdue.id]["reasons"]] == ["task_overdue", "cid_overdue_temporal_unaware"]

    # The table a person reads says the same, one case per row.
    for case in (overdue, failing, cid_closed, cid_overdue):
        assert case.id in text.out
    assert "task nbtc_check overdue since" in text.out
    assert "workflow task failing" in text.out
    assert "CID says closed but workflow running" in text.out


async def test_stuck_says_unavailable_with_status_5(pool, database_url, tmp_path):
    """Temporal or the CID out of reach: one line and status 5, never a report of nothing."""
    from tests.ops_support import free_port

    env = cli_environment(database_url, f"127.0.0.1:{free_port()}", "unused", tmp_path / "data")
    cw = Casework(env, pool, tmp_path)
    no_temporal = await cw("stuck")
    assert no_temporal.code == 5, str(no_temporal)
    assert "Temporal cannot be reached" in no_temporal.one_error_line()
    no_cid = await cw("stuck", "--json", env={"DATABASE_URL": f"postgresql://postgres@127.0.0.1:{free_port()}/cid"})
    assert no_cid.code == 5, str(no_cid)
    assert "the case database cannot be reached" in no_cid.one_error_line()
