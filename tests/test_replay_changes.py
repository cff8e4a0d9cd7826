"""Deliberate changes to the case workflow, replayed against the recorded histories.

Each class below is today's ``CaseWorkflow`` with one change, registered under the same
workflow name "AcroCase" as a new deployment would be. The replay test must catch the
unsafe ones (``NondeterminismError``) and pass the safe ones: this is the procedure of
docs/changing-workflows.md, proven on real histories.

The classes run outside the workflow sandbox only because the sandbox re-imports the
module that defines a workflow, and this is a test module; replay checks are the same.
"""

from __future__ import annotations

from temporalio import workflow
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHistory

from casework.case import CaseInput
from tests.fault_support import until
from tests.support import Case, referral, running_worker
from tests.test_replay import patches, recorded, replay
from workflows.case import CaseWorkflow
from workflows.context import PATCH_SEARCH_ATTRIBUTES

EXTRA_NOTE_PATCH = "replay-test-note-before-restricted-step"


# Each change replaces one step of a mechanic (workflows/record.py, workflows/status.py)
# for the run, before the case starts.


@workflow.defn(name="AcroCase", sandboxed=False)
class NoteInserted(CaseWorkflow):
    """Unsafe: an activity (a note) inserted before an existing one (the restricted step)."""

    @workflow.run
    async def run(self, input: CaseInput) -> str:
        restricted = self.record.restricted

        async def with_a_note(rule: str) -> None:
            if f"restricted:{rule}" not in self.s.visit_steps:  # where the step runs (a re-entered stage skips it)
                await self.record.note(f"before-{rule}", "a note inserted before the restricted step")
            await restricted(rule)

        self.record.restricted = with_a_note  # type: ignore[method-assign]
        return await super().run(input)


@workflow.defn(name="AcroCase", sandboxed=False)
class NoteInsertedBehindPatch(CaseWorkflow):
    """Safe: the same change behind ``workflow.patched``; old runs replay the old path."""

    @workflow.run
    async def run(self, input: CaseInput) -> str:
        restricted = self.record.restricted

        async def with_a_note(rule: str) -> None:
            if workflow.patched(EXTRA_NOTE_PATCH):
                await self.record.note(f"before-{rule}", "a note inserted before the restricted step")
            await restricted(rule)

        self.record.restricted = with_a_note  # type: ignore[method-assign]
        return await super().run(input)


@workflow.defn(name="AcroCase", sandboxed=False)
class PatchCheckRemoved(CaseWorkflow):
    """Unsafe: the search-attributes patch "cleaned up" in one step (the call removed)."""

    @workflow.run
    async def run(self, input: CaseInput) -> str:
        self.status._publish = self.status._upsert  # type: ignore[method-assign]
        return await super().run(input)


@workflow.defn(name="AcroCase", sandboxed=False)
class PatchDeprecated(CaseWorkflow):
    """Step two of the procedure: ``deprecate_patch`` once no run without the marker is live."""

    @workflow.run
    async def run(self, input: CaseInput) -> str:
        def deprecated() -> None:
            workflow.deprecate_patch(PATCH_SEARCH_ATTRIBUTES)
            self.status._upsert()

        self.status._publish = deprecated  # type: ignore[method-assign]
        return await super().run(input)


def reaches_a_restricted_step(history: WorkflowHistory) -> bool:
    return any(
        e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
        and e.activity_task_scheduled_event_attributes.activity_type.name == "restricted_step"
        for e in history.events
    )


async def test_an_activity_inserted_before_an_existing_one_is_caught_as_nondeterminism() -> None:
    histories = recorded()
    caught = 0
    for history, failure in await replay(NoteInserted, histories):
        if reaches_a_restricted_step(history):
            assert isinstance(failure, workflow.NondeterminismError), (history.workflow_id, failure)
            assert "restricted_step" in str(failure) and "add_note" in str(failure)
            caught += 1
        else:  # a run that never got that far is not affected by the change
            assert failure is None, (history.workflow_id, failure)
    assert caught >= 80, f"only {caught} recorded runs reach a restricted step"


async def test_the_same_change_behind_workflow_patched_replays() -> None:
    failures = {h.workflow_id: str(f) for h, f in await replay(NoteInsertedBehindPatch, recorded()) if f}
    assert not failures, failures


async def test_removing_the_patch_call_in_one_step_breaks_old_and_new_runs() -> None:
    """v0 runs (no marker) would now upsert search attributes their history never had;
    v1 runs have a marker that no code asks for any more."""
    for history, failure in await replay(PatchCheckRemoved, recorded("v0") + recorded("v1")):
        assert isinstance(failure, workflow.NondeterminismError), (history.workflow_id, failure)


async def test_deprecate_patch_replays_runs_with_the_marker_and_only_those() -> None:
    """Why the deprecation waits for the visibility query: a v0 run still live would break."""
    v1 = await replay(PatchDeprecated, recorded("v1"))
    assert all(PATCH_SEARCH_ATTRIBUTES in patches(h) for h, _ in v1)
    assert not {h.workflow_id: str(f) for h, f in v1 if f}
    for history, failure in await replay(PatchDeprecated, recorded("v0")):
        assert isinstance(failure, workflow.NondeterminismError), (history.workflow_id, failure)


#: Running cases that started before the patch: when this counts 0, deprecate_patch is safe.
WITHOUT_MARKER = (
    "WorkflowType = 'AcroCase' AND ExecutionStatus = 'Running' AND TemporalChangeVersion IS NULL"
)
WITH_MARKER = (
    f"WorkflowType = 'AcroCase' AND ExecutionStatus = 'Running' AND TemporalChangeVersion = '{PATCH_SEARCH_ATTRIBUTES}'"
)


async def test_the_visibility_query_tells_runs_with_the_patch_marker_from_those_without(dev_env, pool, task_queue) -> None:  # noqa: ANN001
    """docs/changing-workflows.md step 3: the query an operator runs before deprecating a patch."""
    case = await Case.start(dev_env.client, pool, task_queue, referral())
    async with running_worker(dev_env.client, pool, task_queue):
        await case.task("nbtc_check")

        async def listed(query: str) -> bool:
            ids = [w.id async for w in dev_env.client.list_workflows(query)]
            return case.id in ids

        await until(lambda: listed(WITH_MARKER), "the case listed with the patch marker", 30, 0.25)
        assert not await listed(WITHOUT_MARKER)
        await case.handle.terminate(reason="test finished")
