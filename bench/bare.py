"""Bare Temporal: workflows of trivial activities, no database, Temporal's default
converter. The baseline our figures are divided by."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta

from temporalio import activity, workflow
from temporalio.client import Client
from temporalio.worker import Worker

BARE_WORKFLOW = "BareCase"
BARE_SLEEPER = "BareSleeper"


@workflow.defn(name=BARE_WORKFLOW)
class BareWorkflow:
    """``steps`` sequential activities, then done."""

    @workflow.run
    async def run(self, steps: int) -> int:
        for step in range(steps):
            await workflow.execute_activity(
                "bare_step", args=[step, steps], start_to_close_timeout=timedelta(seconds=30)
            )
        return steps


@workflow.defn(name=BARE_SLEEPER)
class BareSleeper:
    """One activity, then asleep until a "wake" signal, which runs one more: a bare dormant case."""

    def __init__(self) -> None:
        self.woken = False

    @workflow.run
    async def run(self) -> None:
        await workflow.execute_activity("bare_step", args=[0, 1], start_to_close_timeout=timedelta(seconds=30))
        await workflow.wait_condition(lambda: self.woken)

    @workflow.query
    def asleep(self) -> bool:
        return not self.woken

    @workflow.signal
    async def wake(self, event_id: str) -> None:
        await workflow.execute_activity("bare_woken", event_id, start_to_close_timeout=timedelta(seconds=30))
        self.woken = True


BARE_INBOX = "BareInbox"


@workflow.defn(name=BARE_INBOX)
class BareInbox:
    """The bare counterpart of a case's people and messages: an update that runs one
    trivial activity (completing a task), and a signal that only counts (a message)."""

    def __init__(self) -> None:
        self.messages = 0

    @workflow.run
    async def run(self) -> None:
        await workflow.wait_condition(lambda: False)

    @workflow.update
    async def complete(self, key: str) -> str:
        await workflow.execute_activity("bare_step", args=[0, 2], start_to_close_timeout=timedelta(seconds=30))
        return key

    @workflow.signal
    def message(self, event_id: str) -> None:
        self.messages += 1


class BareActivities:
    """Trivial activities; the last step of each workflow counts it as done, and a wake-up
    notes the time its activity started."""

    def __init__(self) -> None:
        self.finished: set[str] = set()  # workflow IDs: a retried last step counts once
        self.target = 0
        self.all_done = asyncio.Event()
        self.woken_at: dict[str, float] = {}

    def expect(self, count: int) -> None:
        self.finished, self.target = set(), count
        self.all_done.clear()

    @activity.defn(name="bare_step")
    async def bare_step(self, step: int, steps: int) -> int:
        if step == steps - 1:
            self.finished.add(activity.info().workflow_id)
            if len(self.finished) >= self.target:
                self.all_done.set()
        return step

    @activity.defn(name="bare_woken")
    async def bare_woken(self, event_id: str) -> None:
        self.woken_at.setdefault(event_id, time.time())


def bare_worker(client: Client, task_queue: str, activities: BareActivities, **options) -> Worker:  # noqa: ANN003
    return Worker(
        client, task_queue=task_queue, workflows=[BareWorkflow, BareSleeper, BareInbox],
        activities=[activities.bare_step, activities.bare_woken], **options,
    )
