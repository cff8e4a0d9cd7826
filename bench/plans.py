"""The plans of the user-facing queries, checked: no sequential scan of a large table, no
sort of more than a page.

``Explaining`` stands in for the connection the read model is handed: every statement the
real code runs (``cid.read_model``, ``cid.dashboard``) is run once under ``EXPLAIN
(ANALYZE, BUFFERS, FORMAT JSON)`` before it is run for its answer, so what is checked is
the query the API sends, by reference, never a copy of its text.

On a small CID the planner rightly scans small tables; to see whether a query *could* be
served by an index, ``forced`` turns sequential scans and sorts off for the EXPLAIN
(``enable_seqscan``/``enable_sort``: the planner still uses them when nothing else
answers the query, which is what the check catches). The smoke run in the tests uses it;
the scale run checks the plans the planner chooses by itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import asyncpg

#: Tables that grow with the cases (the small configuration tables may be scanned).
LARGE_TABLES = frozenset({
    "cases", "tasks", "audit_log", "subjects", "subject_identifiers", "referrals", "certificates", "convictions",
    "outbound_messages", "notes", "calendar_events", "intake_referrals", "intake_certificates", "paper_files",
})
#: Below this many rows a table is small whatever its name: the planner rightly scans an
#: empty or nearly empty table (the generated CID holds no certificates, say).
SMALL_ROWS = 10_000
#: The largest page a user-facing query returns (api/routes: limit at most 200, plus one to see a next page).
PAGE = 201


@dataclass
class Finding:
    query: str
    problem: str


@dataclass
class Checked:
    name: str
    #: What the statements being run now are for (a measure's name); kept with each plan.
    label: str = ""
    statements: int = 0
    findings: list[Finding] = field(default_factory=list)
    #: Each statement's execution time (ms) and shared buffers hit and read, from EXPLAIN.
    plans: list[dict[str, Any]] = field(default_factory=list)


def problems(plan: dict[str, Any], page: int = PAGE, large: frozenset[str] = LARGE_TABLES) -> list[str]:
    """What is wrong with one plan (``EXPLAIN (FORMAT JSON)``'s ``Plan``), node by node."""
    found: list[str] = []

    def walk(node: dict[str, Any]) -> None:
        kind = node.get("Node Type", "")
        relation = node.get("Relation Name")
        if kind == "Seq Scan" and relation in large:
            found.append(f"sequential scan of {relation}")
        if kind == "Sort":
            rows = node.get("Actual Rows", 0)  # per loop: a small sort repeated per row is not a large one
            if rows > page:
                found.append(f"sort of {rows} rows (more than a page) by {', '.join(node.get('Sort Key', []))}")
        for child in node.get("Plans", []):
            walk(child)

    walk(plan)
    return found


class Explaining:
    """An asyncpg connection's read methods, each statement explained first (see above)."""

    def __init__(self, conn: asyncpg.Connection, checked: Checked, *, forced: bool) -> None:
        self._conn = conn
        self._checked = checked
        self._forced = forced
        self._large: frozenset[str] | None = None

    async def _large_tables(self) -> frozenset[str]:
        """LARGE_TABLES, less those nearly empty here (all of them when ``forced``)."""
        if self._large is None:
            if self._forced:
                self._large = LARGE_TABLES
            else:
                rows = await self._conn.fetch(
                    "SELECT relname FROM pg_class WHERE relkind = 'r' AND relname = ANY($1::text[]) AND reltuples >= $2",
                    sorted(LARGE_TABLES), SMALL_ROWS)
                self._large = frozenset(r["relname"] for r in rows)
        return self._large

    async def _explain(self, sql: str, args: tuple[Any, ...], *, forced: bool) -> dict[str, Any]:
        import json

        try:
            async with self._conn.transaction():
                if forced:
                    await self._conn.execute("SET LOCAL enable_seqscan = off; SET LOCAL enable_sort = off")
                raw = await self._conn.fetchval(f"EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) {sql}", *args)
                # EXPLAIN ANALYZE runs the statement: what it would write (an R60 record) is undone.
                raise _Undo(raw)
        except _Undo as undo:
            raw = undo.raw
        doc = json.loads(raw) if isinstance(raw, str) else raw
        return doc[0]

    async def _explained(self, sql: str, args: tuple[Any, ...]) -> None:
        checked = await self._explain(sql, args, forced=self._forced)
        # The time is the plan the planner chooses; a forced plan is only for the check.
        top = await self._explain(sql, args, forced=False) if self._forced else checked
        self._checked.statements += 1
        shared = top["Plan"].get("Shared Hit Blocks", 0), top["Plan"].get("Shared Read Blocks", 0)
        self._checked.plans.append({"label": self._checked.label, "ms": top.get("Execution Time"),
                                    "shared_hit": shared[0], "shared_read": shared[1]})
        for problem in problems(checked["Plan"], large=await self._large_tables()):
            self._checked.findings.append(Finding(" ".join(sql.split())[:300], problem))

    def transaction(self) -> Any:
        return self._conn.transaction()

    async def execute(self, sql: str, *args: Any) -> str:
        return await self._conn.execute(sql, *args)

    async def _run(self, method: str, sql: str, args: tuple[Any, ...]) -> Any:
        """Run the statement for its answer, with ``auto_explain`` giving the plans of the
        statements it runs inside functions (the R60 read is one definer function): those
        are checked too. Settings as for the EXPLAIN (forced or not); what it writes stays."""
        nested: list[str] = []

        def heard(_conn: Any, message: Any) -> None:
            if getattr(message, "severity", "") == "LOG" and "Query Text" in str(message.message):
                nested.append(str(message.message))

        self._conn.add_log_listener(heard)
        try:
            async with self._conn.transaction():
                await self._conn.execute(
                    "LOAD 'auto_explain'; SET LOCAL auto_explain.log_min_duration = 0;"
                    " SET LOCAL auto_explain.log_analyze = on; SET LOCAL auto_explain.log_format = json;"
                    " SET LOCAL auto_explain.log_nested_statements = on; SET LOCAL client_min_messages = log"
                    + ("; SET LOCAL enable_seqscan = off; SET LOCAL enable_sort = off" if self._forced else ""))
                answer = await getattr(self._conn, method)(sql, *args)
        finally:
            self._conn.remove_log_listener(heard)
        await self._check_nested(sql, nested)
        return answer

    async def _check_nested(self, sql: str, messages: list[str]) -> None:
        import json

        for message in messages:
            body = message[message.index("{"):] if "{" in message else ""
            try:
                doc = json.loads(body)
            except ValueError:
                continue
            text = " ".join(str(doc.get("Query Text", "")).split())
            if text == " ".join(sql.split()):
                continue  # the statement itself: explained above
            self._checked.statements += 1
            for problem in problems(doc.get("Plan", {}), large=await self._large_tables()):
                self._checked.findings.append(Finding(f"(nested) {text[:280]}", problem))

    async def fetch(self, sql: str, *args: Any) -> list[asyncpg.Record]:
        await self._explained(sql, args)
        return await self._run("fetch", sql, args)

    async def fetchrow(self, sql: str, *args: Any) -> asyncpg.Record | None:
        await self._explained(sql, args)
        return await self._run("fetchrow", sql, args)

    async def fetchval(self, sql: str, *args: Any) -> Any:
        await self._explained(sql, args)
        return await self._run("fetchval", sql, args)


class _Undo(Exception):
    def __init__(self, raw: Any) -> None:
        super().__init__("undo the explained statement")
        self.raw = raw
