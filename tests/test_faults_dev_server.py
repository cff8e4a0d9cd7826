"""Durable timers: the Temporal server killed (kill -9) while cases wait on them.

A dev server of this test's own, persisting to a SQLite file, and a real
``casework-worker``. Task deadlines and the Stage 1 response windows are configuration
(ProcessSettings), shortened to seconds here. Six cases wait on their NBTC check's
deadline (R10, escalation to a senior caseworker) and six on the response window of a
served Stage 1 notice (R43). Server and worker are killed with SIGKILL; the server stays
down past the NBTC deadlines, then both are started again on the same file. Every timer
must still fire: the missed deadlines escalate, the ended windows open the consideration
decision (R44).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

from temporalio.client import Client

from local_stack.dev_server import DevServer
from casework.settings import default_deadline_days
from casework.temporal import data_converter
from tests.fault_support import (
    REASON,
    Driver,
    WorkerProcess,
    check_invariants,
    process_config,
    report,
    seconds,
    until,
    worker_environment,
)
from tests.support import PURSUIT_FACTORS, Case, referral

PER_GROUP = 6
DEADLINE_S = 6.0  # the NBTC check's deadline
WINDOW_S = 12.0  # both Stage 1 windows (R42/R43)


async def to_stage1_window(d: Driver) -> str:
    """R10 -> R20-R28 -> R41: located, allocated, checked, not detained, pursued; the notice
    is served. Returns when it is recorded in the CID, with the window's end."""
    await d.open_task("nbtc_check")
    await d.located("custody-1", actor="police.custody")
    await d.complete("allocate_case_owner", "allocated", case_owner="co.patel")
    await d.complete("offending_history_check", "full_history_on_pnc")
    await d.complete("police_contact", "no_pending_prosecution")
    await d.complete("detention_decision", "not_detained", **REASON)
    await d.complete("pursuit_decision", "pursue", **PURSUIT_FACTORS)
    return str(await until(lambda: d.pool.fetchval(
        "SELECT body->>'respond_by' FROM outbound_messages WHERE case_id = $1 AND message_key = 'stage1-notice'",
        d.case_id), f"{d.case_id}: Stage 1 notice served", d.timeout, every=0.25))


