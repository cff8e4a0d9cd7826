"""What a case shows operators: what it waits on, in its query, the Web UI's current
details and the search attributes operators filter by (no personal data: these are not
encrypted)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from casework import search

from workflows.context import PATCH_SEARCH_ATTRIBUTES, CaseRun


class CaseStatus:
    def __init__(self, run: CaseRun) -> None:
        self.run = run
        self._code: str | None = None
        self._until: datetime | None = None
        #: The search attributes last upserted (an upsert is a history event: only on change).
        self._published: tuple[Any, ...] | None = None

    def waiting(self, what: str | None, until: datetime | None = None, code: str | None = None) -> None:
        """Say what the case waits on (None: nothing, it has closed)."""
        s = self.run.s
        s.waiting_on = what
        self._code, self._until = code, until
        text = "Closed" if what is None else f"Waiting on: {what}" + (f" – due {until:%Y-%m-%d %H:%M} UTC" if until else "")
        workflow.set_current_details(f"**{s.stage.value}** · {text}")
        self._publish()

    def _publish(self) -> None:
        """Mirror stage, team, owner, wait, deadline and overdue mark into search attributes.

        Added after the first histories were recorded, so old runs replay without it (the
        patch; see docs/changing-workflows.md).
        """
        if not workflow.patched(PATCH_SEARCH_ATTRIBUTES):
            return
        self._upsert()

    def _upsert(self) -> None:
        s = self.run.s
        overdue = any(t.overdue for t in s.open_tasks.values() if t.kind != "overdue_review")
        values = (s.stage.value, s.team, s.case_owner, self._code, self._until, overdue)
        if values == self._published:
            return
        self._published = values
        stage, team, owner, code, until, overdue = values

        def put(key: Any, value: Any) -> Any:
            return key.value_unset() if value is None else key.value_set(value)

        workflow.upsert_search_attributes([
            put(search.CASE_STAGE, stage), put(search.TEAM, team), put(search.CASE_OWNER, owner),
            put(search.WAITING_ON, code), put(search.NEXT_DEADLINE, until), search.OVERDUE.value_set(overdue),
        ])
