"""The HTTP API: completing a task, and messages from other systems, through
``casework-api`` (a process of its own, as in production) against bare Temporal on the
same server in the same run.

- Completing a task: ``POST /tasks/{id}/completion`` by the NBTC officer (a real token
  from the development issuer), one request at a time per client, ``COMPLETE_CONCURRENCY``
  clients, each latency measured; against a bare workflow's update that runs one trivial
  activity, at the same concurrency. Target: p95 at most 1.5 times bare's.
- Messages: ``POST /cases/{id}/events/located`` by ICE's system, ``EVENT_CONCURRENCY`` in
  flight, both ways (docs/api.md): sent asynchronously (``Prefer: respond-async``, answered
  202 once Temporal holds the signal), against bare signals at the same concurrency, target
  at least 0.7 of bare's rate; then, once the case applied them all (timed too), as many
  waiting for the case's receipt (reported beside it, no target: a receipt costs the
  case's record_message activity and the workflow tasks around it).

Bare runs first and last (half each) so that a server that slows as it fills weighs on
both alike (bench/intake.py explains the drift).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import statistics
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from rich.progress import Progress

from access.dev_issuer import load_identities, running
from access.dev_tokens import Tokens
from bench.bare import BareActivities, BareInbox, bare_worker
from bench.drive import bounded, quantile
from bench.intake import wait_open
from bench.referrals import reference, referral
from bench.stack import Stack
from casework import config
from casework.case import Acting, TaskCompletion, case_id_for
from local_stack.ports import free_port
from worker.service import build_worker
from cid import intake
from workflows.client import CaseClient, Submitted

COMPLETE_CONCURRENCY = 4
EVENT_CONCURRENCY = 16
IDENTITIES = Path(__file__).resolve().parent.parent / "deploy" / "dev-identities.toml"
FIRST_TASK = "nbtc_check"
RESPOND_ASYNC = {"Prefer": "respond-async"}


@dataclass
class ApiResult:
    cases: int
    events: int
    complete_latencies_s: list[float] = field(default_factory=list)
    #: The API's own account of each completion (its Server-Timing, ms): token, CID read, update.
    complete_server_ms: list[dict[str, float]] = field(default_factory=list)
    #: The same completion on the same kind of case by ``CaseClient.complete_task`` (no API).
    direct_complete_latencies_s: list[float] = field(default_factory=list)
    bare_update_latencies_s: list[float] = field(default_factory=list)
    #: Sending the messages asynchronously (``Prefer: respond-async``), all answered.
    event_seconds: float = 0.0
    #: From the first asynchronous send until the cases had applied every one (the CID's audit rows).
    event_applied_seconds: float = 0.0
    #: As many messages waiting for the case's receipt.
    event_wait_seconds: float = 0.0
    bare_signal_seconds: float = 0.0
    #: What the API answered to the messages (status code: count); all 2xx or a case's refusal.
    event_answers: dict[str, int] = field(default_factory=dict)
    event_wait_answers: dict[str, int] = field(default_factory=dict)

    @property
    def p50(self) -> float:
        return statistics.median(self.complete_latencies_s)

    @property
    def p95(self) -> float:
        return quantile(self.complete_latencies_s, 0.95)

    @property
    def direct_p50(self) -> float:
        return statistics.median(self.direct_complete_latencies_s)

    @property
    def direct_p95(self) -> float:
        return quantile(self.direct_complete_latencies_s, 0.95)

    @property
    def server_p50_ms(self) -> dict[str, float]:
        """The median of each part of a completion as the API measured it."""
        parts = sorted({k for t in self.complete_server_ms for k in t})
        return {k: statistics.median(t.get(k, 0.0) for t in self.complete_server_ms) for k in parts}

    @property
    def bare_p50(self) -> float:
        return statistics.median(self.bare_update_latencies_s)

    @property
    def bare_p95(self) -> float:
        return quantile(self.bare_update_latencies_s, 0.95)

    @property
    def p95_ratio(self) -> float:
        """Ours over bare: at most 1.5 is the target."""
        return self.p95 / self.bare_p95

    @property
    def event_rate(self) -> float:
        return self.events / self.event_seconds

    @property
    def bare_signal_rate(self) -> float:
        return self.events / self.bare_signal_seconds

    @property
    def event_ratio(self) -> float:
        """Sent asynchronously over bare signals: at least 0.7 is the target."""
        return self.event_rate / self.bare_signal_rate

    @property
    def event_wait_rate(self) -> float:
        return self.events / self.event_wait_seconds

    @property
    def event_wait_ratio(self) -> float:
        return self.event_wait_rate / self.bare_signal_rate


@dataclass
class _Api:
    url: str
    tokens: Tokens
    http: httpx.AsyncClient


@contextlib.asynccontextmanager
async def serving_api(stack: Stack, queue: str) -> AsyncIterator[_Api]:
    """The development issuer in a thread; ``casework-api`` as its own process, with the
    API's own database login, on this run's server, task queue and payload key."""
    identities = load_identities(IDENTITIES)
    with running(identities, environ={"CASEWORK_STACK": "local"}) as issuer:
        port = free_port()
        env = dict(os.environ, **{
            config.DATABASE_URL_ENV: stack.database_url, "TEMPORAL_ADDRESS": stack.temporal_address,
            "TEMPORAL_NAMESPACE": stack.client.namespace, "TEMPORAL_TASK_QUEUE": queue,
            config.OIDC_ISSUER_ENV: issuer.url, config.API_ADDRESS_ENV: f"127.0.0.1:{port}",
            config.LOG_LEVEL_ENV: "WARNING",  # the payload key comes with this process's environment
        })
        command = [str(Path(sys.executable).parent / "casework-api")]
        process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        url = f"http://127.0.0.1:{port}"
        try:
            async with httpx.AsyncClient(base_url=url, timeout=60,
                                         limits=httpx.Limits(max_connections=EVENT_CONCURRENCY * 2)) as http:
                deadline = time.monotonic() + 60
                while True:
                    if process.poll() is not None:
                        raise RuntimeError(f"casework-api ended: {process.stderr.read().decode()[-500:]}")  # type: ignore[union-attr]
                    with contextlib.suppress(httpx.TransportError):
                        if (await http.get("/live")).status_code == 200:
                            break
                    if time.monotonic() > deadline:
                        raise TimeoutError("casework-api did not start")
                    await asyncio.sleep(0.1)
                yield _Api(url, Tokens(issuer.url, identities), http)
        finally:
            process.terminate()
            process.wait(timeout=30)


async def _timed(job: Callable[[], Awaitable[object]], into: list[float]) -> None:
    started = time.perf_counter()
    await job()
    into.append(time.perf_counter() - started)


async def _cases_at_first_task(stack: Stack, n: int, queue: str, prefix: str, progress: Progress) -> list[tuple[str, int, str]]:
    cases = CaseClient(stack.client, task_queue=queue)
    bar = progress.add_task(f"API: {n} cases to their NBTC check", total=n)

    async def submit(i: int) -> None:
        ref = referral(reference(prefix, i), i)
        await intake.hold_referral(stack.pool, ref, actor="bench.intake")
        result = await cases.submit(ref, actor="bench.intake")
        assert result.status is Submitted.STARTED, result

    await bounded(16, [lambda i=i: submit(i) for i in range(n)])
    await wait_open(stack, prefix, FIRST_TASK, n, progress, bar)
    rows = await stack.pool.fetch(
        "SELECT case_id, id, task_key FROM tasks WHERE kind = $1 AND case_id LIKE $2 ORDER BY case_id",
        FIRST_TASK, case_id_for(prefix) + "%")
    # The CID row comes from the activity a moment before the workflow holds the task open.
    for case_id, _, _ in rows:
        while not any(t.kind == FIRST_TASK for t in (await cases.view(case_id)).open_tasks):
            await asyncio.sleep(0.05)
    return [(r["case_id"], r["id"], r["task_key"]) for r in rows]


async def measure(stack: Stack, n: int, events: int, progress: Progress) -> ApiResult:
    queue = stack.queue("api")
    bare_queue = stack.queue("bare-api")
    prefix = f"BA{stack.run_id}".upper()
    result = ApiResult(cases=n, events=events)
    activities = BareActivities()
    async with build_worker(stack.client, stack.pool, queue), bare_worker(stack.bare_client, bare_queue, activities):
        direct_n = max(1, n // 4)
        tasks = await _cases_at_first_task(stack, n + direct_n, queue, prefix, progress)
        tasks, direct = tasks[:n], tasks[n:]
        inboxes = [await stack.bare_client.start_workflow(BareInbox.run, id=f"bare-inbox-{stack.run_id}-{i}",
                                                          task_queue=bare_queue) for i in range(n)]
        async with serving_api(stack, queue) as api:
            nbtc = {"Authorization": f"Bearer {api.tokens.person('nbtc.finn')}"}
            ice = {"Authorization": f"Bearer {api.tokens.system('ice-system', 'events:located')}"}

            async def complete_by_api(task_id: int) -> None:
                answer = await api.http.post(f"/tasks/{task_id}/completion", json={"outcome": "in_uk"}, headers=nbtc)
                if answer.status_code != 200:
                    raise RuntimeError(f"completing task {task_id}: {answer.status_code} {answer.text[:300]}")
                result.complete_server_ms.append({
                    name: float(dur.split("=")[1]) for name, dur in
                    (part.strip().split(";") for part in answer.headers.get("Server-Timing", "").split(",") if ";" in part)})

            client = CaseClient(stack.client)
            finn = load_identities(IDENTITIES).users["nbtc.finn"]

            async def complete_directly(case_id: str, key: str) -> None:
                await client.complete_task(case_id, TaskCompletion(
                    task_key=key, outcome="in_uk", actor="nbtc.finn", details={},
                    acting=Acting(subject="nbtc.finn", roles=sorted(finn.roles), teams=sorted(finn.teams))))

            half = n // 2
            bar = progress.add_task(f"API: {n} task completions, {direct_n} direct, {n} bare updates", total=2 * n + direct_n)
            step = lambda: progress.advance(bar)  # noqa: E731
            await bounded(COMPLETE_CONCURRENCY, [lambda h=h: _timed(lambda: h.execute_update(BareInbox.complete, "k"),
                                                                      result.bare_update_latencies_s) for h in inboxes[:half]], step)
            await bounded(COMPLETE_CONCURRENCY, [
                lambda t=t: _timed(lambda: complete_by_api(t), result.complete_latencies_s) for _, t, _ in tasks], step)
            await bounded(COMPLETE_CONCURRENCY, [lambda c=c, k=k: _timed(lambda: complete_directly(c, k),
                                                                      result.direct_complete_latencies_s)
                                                 for c, _, k in direct], step)
            await bounded(COMPLETE_CONCURRENCY, [lambda h=h: _timed(lambda: h.execute_update(BareInbox.complete, "k"),
                                                                      result.bare_update_latencies_s) for h in inboxes[half:]], step)

            async def located(case_id: str, event_id: str, answers: Counter[str], prefer: dict[str, str]) -> None:
                answer = await api.http.post(f"/cases/{case_id}/events/located", json={"event_id": event_id},
                                             headers=ice | prefer)
                if answer.status_code >= 500:
                    raise RuntimeError(f"located on {case_id}: {answer.status_code} {answer.text[:300]}")
                answers[str(answer.status_code)] += 1

            bar = progress.add_task(f"API: {events} messages sent, {events} waited for, {events} bare signals",
                                    total=3 * events)
            targets = [tasks[i % n][0] for i in range(events)]
            signals = [inboxes[i % n] for i in range(events)]
            half_events = events // 2
            started = time.perf_counter()
            await bounded(EVENT_CONCURRENCY, [lambda h=h: h.signal(BareInbox.message, uuid.uuid4().hex)
                                              for h in signals[:half_events]], step)
            result.bare_signal_seconds = time.perf_counter() - started

            sent: Counter[str] = Counter()
            batch = f"bench-async-{stack.run_id}-"
            started = time.perf_counter()
            await bounded(EVENT_CONCURRENCY, [lambda c=c, i=i: located(c, f"{batch}{i}", sent, RESPOND_ASYNC)
                                              for i, c in enumerate(targets)], step)
            result.event_seconds = time.perf_counter() - started
            # Applied once each: one audit row per message (its key: casework/keys.py event_key).
            while await stack.pool.fetchval(
                    "SELECT count(*) FROM audit_log WHERE case_id LIKE $1 AND event_key LIKE $2",
                    case_id_for(prefix) + "%", f"event-located:{batch}%") < events:
                await asyncio.sleep(0.05)
            result.event_applied_seconds = time.perf_counter() - started

            waited: Counter[str] = Counter()
            started = time.perf_counter()
            await bounded(EVENT_CONCURRENCY, [lambda c=c: located(c, uuid.uuid4().hex, waited, {}) for c in targets], step)
            result.event_wait_seconds = time.perf_counter() - started

            started = time.perf_counter()
            await bounded(EVENT_CONCURRENCY, [lambda h=h: h.signal(BareInbox.message, uuid.uuid4().hex)
                                              for h in signals[half_events:]], step)
            result.bare_signal_seconds += time.perf_counter() - started
            result.event_answers, result.event_wait_answers = dict(sent), dict(waited)
        for inbox in inboxes:
            await inbox.terminate(reason="benchmark done")
    return result
