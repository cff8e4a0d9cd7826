"""The workflow checks who completes a task too (issue 15, item 3: defence in depth;
``workflow.patched("acting-checked-v1")``; docs/access.md, "The attacks, kept as tests").

``TaskCompletion.acting`` is the principal the API verified. The case's update validator
asks the one policy (access/policy.py ``decide``) whether that principal may complete the
task as the case knows it, and that the recorded actor is that principal. These
completions are sent straight to Temporal with the payload key - a keyed client that is
not the API - so nothing but the workflow stands in their way.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from temporalio import workflow
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.worker import Replayer, Worker

from activities.case_activities import CaseActivities
from casework.case import Acting, CaseInput, TaskCompletion
from casework.settings import ProcessSettings
from casework.temporal import data_converter
from casework.tasks import DIRECTOR, NBTC
from tests.support import Case, referral
from tests.test_replay import patches
from workflows.case import CaseWorkflow
from workflows.context import PATCH_ACTING
from workflows.human_task import NOT_PERMITTED

#: People of deploy/dev-identities.toml, as the API would describe them.
NBTC_OFFICER = Acting(subject="nbtc.finn", roles=["nbtc"], teams=[NBTC])
DIRECTOR_HAL = Acting(subject="director.hal", roles=["director"], teams=[DIRECTOR])


async def _refused(case, completion: TaskCompletion) -> ApplicationError:
    """Send ``completion`` straight to the case; it must be refused by the validator."""
    with pytest.raises(WorkflowUpdateFailedError) as failed:
        await case.handle.execute_update(CaseWorkflow.complete_task, completion)
    cause = failed.value.cause
    assert isinstance(cause, ApplicationError) and cause.type == NOT_PERMITTED, cause
    return cause


async def _unchanged(case, key: str, before, audit_before: list[str]) -> None:
    """Nothing written: the case's own account, the CID's task and its audit log."""
    assert (await case.view()).model_dump() == before.model_dump()
    [task] = await case.rows("SELECT status, completed_by FROM tasks WHERE case_id = $1 AND task_key = $2", key)
    assert (task["status"], task["completed_by"]) == ("open", None)
    assert await case.audit_actions() == audit_before
    history = await case.handle.fetch_history()
    assert not [e for e in history.events if e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED], \
        "a refused update never enters history"


async def test_a_forged_director_outside_the_tasks_team_is_refused_by_the_workflow_itself(start) -> None:
    """The 'director.impostor' attack with the key: a keyed client that is not the API
    completes the NBTC check as the Director. The case refuses it: the NBTC's task is not
    the Director's (role and team), whatever the client claims the Director may do."""
    case = await start()
    key = await case.task("nbtc_check")
    before, audit_before = await case.view(), await case.audit_actions()

    cause = await _refused(case, TaskCompletion(task_key=key, outcome="left_uk", actor="director.hal", acting=DIRECTOR_HAL))
    assert "director.hal may not" in cause.message and "nbtc" in cause.message and "'NBTC'" in cause.message
    await _unchanged(case, key, before, audit_before)


async def test_the_right_role_outside_the_tasks_team_is_refused(start) -> None:
    """The role alone is not enough: an NBTC officer who is not in the NBTC team."""
    case = await start()
    key = await case.task("nbtc_check")
    before, audit_before = await case.view(), await case.audit_actions()

    outsider = Acting(subject="nbtc.elsewhere", roles=["nbtc"], teams=["CC EEA Team"])
    cause = await _refused(case, TaskCompletion(task_key=key, outcome="in_uk", actor="nbtc.elsewhere", acting=outsider))
    assert "members of 'NBTC'" in cause.message
    await _unchanged(case, key, before, audit_before)


async def test_an_actor_other_than_the_authenticated_subject_is_refused(start) -> None:
    """Nobody acts as anyone else: a verified NBTC officer cannot record the task as someone else."""
    case = await start()
    key = await case.task("nbtc_check")
    before, audit_before = await case.view(), await case.audit_actions()

    cause = await _refused(case, TaskCompletion(task_key=key, outcome="in_uk", actor="director.hal", acting=NBTC_OFFICER))
    assert "must be the authenticated subject (nbtc.finn)" in cause.message
    await _unchanged(case, key, before, audit_before)


