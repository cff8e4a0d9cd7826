"""Who holds a task: claim, unclaim, assign (issue 15), through the owner's function of
migration 0009 - the API's login may not update tasks or write the audit log itself.

Each change is conditional: it takes effect only if the task is still open and held by
whom the caller's policy decision assumed (``expected``), so two claims at once have one
winner, and a claim that meets the worker's completion (or the case's closure) finds the
task settled and changes nothing. Its audit row is written with it, under the actor.
"""

from __future__ import annotations

from enum import StrEnum

from cid.db import Executor


class Holding(StrEnum):
    """The audit log's action for each change (the function accepts these only)."""

    CLAIMED = "task claimed"
    UNCLAIMED = "task unclaimed"
    ASSIGNED = "task assigned"


async def change_assignee(
    conn: Executor, task_id: int, *, expected: str | None, to: str | None, actor: str, action: Holding,
) -> bool:
    """Set the assignee of open task ``task_id`` from ``expected`` to ``to``, audited under
    ``actor``; False (nothing written) when the task is settled or held by someone else now."""
    return bool(await conn.fetchval("SELECT casework_change_assignee($1, $2, $3, $4, $5)",
                                    task_id, expected, to, actor, action.value))
