"""Soak ([messages]): one case in each long wait takes 5,000 messages and task completions.

Five cases wait where a case waits for months (NBTC, ICE, dormant, the Stage 1 window, the
Director). Each gets 250 distinct messages, 3,950 exact repeats, 400 repeats with other
content and 400 malformed ones (unknown certificates, empty deliveries), most as the
``deliver_event`` update (as the CLI and API send them), some as signals, from 4 senders per case
at once, while people complete the reviews the case opens. Afterwards every case is where
it was, every distinct message is in the audit log once (0 lost, 0 duplicated), no run's
history passed the stated bound, the carried state stayed small, and the fault tests'
invariants hold. On a dev server of its own: the shared one suggests continue-as-new at
60 events, which would hide the bound this proves.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import AsyncIterator

import pytest
from temporalio.client import WorkflowUpdateFailedError
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from casework import search
from casework.binaries import temporal_cli
from casework.case import (
    CertificateReceived, Event, EventDelivery, EventResult, LeftUk, PersonLocated, RepresentationsReceived, Stage,
    TaskCompletion,
)
from casework.temporal import data_converter
from workflows.case import CaseWorkflow
from workflows.client import _sending_again
from tests.fault_support import WorkerProcess, check_invariants, process_config, report, worker_environment
from tests.support import Case, case_starter, to_consideration, until
from tests.test_process_dormancy import carried_state
from tests.test_process_messages import _run_lengths

pytestmark = pytest.mark.devserver

HISTORY_LIMIT = 2_000  # the stated bound: no run's history is longer (ProcessSettings.dormant_history_limit)
STATE_LIMIT = 64_000  # bytes of carried state, as JSON
# Distinct messages fit the case's window of recent ones (256), so a repeat costs no activity;
# the unknown certificates are half the malformed (the rest are empty deliveries).
DISTINCT, REPEATS, CONFLICTS, MALFORMED = 250, 3_950, 400, 400
SENDERS = 4  # per case, 20 in all: the server admits 10 updates in flight per workflow; this 2-core machine runs it all


@pytest.fixture(scope="module")
async def soak_env() -> AsyncIterator[WorkflowEnvironment]:
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=temporal_cli(), data_converter=data_converter(), search_attributes=search.ALL,
    )
    yield env
    await env.shutdown()


def _noise(kind: str, n: int, actor: str = "soak.sender") -> Event:
    if kind == "located":  # in Stage E a located person's whereabouts only update
        return PersonLocated(event_id=f"soak-{n}", actor=actor, custody="confirmed_address")
    return RepresentationsReceived(event_id=f"soak-{n}", actor=actor)


def _plan(kind: str, seed: int) -> tuple[list[Event | None], list[Event | None]]:
    """Two phases: the originals (with the malformed among them), then repeats and conflicts."""
    rng = random.Random(seed)
    originals: list[Event | None] = [_noise(kind, n) for n in range(DISTINCT)]
    originals += [CertificateReceived(event_id=f"ghost-{n}", actor="soak.sender", certificate_id=900_000_000 + n)
                  for n in range(MALFORMED // 2)]
    originals += [None] * (MALFORMED - MALFORMED // 2)  # an empty delivery: refused by the validator
    rng.shuffle(originals)
    later: list[Event | None] = [_noise(kind, rng.randrange(DISTINCT)) for _ in range(REPEATS)]
    later += [_noise(kind, rng.randrange(DISTINCT), actor="soak.other") for _ in range(CONFLICTS)]
    rng.shuffle(later)
    return originals, later


async def _send(case: Case, items: list[Event | None], results: Counter, rng: random.Random) -> None:
    queue: asyncio.Queue[Event | None] = asyncio.Queue()
    for item in items:
        queue.put_nowait(item)

    async def sender() -> None:
        while not queue.empty():
            item = queue.get_nowait()
            if item is None:
                try:
                    await _sending_again(lambda: case.handle.execute_update(CaseWorkflow.deliver_event, EventDelivery()))
                except WorkflowUpdateFailedError:
                    results["malformed refused"] += 1
                continue
            if rng.random() < 0.1:  # fire and forget, as some systems will
                await case.cases.send_event(case.id, item)
                results["signalled"] += 1
                continue
            receipt = await case.deliver(item)
            results[receipt.result.value] += 1

    await asyncio.gather(*(sender() for _ in range(SENDERS)))


async def _people(cases: list[Case], stop: asyncio.Event, completed: Counter) -> None:
    """Caseworkers completing what the soak makes the cases open: reviews of a left-UK report."""
    while not stop.is_set():
        for case in cases:
            try:
                view = await case.view()
            except RPCError:  # a busy worker answers queries late: look again
                continue
            for task in view.open_tasks:
                if task.kind == "left_uk_review":
                    try:
                        await case.cases.complete_task(case.id, TaskCompletion(
                            task_key=task.key, outcome="not_left", actor="co.smith", details={"reason": "seen at home"}))
                        completed[task.kind] += 1
                    except WorkflowUpdateFailedError:
                        pass  # completed already by a faster colleague
        await asyncio.sleep(0.2)


@contextlib.asynccontextmanager
async def _worker_service(env: dict[str, str], logs: Path) -> AsyncIterator[WorkerProcess]:
    worker = WorkerProcess(env, logs)
    await worker.start()
    try:
        yield worker
    finally:
        await worker.stop()


async def test_five_thousand_messages_in_every_long_wait_lose_nothing_and_stay_bounded_R16(
    soak_env, pool, database_url, tmp_path, capsys,
):
    """The workers run as services (``casework-worker`` processes, as deployed): this
    process only sends, as the systems around a case do."""
    began = time.monotonic()
    main_q, quick_q = f"soak-{uuid.uuid4().hex[:8]}", f"soak-quick-{uuid.uuid4().hex[:8]}"
    client = soak_env.client
    address = soak_env.client.service_client.config.target_host
    settings = process_config(tmp_path, dormant_history_limit=HISTORY_LIMIT)
    quick = process_config(tmp_path, dormant_history_limit=HISTORY_LIMIT,
                           response_window_days={"long": 1 / 86_400, "short": 1 / 86_400})
    async with _worker_service(worker_environment(database_url, address, main_q, config=settings), tmp_path / "main"), \
            _worker_service(worker_environment(database_url, address, quick_q, config=quick), tmp_path / "quick"), \
            case_starter(client, pool, main_q) as start, case_starter(client, pool, quick_q) as start_quick:
        nbtc = await start()
        await nbtc.task("nbtc_check")
        ice = await start()
        await ice.complete("nbtc_check", "in_uk")
        await ice.task("ice_tasking")
        dormant = await start()
        await dormant.complete("nbtc_check", "in_uk")
        await dormant.complete("ice_tasking", "unable_to_locate", reason="no trace")
        await dormant.wait_for(lambda v: v.stage is Stage.DORMANT)
        window = await start(whereabouts={"status": "confirmed_address"})
        await to_consideration(window)
        director = await start_quick(whereabouts={"status": "confirmed_address"})
        await to_consideration(director)
        await director.complete("consideration_decision", "not_pursue", actor="co.smith", reason="article 8")
        await director.task("director_decision")
        cases = {"NBTC": (nbtc, "representations"), "ICE": (ice, "representations"),
                 "dormant": (dormant, "representations"), "Stage 1 window": (window, "located"),
                 "Director": (director, "representations")}
        before = {name: await c.view() for name, (c, _) in cases.items()}

        results = {name: Counter() for name in cases}
        completed: Counter = Counter()
        stop = asyncio.Event()
        people = asyncio.create_task(_people([window, director], stop, completed))
        rng = random.Random(7)
        plans = {name: _plan(kind, seed) for seed, (name, (_, kind)) in enumerate(cases.items())}
        await asyncio.gather(*(_send(cases[name][0], plans[name][0], results[name], rng) for name in cases))
        for c in (window, director):  # a left-UK report in the owner's stages: a review, completed by people
            await c.deliver(LeftUk(event_id="soak-left", actor="nbtc.system"))
        await asyncio.gather(*(_send(cases[name][0], plans[name][1], results[name], rng) for name in cases))
        for c in (window, director):
            await c.wait_for(lambda v: not any(t.kind == "left_uk_review" for t in v.open_tasks), timeout=60)
        stop.set()
        await people

        figures = {}
        for name, (case, kind) in cases.items():
            # Signals are applied in their own time: wait until the case's queue is empty.
            await case.wait_for(lambda v: True)
            action = "person located" if kind == "located" else "representations received"
            recorded = await until(
                lambda case=case, action=action: case.row("SELECT count(*) FROM audit_log WHERE case_id = $1 AND action = $2"
                                                          " AND event_key LIKE 'event-%soak-%'", action),
                f"{name}: {DISTINCT} events recorded", 60, holds=lambda row: row[0] >= DISTINCT)
            assert recorded == (DISTINCT,), (name, recorded)  # 0 lost, 0 duplicated
            got = results[name]
            sent_as_updates = sum(v for k, v in got.items() if k in {r.value for r in EventResult})
            assert got["refused"] >= MALFORMED // 2 * 0.8 and got["malformed refused"] == MALFORMED - MALFORMED // 2, got
            assert sent_as_updates + got["signalled"] + got["malformed refused"] == DISTINCT + REPEATS + CONFLICTS + MALFORMED
            view = await case.view()
            assert (view.stage, [t.key for t in view.open_tasks if t.kind != "overdue_review"]) == (
                before[name].stage, [t.key for t in before[name].open_tasks if t.kind != "overdue_review"]), name
            lengths = await _run_lengths(case)
            assert max(lengths) <= HISTORY_LIMIT, (name, max(lengths))
            state = await carried_state(client, case.handle)
            size = len(state.model_dump_json())
            assert size < STATE_LIMIT, (name, size)
            figures[name] = f"{len(lengths)} runs, longest {max(lengths)} events, state {size // 1000} kB"
        await check_invariants(pool, [c.id for c, _ in cases.values()], client)

        # Every case goes on as if nothing had happened.
        await nbtc.complete("nbtc_check", "in_uk")
        await nbtc.task("ice_tasking")
        await director.complete("director_decision", "agree", actor="director.cc", reason="agreed")
        await director.task("removals_consideration")
        await window.representations(event_id="reps-after-soak")
        await window.task("consideration_decision")
        await check_invariants(pool, [c.id for c, _ in cases.values()], client)
    report("soak", capsys, elapsed=f"{time.monotonic() - began:.0f} s", reviews_completed=completed["left_uk_review"],
           **{k.replace(" ", "_"): v for k, v in figures.items()})
