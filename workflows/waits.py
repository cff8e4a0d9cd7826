"""Every long wait of a case (messages-v2): for a task, the Stage 1 window, dormancy.

While it waits the case applies its inbox in order, continues as new when its history
grows long, and gives way when the case owner confirms the person has left the UK (R11).
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Callable

from temporalio import workflow

from workflows.context import CaseRun
from workflows.continuing import Continuing
from workflows.inbox import Inbox


class LeftUkConfirmed(Exception):
    """Raised out of a wait when the case owner confirms the person has left the UK (R11)."""


class Waits:
    def __init__(self, run: CaseRun, inbox: Inbox, continuing: Continuing) -> None:
        self.run = run
        self.inbox = inbox
        self.continuing = continuing

    async def until(self, done: Callable[[], bool], *, until: datetime | None = None, summary: str | None = None) -> bool:
        """True when ``done()`` holds, False when ``until`` passes first."""
        s = self.run.s
        while True:
            if s.left_uk_confirmed:
                s.left_uk_confirmed = False
                raise LeftUkConfirmed()
            if done():
                return True
            if self.continuing.due():  # before the next message: a steady stream must not put it off
                await self.continuing.now()
            if self.inbox:
                await self.inbox.apply_next()
                continue
            remaining = None if until is None else until - workflow.now()
            if remaining is not None and remaining <= timedelta(0):
                return False
            try:
                await workflow.wait_condition(
                    lambda: done() or bool(self.inbox) or self.continuing.due(),
                    timeout=None if remaining is None else max(remaining, timedelta(seconds=1)),
                    timeout_summary=summary,
                )
            except asyncio.TimeoutError:
                return done()