async def test_a_member_of_the_tasks_team_completes_it_recorded_under_their_subject(start) -> None:
    """Inside the team it passes, and the CID records the subject. (The workflow cannot tell
    this principal from the same one written by another key holder: the key is the
    boundary, docs/access.md.) The run carries the patch marker and replays."""
    case = await start()
    key = await case.task("nbtc_check")
    done = await case.handle.execute_update(
        CaseWorkflow.complete_task, TaskCompletion(task_key=key, outcome="in_uk", actor="nbtc.finn", acting=NBTC_OFFICER))
    assert done.task_key == key
    [task] = await case.rows("SELECT status, completed_by, outcome FROM tasks WHERE case_id = $1 AND task_key = $2", key)
    assert (task["status"], task["completed_by"], task["outcome"]) == ("done", "nbtc.finn", "in_uk")
    await case.task("ice_tasking")  # the case went on

    history = await case.handle.fetch_history()
    assert PATCH_ACTING in patches(history)
    await Replayer(workflows=[CaseWorkflow], data_converter=data_converter()).replay_workflow(history)


async def test_without_acting_a_completion_is_judged_as_before(start) -> None:
    """Operator tools and older clients send no ``acting``: the case judges the outcome only."""
    case = await start()
    done = await case.complete("nbtc_check", "in_uk", actor="ops.ivy")
    [task] = await case.rows("SELECT completed_by FROM tasks WHERE case_id = $1 AND task_key = $2", done.task_key)
    assert task["completed_by"] == "ops.ivy"


# --- the policy's team, owner and escalation, judged by the case through the real update ------

SENIOR = Acting(subject="scw.erin", roles=["senior-caseworker"], teams=["Senior caseworker"])
OWNER = Acting(subject="co.smith", roles=["caseworker"], teams=["CC EEA Team"])
OTHER_TEAM = Acting(subject="cw.cara", roles=["caseworker"], teams=["CC Non-EEA Team"])


def _completion(key: str, acting: Acting, outcome: str, **details: object) -> TaskCompletion:
    return TaskCompletion(task_key=key, outcome=outcome, actor=acting.subject, acting=acting, details=details)


async def test_the_validator_follows_the_policy_for_team_owner_and_escalation(start, ts_env) -> None:
    """The routed team's task (allocation, R06/R20): a member may, another team or a senior
    caseworker before it is overdue may not; once the deadline has passed (the escalation) a
    senior caseworker may. Then the owner's task (team = the owner's staff ID): the owner
    may, a member of the routed team may not. As ``decide`` says, asked by the case itself."""
    case = await start(nationalities=["PL"], whereabouts={"status": "confirmed_address"})
    key = await case.task("allocate_case_owner")
    assert [t.team for t in (await case.view()).open_tasks if t.key == key] == ["CC EEA Team"]
    before, audit_before = await case.view(), await case.audit_actions()
    for outsider in (OTHER_TEAM, SENIOR):  # another team; a senior caseworker before it is overdue
        await _refused(case, _completion(key, outsider, "allocated", case_owner="co.smith"))
    await _unchanged(case, key, before, audit_before)

    await ts_env.sleep(ProcessSettings().deadline("allocate_case_owner") + timedelta(hours=1))
    await case.wait_for(lambda v: any(t.key == key and t.overdue for t in v.open_tasks))
    await _refused(case, _completion(key, OTHER_TEAM, "allocated", case_owner="co.smith"))  # overdue changes nothing for them
    done = await case.handle.execute_update(  # the escalation
        CaseWorkflow.complete_task, _completion(key, SENIOR, "allocated", case_owner="co.smith"))
    assert done.task_key == key

    key = await case.task("offending_history_check")  # allocated: the owner's task
    await _refused(case, _completion(key, OWNER.model_copy(update={"subject": "cw.ben"}), "full_history_on_pnc"))
    done = await case.handle.execute_update(CaseWorkflow.complete_task, _completion(
        key, Acting(subject="co.smith", roles=["caseworker"]), "full_history_on_pnc"))
    assert done.task_key == key


@workflow.defn(name="AcroCase", sandboxed=False)
class StartedBeforeActingChecked(CaseWorkflow):
    """A run started before acting-checked-v1, as its validator judges: without the check.
    (Outside the sandbox only because the sandbox re-imports a workflow's module, and this
    is a test module.)"""

    @workflow.run
    async def run(self, input: CaseInput) -> str:
        self.this_run.acting_checked = False
        return await super().run(input)


async def test_a_run_without_the_patch_judges_as_it_did(ts_env, pool, worker_pool) -> None:
    """A run without the marker keeps its old judgement: the outcome only, not who sends it."""
    queue = f"before-acting-checked-{uuid.uuid4().hex[:8]}"
    activities = CaseActivities(worker_pool, ProcessSettings()).registered()
    async with Worker(ts_env.client, task_queue=queue, workflows=[StartedBeforeActingChecked], activities=activities):
        case = await Case.start(ts_env.client, pool, queue, referral())
        key = await case.task("nbtc_check")
        done = await case.handle.execute_update(CaseWorkflow.complete_task, _completion(key, OTHER_TEAM, "in_uk"))
        assert done.task_key == key
        await case.task("ice_tasking")
        await case.handle.terminate(reason="test over")