async def test_timers_fire_after_the_server_is_killed_and_restarted_on_its_file(pool, database_url, task_queue, tmp_path: Path, capsys):
    began = time.monotonic()
    server = DevServer(tmp_path / "temporal.db", tmp_path / "logs" / "temporal.log", side_ports=True)
    server.start()
    await server.wait_ready(90)
    config = process_config(
        tmp_path,
        deadline_days={**default_deadline_days(), "nbtc_check": seconds(DEADLINE_S)},
        response_window_days={"long": seconds(WINDOW_S), "short": seconds(WINDOW_S)},
        activity_timeout_seconds=4,
    )
    worker = WorkerProcess(worker_environment(database_url, server.address, task_queue, config=config), tmp_path / "logs")
    await worker.start()
    client = await Client.connect(server.address, data_converter=data_converter())
    try:
        async def start() -> Driver:
            case = await Case.start(client, pool, task_queue, referral(name=f"Timer Test {uuid.uuid4().hex[:10]}"))
            return Driver(client, pool, case.id, timeout=120)

        # Six cases to a served Stage 1 notice, then six waiting on their NBTC deadline.
        windows = list(await asyncio.gather(*(start() for _ in range(PER_GROUP))))
        respond_by = [datetime.fromisoformat(r) for r in await asyncio.gather(*(to_stage1_window(d) for d in windows))]
        deadlines = list(await asyncio.gather(*(start() for _ in range(PER_GROUP))))
        await asyncio.gather(*(d.open_task("nbtc_check") for d in deadlines))
        due = [await pool.fetchval("SELECT due_at FROM tasks WHERE case_id = $1 AND kind = 'nbtc_check'", d.case_id)
               for d in deadlines]

        # Nothing has fired yet: every timer is still ahead when the server dies.
        now = datetime.now(UTC)
        ahead = min(respond_by + due) - now
        assert ahead.total_seconds() > 0.5, f"a timer was due before the kill ({ahead}): the machine is too slow for these settings"
        assert not await pool.fetchval(
            "SELECT count(*) FROM audit_log WHERE case_id = ANY($1::text[]) AND action IN ('task escalated', 'response window ended')",
            [d.case_id for d in windows + deadlines])
        server.kill()
        worker.kill()
        killed = time.monotonic()

        # Down past every NBTC deadline; the windows end after the restart.
        wake = max(due)
        await asyncio.sleep(max(0.0, (wake - datetime.now(UTC)).total_seconds() + 0.5))
        server.start()  # the same file and port
        await server.wait_ready(90)
        downtime = time.monotonic() - killed
        await worker.start()

        for d in deadlines:  # the missed deadline escalated to a senior caseworker
            await until(lambda d=d: pool.fetchval(
                "SELECT count(*) = 1 FROM tasks WHERE case_id = $1 AND kind = 'overdue_review' AND status = 'open'"
                " AND escalates = 'nbtc_check-1'", d.case_id), f"{d.case_id}: escalation after restart", 90, 0.25)
        for d in windows:  # the ended window opened the consideration decision
            await d.open_task("consideration_decision")
        escalated = await pool.fetch(
            "SELECT case_id, detail FROM audit_log WHERE case_id = ANY($1::text[]) AND action = 'task escalated'",
            [d.case_id for d in deadlines])
        ended = await pool.fetch(
            "SELECT case_id, detail FROM audit_log WHERE case_id = ANY($1::text[]) AND action = 'response window ended'",
            [d.case_id for d in windows])
        assert sorted(r["case_id"] for r in escalated) == sorted(d.case_id for d in deadlines)  # once each
        assert all(r["detail"]["task"] == "nbtc_check-1" for r in escalated)
        assert sorted(r["case_id"] for r in ended) == sorted(d.case_id for d in windows)
        assert all(r["detail"]["result"] == "no representations" for r in ended)

        await check_invariants(pool, [d.case_id for d in windows + deadlines], client)
        report(
            "dev server kill -9", capsys, cases=len(windows) + len(deadlines), timers_pending_at_kill=len(windows) + len(deadlines),
            first_timer_due_after_kill_s=round(ahead.total_seconds(), 1),
            server_restarts=server.starts - 1, worker_kills=worker.kills, downtime_s=round(downtime, 1),
            escalations=len(escalated), windows_ended=len(ended), lost=0, took=f"{time.monotonic() - began:.0f} s",
        )
    finally:
        await worker.stop()
        server.stop()


def test_deadlines_and_windows_are_configuration_defaulting_to_the_rules_R42_R43() -> None:
    """What the test above shortens: fractional-day deadlines, and the windows passed to the rule."""
    from datetime import date, timedelta

    from casework import rules
    from casework.referral import WhereaboutsStatus
    from casework.settings import ProcessSettings

    assert ProcessSettings().response_windows() == (rules.LONG_WINDOW, rules.SHORT_WINDOW)
    assert ProcessSettings(deadline_days={"nbtc_check": 0.5}).deadline("nbtc_check") == timedelta(hours=12)
    short = ProcessSettings(response_window_days={"long": seconds(20), "short": seconds(10)})
    long_window, short_window = short.response_windows()
    served = datetime(2026, 3, 1, tzinfo=UTC)
    in_prison = rules.response_window(WhereaboutsStatus.IN_PRISON, date(2030, 1, 1), served, long=long_window, short=short_window)
    detained = rules.response_window(WhereaboutsStatus.DETAINED, None, served, long=long_window, short=short_window)
    assert (in_prison, detained) == (timedelta(seconds=20), timedelta(seconds=10))
