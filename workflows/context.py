"""What every part of one run of a case shares: the state it carries, the process
settings, and which of the workflow's patches the run takes (docs/changing-workflows.md).

Declared once, here. Each mechanic (``workflows/inbox.py``, ``human_task.py``, ...) keeps
what only it needs beside it; nothing of this outlives the run except ``s``, which
continue-as-new carries.
"""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from casework import records as r
    from casework.case import CaseState
    from casework.settings import ProcessSettings

#: workflow.patched IDs, one per change made under live cases (docs/changing-workflows.md).
PATCH_SEARCH_ATTRIBUTES = "search-attributes-v1"
#: Messages are queued by their handlers and applied by the main line, in order; a case
#: continues as new in any long wait; left-UK per stage; custody and outcome kept true.
PATCH_MESSAGES = "messages-v2"
#: The update validator also checks the principal the API verified (``TaskCompletion.acting``)
#: against the task, by the one policy (issue 15: nothing behind the API trusts its caller).
PATCH_ACTING = "acting-checked-v1"
#: Issue 20: the case records each decision it takes (rule, outcome, facts) in the CID.
PATCH_DECISIONS = "decisions-v1"


class CaseRun:
    """One run of one case."""

    def __init__(self, state: CaseState, submitted_by: str) -> None:
        #: What continue-as-new carries (casework/case.py).
        self.s = state
        self.submitted_by = submitted_by
        #: Replaced by the ``load_settings`` activity when the run starts.
        self.settings = ProcessSettings()
        #: Runs before messages-v2: who sent the message applied last (a task it settles is theirs).
        self.last_actor = r.SYSTEM_ACTOR
        self._v2: bool | None = None
        self._decisions: bool | None = None
        # acting-checked-v1, decided once per run here: a validator may run before ``run``
        # (an update in a run's first task) and may not call workflow.patched itself.
        self.acting_checked = workflow.patched(PATCH_ACTING)

    @property
    def v2(self) -> bool:
        """Whether this run takes messages-v2; runs started before it replay as they ran."""
        if self._v2 is None:
            self._v2 = workflow.patched(PATCH_MESSAGES)
        return self._v2

    @property
    def records_decisions(self) -> bool:
        """decisions-v1, decided at the run's first decision: a run replaying a history from
        before it records none (its record_decision calls would be new commands)."""
        if self._decisions is None:
            self._decisions = workflow.patched(PATCH_DECISIONS)
        return self._decisions

    @property
    def v2_decided(self) -> bool:
        """messages-v2 as decided so far, without deciding it (False until it is)."""
        return bool(self._v2)

    def count(self, name: str, **labels: str) -> None:
        """Add one to our counter ``name`` (not counted again on replay)."""
        workflow.metric_meter().create_counter(name).add(1, labels or None)
