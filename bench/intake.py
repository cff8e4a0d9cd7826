"""Intake: N referrals submitted and run through Stage A to their first wait (the NBTC
check open in the CID inbox, R10), against N bare workflows of as many sequential
activities as a real case runs to that wait.

The dev server slows as its in-memory store fills (bare workflows measured first and
again last in one run differed by a fifth), so whatever runs later is handicapped. The
three kinds therefore run in palindromic rounds - bare, ours, bare-codec, then
bare-codec, ours, bare - so that each sits at the same mean position and a drift that
is linear in time cancels out of every ratio.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass, field

from rich.progress import Progress
from temporalio.api.enums.v1 import EventType

from bench.cpu import CpuSpent
from bench.bare import BARE_WORKFLOW, BareActivities, bare_worker
from bench.drive import bounded
from bench.referrals import reference, referral
from bench.stack import Stack
from casework.case import case_id_for
from local_stack.polling import until
from worker.service import build_worker
from cid import intake
from workflows.client import CaseClient, Submitted

#: As many starts in flight at once as ``casework submit`` has (starter/submit.py).
CONCURRENCY = 16
FIRST_WAIT = "nbtc_check"


@dataclass
class IntakeResult:
    cases: int
    activities_to_first_wait: int
    seconds: float
    bare_seconds: float
    rounds: int = 1  # palindromic rounds; ``cases`` is per kind and round
    cpu: CpuSpent = field(default_factory=CpuSpent)
    bare_cpu: CpuSpent = field(default_factory=CpuSpent)
    #: The bare workflows again, their client and worker with our converter (pydantic +
    #: the encryption codec): how much of the gap is payload encryption (docs/privacy.md).
    bare_codec_seconds: float = 0.0
    bare_codec_cpu: CpuSpent = field(default_factory=CpuSpent)

    @property
    def rate(self) -> float:
        return self.cases * self.rounds / self.seconds

    @property
    def bare_rate(self) -> float:
        return self.cases * self.rounds / self.bare_seconds

    @property
    def ratio(self) -> float:
        return self.rate / self.bare_rate

    @property
    def bare_codec_rate(self) -> float:
        return self.cases * self.rounds / self.bare_codec_seconds if self.bare_codec_seconds else 0.0

    @property
    def ratio_to_bare_codec(self) -> float:
        return self.rate / self.bare_codec_rate if self.bare_codec_seconds else 0.0


async def count_open(stack: Stack, prefix: str, kind: str) -> int:
    return await stack.pool.fetchval(
        "SELECT count(*) FROM tasks WHERE kind = $1 AND case_id LIKE $2", kind, case_id_for(prefix) + "%"
    )


async def wait_open(stack: Stack, prefix: str, kind: str, total: int, progress: Progress | None = None,
                    bar=None, timeout: float = 3600, every: float = 0.1) -> None:  # noqa: ANN001
    """Poll the CID until ``total`` cases under ``prefix`` have a task of ``kind``."""
    end = time.monotonic() + timeout
    while (done := await count_open(stack, prefix, kind)) < total:
        if progress is not None:
            progress.update(bar, completed=done)
        if time.monotonic() > end:
            raise TimeoutError(f"only {done} of {total} cases opened {kind}")
        await asyncio.sleep(every)
    if progress is not None:
        progress.update(bar, completed=total)


async def activities_to_first_wait(stack: Stack) -> int:
    """Run one real case to its first wait and count the activities its history scheduled."""
    queue = stack.queue("probe")
    prefix = f"BP{stack.run_id}".upper()
    async with build_worker(stack.client, stack.pool, queue):
        cases = CaseClient(stack.client, task_queue=queue)
        ref = referral(reference(prefix, 0), 0)
        await intake.hold_referral(stack.pool, ref, actor="bench.intake")
        result = await cases.submit(ref, actor="bench.intake")
        assert result.status is Submitted.STARTED, result
        handle = cases.handle(result.case_id)
        await wait_open(stack, prefix, FIRST_WAIT, 1, timeout=60)
        # The CID row comes from the activity; wait for the workflow to take the task as open.
        await until(lambda: cases.view(result.case_id), f"the probe case to open {FIRST_WAIT}", 60, 0.05,
                    holds=lambda view: any(t.kind == FIRST_WAIT for t in view.open_tasks))
        history = await handle.fetch_history()
        await handle.terminate(reason="benchmark probe")
    return sum(1 for e in history.events if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED)


async def real_intake(
    stack: Stack, n: int, progress: Progress, *, prefix: str | None = None, queue: str | None = None, worker: bool = True
) -> float:
    """Seconds from the first submit to the last NBTC check opened (its audit row's clock
    time). ``worker=False``: the caller runs the worker on ``queue``."""
    queue = queue or stack.queue("intake")
    prefix = prefix or f"BI{stack.run_id}".upper()
    referrals = [referral(reference(prefix, i), i) for i in range(n)]  # read before the clock starts
    bar = progress.add_task(f"Intake: {n} cases to their first wait", total=n)
    async with build_worker(stack.client, stack.pool, queue) if worker else contextlib.nullcontext():
        started = time.time()

        cases = CaseClient(stack.client, task_queue=queue)

        async def submit(ref):  # noqa: ANN001, ANN202
            await intake.hold_referral(stack.pool, ref, actor="bench.intake")  # the CID first, as the API does
            result = await cases.submit(ref, actor="bench.intake")
            assert result.status is Submitted.STARTED, result

        submitting = asyncio.create_task(bounded(CONCURRENCY, [lambda r=r: submit(r) for r in referrals]))
        # The clock stops at the last task's audit row, not at a poll: polling seldom costs
        # no accuracy, and the count's scan of the CID is not charged to intake.
        await wait_open(stack, prefix, FIRST_WAIT, n, progress, bar, every=1.0)
        await submitting
        last = await stack.pool.fetchval(
            "SELECT max(recorded_at) FROM audit_log WHERE case_id LIKE $1 AND event_key = $2",
            case_id_for(prefix) + "%", f"task-{FIRST_WAIT}-1-opened",
        )
    return last.timestamp() - started


async def bare_intake(stack: Stack, n: int, steps: int, progress: Progress, *, codec: bool = False, round_: int = 0) -> float:
    client = stack.bare_codec_client if codec else stack.bare_client
    label = "bare-codec" if codec else "bare"
    queue = stack.queue(f"{label}-intake-{round_}")
    activities = BareActivities()
    activities.expect(n)
    bar = progress.add_task(f"Intake: {n} {label} workflows of {steps} activities", total=n)
    async with bare_worker(client, queue, activities):
        started = time.monotonic()

        async def start(i: int) -> None:
            await client.start_workflow(BARE_WORKFLOW, steps, id=f"{label}-intake-{stack.run_id}-{round_}-{i}", task_queue=queue)

        submitting = asyncio.create_task(bounded(CONCURRENCY, [lambda i=i: start(i) for i in range(n)]))
        while not activities.all_done.is_set():
            progress.update(bar, completed=len(activities.finished))
            try:
                await asyncio.wait_for(activities.all_done.wait(), 0.1)
            except asyncio.TimeoutError:
                pass
        elapsed = time.monotonic() - started
        progress.update(bar, completed=n)
        await submitting
    return elapsed


async def measure(stack: Stack, n: int, progress: Progress, *, rounds: int = 2) -> IntakeResult:
    steps = await activities_to_first_wait(stack)
    kinds = ["bare", "ours", "bare-codec"]
    seconds = dict.fromkeys(kinds, 0.0)
    cpu = {kind: CpuSpent() for kind in kinds}
    for round_ in range(rounds):
        for kind in kinds if round_ % 2 == 0 else reversed(kinds):
            before = CpuSpent.now()
            if kind == "ours":
                elapsed = await real_intake(stack, n, progress, prefix=f"BI{stack.run_id}R{round_}".upper(),
                                            queue=stack.queue(f"intake-{round_}"))
            else:
                elapsed = await bare_intake(stack, n, steps, progress, codec=kind == "bare-codec", round_=round_)
            seconds[kind] += elapsed
            cpu[kind] = cpu[kind].plus(CpuSpent.now().since(before))
    return IntakeResult(
        cases=n, activities_to_first_wait=steps, rounds=rounds,
        seconds=seconds["ours"], cpu=cpu["ours"], bare_seconds=seconds["bare"], bare_cpu=cpu["bare"],
        bare_codec_seconds=seconds["bare-codec"], bare_codec_cpu=cpu["bare-codec"],
    )
