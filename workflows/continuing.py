"""Continue-as-new: when a run hands the case to a new one, and how it carries it.

R16: a case may sleep for years; it continues as new on entering dormancy and whenever
its history grows long, carrying its state (``CaseState``), so history stays bounded.
"""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from casework.case import CaseInput, Stage
    from casework.refusals import Refusal, RefusalCode, error

from workflows.context import CaseRun
from workflows.inbox import Inbox

#: A run continues as new this many events before the history limit, so that applying the
#: message in hand and answering the updates in flight stays inside the limit.
HISTORY_MARGIN = 150
#: Signals that arrive faster than they are applied wait in the inbox; at continue-as-new
#: at most this many are carried (the rest are applied first).
MAX_CARRIED = 200
#: Refused when a case is about to continue as new: the sender retries (workflows/client.py).
CONTINUING_AS_NEW = RefusalCode.CASE_BUSY.value


class Continuing:
    def __init__(self, run: CaseRun, inbox: Inbox) -> None:
        self.run = run
        self.inbox = inbox
        #: Set while the run continues as new: new updates are refused (their senders send again).
        self.underway = False

    def after_stage(self, before: Stage, after: Stage) -> bool:
        """Whether to continue as new between stages (R16): on entering dormancy, or a long history."""
        info = workflow.info()
        return after is not Stage.CLOSED and (
            (after is Stage.DORMANT and before is not Stage.DORMANT)
            or info.is_continue_as_new_suggested()
            or info.get_current_history_length() > self.run.settings.dormant_history_limit
        )

    def due(self) -> bool:
        """messages-v2: within a margin of the history limit (checked inside every wait)."""
        info = workflow.info()
        limit = self.run.settings.dormant_history_limit
        return info.is_continue_as_new_suggested() or (
            info.get_current_history_length() > limit - min(HISTORY_MARGIN, limit // 5)
        )

    async def now(self) -> None:
        """Carry the state into a new run: updates in flight are answered first, new ones are
        refused (their senders retry), signals not yet applied are carried in order."""
        if self.run.v2:
            self.underway = True
            while not workflow.all_handlers_finished() or self.inbox.senders_waiting() or len(self.inbox) > MAX_CARRIED:
                if self.inbox and (self.inbox.senders_waiting() or len(self.inbox) > MAX_CARRIED):
                    await self.inbox.apply_next()
                else:
                    await workflow.wait_condition(
                        lambda: workflow.all_handlers_finished() or self.inbox.senders_waiting()
                    )
        else:
            await workflow.wait_condition(workflow.all_handlers_finished)
        self.run.s.runs += 1
        workflow.continue_as_new(CaseInput(state=self.run.s))

    def refuse_when_busy(self) -> None:
        """An update's validator: nothing new is taken while the case closes or continues as new."""
        s = self.run.s
        if s.stage is Stage.CLOSED:  # closing: what is queued is answered, nothing new is taken
            raise error(Refusal(RefusalCode.CASE_CLOSED, f"case {s.case_id} is closed"))
        if self.underway:  # the sender retries against the next run (workflows/client.py)
            raise error(Refusal(RefusalCode.CASE_BUSY, "the case is continuing as new; send again"), retryable=True)
