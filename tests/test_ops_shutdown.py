"""Graceful shutdown of the real ``casework-worker`` process, with an activity in flight.

An activity is made to block for real: the test holds a lock on ``outbound_messages``
while the case sends ICD.5079 (R13). SIGTERM then gives the activity the grace period,
and the process exits within it (plus a small bound). A new worker finishes the step once
the lock is gone: the message is sent once, the case moves on, nothing lost or doubled.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from pathlib import Path

import asyncpg
from temporalio.api.enums.v1 import EventType

from tests.ops_support import free_port
from tests.support import Case, every_event, referral, until

WORKER = str(Path(sys.executable).parent / "casework-worker")
GRACE_SECONDS = 3
#: Beyond the grace period: cancelling the activity, closing the pool and the client.
EXIT_BOUND_SECONDS = 4


def _worker_environment(database_url: str, temporal_address: str, task_queue: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TEMPORAL_", "CASEWORK_")) and k != "DATABASE_URL"}
    env.update(
        DATABASE_URL=database_url,
        TEMPORAL_ADDRESS=temporal_address,
        TEMPORAL_TASK_QUEUE=task_queue,
        CASEWORK_SHUTDOWN_GRACE_SECONDS=str(GRACE_SECONDS),
        CASEWORK_CODEC_KEYS=os.environ["CASEWORK_CODEC_KEYS"],  # the test run's key: the cases are sealed with it
        LOG_LEVEL="INFO",
        PYTHONFAULTHANDLER="1",  # a crash in shutdown leaves its stacks in the log
    )
    return env


async def _start_worker(env: dict[str, str], log: Path) -> asyncio.subprocess.Process:
    env = dict(env, CASEWORK_METRICS_ADDRESS=f"127.0.0.1:{free_port()}", CASEWORK_HEALTH_ADDRESS=f"127.0.0.1:{free_port()}")
    with log.open("wb") as out:
        process = await asyncio.create_subprocess_exec(WORKER, env=env, stdout=out, stderr=out)
    async def polling() -> bool:
        assert process.returncode is None, f"worker exited {process.returncode}:\n{log.read_text()}"
        return "worker polling task queue" in log.read_text(errors="replace")

    await until(polling, f"the worker to start (log {log})", 15)
    return process


async def _blocked_on(pool: asyncpg.Pool, table: str, timeout: float = 10) -> None:
    """Wait until some session waits for a lock on ``table``: the activity is in flight, stuck."""
    await until(lambda: pool.fetchval("SELECT count(*) FROM pg_locks WHERE NOT granted AND relation = $1::regclass", table),
                f"an activity blocked on {table}", timeout, 0.05)


async def test_sigterm_gives_in_flight_activity_its_grace_then_a_new_worker_finishes(
    dev_env, pool, database_url, task_queue, tmp_path
):
    """R13/R14 across a worker restart: ICD.5079 and the ICE referral sent exactly once,
    the ICE task opened once, after the first worker was stopped mid-activity."""
    env = _worker_environment(database_url, dev_env.client.service_client.config.target_host, task_queue)
    first = await _start_worker(env, tmp_path / "worker-1.log")
    second = None
    lock_conn = await asyncpg.connect(database_url)
    try:
        case = await Case.start(dev_env.client, pool, task_queue, referral())
        await case.task("nbtc_check")
        lock = lock_conn.transaction()
        await lock.start()
        await lock_conn.execute("LOCK TABLE outbound_messages IN EXCLUSIVE MODE")  # reads pass, writes wait
        await case.complete("nbtc_check", "in_uk")  # R10 -> R13: the ICD.5079 activity starts and blocks
        await _blocked_on(pool, "outbound_messages")

        began = time.monotonic()
        first.send_signal(signal.SIGTERM)
        code = await asyncio.wait_for(first.wait(), GRACE_SECONDS + EXIT_BOUND_SECONDS + 5)
        took = time.monotonic() - began
        log = (tmp_path / "worker-1.log").read_text(errors="replace")
        assert code == 0, f"exit {code} after {took:.1f}s\n{log}"
        assert took <= GRACE_SECONDS + EXIT_BOUND_SECONDS, f"exit took {took:.1f}s\n{log}"
        assert took >= GRACE_SECONDS - 0.5, f"the in-flight activity was not given its grace ({took:.1f}s)"
        assert "shutting down: in-flight activities have 3.0s" in log
        held = await pool.fetch("SELECT message_key FROM outbound_messages WHERE case_id = $1", case.id)
        assert [m["message_key"] for m in held] == ["pnc-check"], "only R04's PNC check, sent before the lock"

        await lock.rollback()
        second = await _start_worker(env, tmp_path / "worker-2.log")
        await case.task("ice_tasking")  # R14: the case went on past both messages
        messages = await pool.fetch(
            "SELECT message_key, count(*) AS n FROM outbound_messages WHERE case_id = $1 GROUP BY message_key", case.id
        )
        assert {m["message_key"]: m["n"] for m in messages} == {"pnc-check": 1, "icd5079": 1, "ice-tasking": 1}
        tasks = await case.tasks()
        assert [(t["task_key"], t["status"]) for t in tasks] == [("nbtc_check-1", "done"), ("ice_tasking-1", "open")]
        audited = await pool.fetch(
            "SELECT event_key FROM audit_log WHERE case_id = $1 AND action = 'message sent' ORDER BY event_key", case.id
        )
        assert [a["event_key"] for a in audited] == ["message-icd5079", "message-ice-tasking"]
        # The message activity really ran twice: once cut short by the shutdown, once to the end.
        attempts = [e.activity_task_started_event_attributes.attempt for e in await every_event(case.client, case.id)
                    if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED]
        assert max(attempts) == 2, attempts
        await case.handle.terminate(reason="test finished")
    finally:
        await lock_conn.close()
        for process in (first, second):
            if process is not None and process.returncode is None:
                process.send_signal(signal.SIGTERM)
                await asyncio.wait_for(process.wait(), GRACE_SECONDS + EXIT_BOUND_SECONDS + 5)
