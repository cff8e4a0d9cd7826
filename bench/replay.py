"""Replay: the cost of rebuilding a case from its history, as a worker does on every
cache miss (a dormant case woken after eviction, a worker restart).

One case is recorded through the longest path - NBTC, ICE located, a continuing
prosecution awaited, not pursued, the Director disagrees (back to Stage E, R51),
consideration, deported - on the dev server, the Stage 1 window ended early by
representations (R43). Its history is then replayed K times; a bare workflow with as
many activities is replayed as often, for comparison.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import AsyncIterator

from rich.progress import Progress
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from bench import drive
from bench.bare import BARE_WORKFLOW, BareActivities, BareWorkflow, bare_worker
from bench.referrals import reference, referral
from bench.stack import Stack
from casework.case import Stage
from local_stack.polling import until
from casework.temporal import data_converter
from worker.service import build_worker
from workflows.case import CaseWorkflow
from cid import intake
from workflows.client import CaseClient, Submitted

FACTORS = {"foreign_convictions": "robbery (PL, 2012), 4 years", "uk_convictions": "none",
           "outstanding_law_enforcement": "none known"}
#: The longest path: (task key, outcome, details), in order.
LONGEST_PATH = [
    ("nbtc_check-1", "in_uk", {}),
    ("ice_tasking-1", "located", {"location": "bail address"}),
    ("allocate_case_owner-1", "allocated", {"case_owner": "co.smith"}),
    ("offending_history_check-1", "full_history_on_pnc", {}),
    ("police_contact-1", "continuing", {"charges": "assault"}),
    ("prosecution_decision-1", "await_prosecution", {"reason": "trial listed"}),
    ("prosecution_outcome-1", "convicted", {"reason": "convicted at the Crown Court"}),
    ("detention_decision-1", "not_detained", {"reason": "managed in the community"}),
    ("pursuit_decision-1", "pursue", FACTORS),
    ("representations", None, {}),  # R43: representations end the Stage 1 window early
    ("consideration_decision-1", "not_pursue", {"reason": "Article 8"}),
    ("director_decision-1", "disagree", {"reason": "deportation is conducive to the public good"}),
    ("consideration_decision-2", "deport", {"address_known": True, "in_country_right_of_appeal": False}),
    ("deportation_enforcement-1", "enforced", {"departed_on": "2025-01-15"}),
]


@dataclass
class ReplayResult:
    events: int
    activities: int
    replays: int
    seconds: float
    bare_events: int
    bare_seconds: float

    @property
    def us_per_event(self) -> float:
        return self.seconds / (self.replays * self.events) * 1e6

    @property
    def bare_us_per_event(self) -> float:
        return self.bare_seconds / (self.replays * self.bare_events) * 1e6

    @property
    def ms_per_history(self) -> float:
        return self.seconds / self.replays * 1e3


async def record_longest_path(stack: Stack, progress: Progress) -> WorkflowHistory:
    queue = stack.queue("replay")
    bar = progress.add_task("Replay: recording the longest path", total=len(LONGEST_PATH) + 1)
    async with build_worker(stack.client, stack.pool, queue):
        cases = CaseClient(stack.client, task_queue=queue)
        ref = referral(reference(f"BR{stack.run_id}".upper(), 0), 0)
        await intake.hold_referral(stack.pool, ref, actor="bench.replay")
        result = await cases.submit(ref, actor="bench.replay")
        assert result.status is Submitted.STARTED, result
        handle = cases.handle(result.case_id)
        for key, outcome, details in LONGEST_PATH:
            if key == "representations":
                await until(lambda: cases.view(result.case_id), "the case to wait on representations", 60, 0.05,
                            holds=lambda view: "representations" in (view.waiting_on or ""))
                await drive.representations(stack.client, result.case_id)
            else:
                await drive.complete(stack.client, result.case_id, key, outcome, **details)
            progress.advance(bar)
        await handle.result()
        view = await cases.view(result.case_id)
        assert view.stage is Stage.CLOSED, view
        progress.advance(bar)
        return await handle.fetch_history()


async def bare_history(stack: Stack, steps: int) -> WorkflowHistory:
    queue = stack.queue("bare-replay")
    activities = BareActivities()
    activities.expect(1)
    async with bare_worker(stack.bare_client, queue, activities):
        handle = await stack.bare_client.start_workflow(BARE_WORKFLOW, steps, id=f"bare-replay-{stack.run_id}", task_queue=queue)
        await handle.result()
        return await handle.fetch_history()


async def time_replays(replayer: Replayer, history: WorkflowHistory, times: int, progress: Progress, label: str) -> float:
    """Seconds for ``times`` replays through one replay worker (as a worker's cache misses
    are: the worker's start-up is not part of a replay)."""
    await replayer.replay_workflow(history)  # warm: first-time imports are not replay
    bar = progress.add_task(f"Replay: {label} x{times}", total=times)
    started = time.perf_counter()
    async with replayer.workflow_replay_iterator(_repeat(history, times)) as results:
        async for result in results:
            if result.replay_failure is not None:
                raise result.replay_failure
            progress.advance(bar)
    return time.perf_counter() - started


async def _repeat(history: WorkflowHistory, times: int) -> AsyncIterator[WorkflowHistory]:
    for n in range(times):
        # A run ID of its own each time, so no replay finds the previous one's state.
        yield WorkflowHistory(f"{history.workflow_id}-{n}", history.events)


async def measure(stack: Stack, times: int, progress: Progress) -> ReplayResult:
    history = await record_longest_path(stack, progress)
    activities = sum(1 for e in history.events if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED)
    bare = await bare_history(stack, activities)
    ours = await time_replays(Replayer(workflows=[CaseWorkflow], data_converter=data_converter()), history, times,
                              progress, f"longest path, {len(history.events)} events")
    base = await time_replays(Replayer(workflows=[BareWorkflow]), bare, times, progress,
                              f"bare, {len(bare.events)} events")
    return ReplayResult(events=len(history.events), activities=activities, replays=times, seconds=ours,
                        bare_events=len(bare.events), bare_seconds=base)
