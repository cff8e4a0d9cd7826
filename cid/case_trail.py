"""A case's trail (issue 20, GET /cases/{id}/timeline): its audit rows and its decisions in
one list, oldest first, by time then (kind, id) so that equal times keep one order.

Both halves come through the owner's definer functions (0017 ``api_case_timeline``, 0021
``casework_case_decisions``), so neither carries personal data. The audit half is the case's
newest ``AUDIT_ROWS_MAX`` rows, as the function bounds it; paging is done here.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from cid import decisions, inbox_reads
from cid.db import Executor

#: The audit function's own bound (0017): a case's newest rows at most.
AUDIT_ROWS_MAX = 500


def key(entry: dict[str, Any]) -> tuple[datetime, str]:
    """The keyset key: time, then "a…"/"d…" and the row's ID, zero-padded to sort as text."""
    return entry["at"], f"{entry['kind'][0]}{entry['id']:020d}"


async def entries(conn: Executor, case_id: str, *, after: tuple[datetime, str] | None, limit: int) -> list[dict[str, Any]]:
    """Up to ``limit`` entries of the case's trail after the keyset ``after``."""
    audit = [{"kind": "audit", "id": r["id"], "at": r["occurred_at"], "actor": r["actor"], "action": r["action"],
              "rule": r["rule"], "stage": r["stage"], "task_key": r["task_key"], "outcome": r["outcome"]}
             for r in await inbox_reads.timeline(conn, case_id, AUDIT_ROWS_MAX)]
    decided = [{"kind": "decision", "id": d["id"], "at": d["decided_at"], "actor": d["actor"], "action": d["step"],
                "rule": d["rule"], "outcome": d["outcome"], "sentence": d["sentence"]}
               for d in await decisions.of_case(conn, case_id)]
    merged = sorted(audit + decided, key=key)
    if after is not None:
        merged = [e for e in merged if key(e) > after]
    return merged[:limit]
