"""Issue 22: the scale phase at a smoke size, and the checks that make a scanning query fail CI.

``bench.scale.measure`` at a few thousand cases: a fresh database through the real
migrations, the generated CID loaded in bulk, the lists, the case page, the R60 read and
the dashboard through the API with real tokens, and every statement they run checked under
``EXPLAIN (ANALYZE, BUFFERS)`` with sequential scans and sorts discouraged (a query that
still scans, or sorts more than a page, had no index to use). Not timed: speed is the
benchmark's (python -m bench --only scale).
"""

from __future__ import annotations

from datetime import datetime, timezone

import asyncpg
import pytest

from bench import scale
from bench.plans import Checked, Explaining, problems
from cid import dashboard
from cid.db import NO_TRANSACTION, statements

SMOKE = 3000


async def test_smoke_scale_run_checks_every_plan(database_url: str) -> None:
    """The phase end to end at a smoke size: every call answered 200, every statement's
    plan checked and none scanning a large table or sorting more than a page."""
    result = await scale.measure(database_url, [SMOKE], calls=3, forced_below=10**9, keep=True)
    size = result.sizes[0]
    _, dsn = scale.database_for(database_url, SMOKE)
    conn = await asyncpg.connect(dsn)
    try:  # R60: every personal-data read through the API recorded under the caller (warm-up calls too)
        readers = await conn.fetch("SELECT actor, detail->>'via' AS via FROM audit_log WHERE action = 'personal data read'")
    finally:
        await conn.close()
        await scale.drop_database(database_url, SMOKE)
    # (the plan check's own reads are recorded too, by the owner's function: no 'via')
    assert len([r for r in readers if r["via"] == "api"]) >= len(size.latencies_s["personal data (R60)"])
    assert {r["actor"] for r in readers} <= {"cw.ben", "cw.eve", "cw.cara", "cw.dan"}
    assert size.load["rows"]["cases"] == SMOKE and size.load["rows"]["tasks"] > 3 * SMOKE
    assert size.load["rows"]["audit_log"] > 15 * SMOKE
    assert "0014_list_indexes.sql" in size.load["later_migrations"]  # built on the loaded CID
    assert size.answers == {"200": sum(len(v) for k, v in size.latencies_s.items() if k in scale.FLAT[:-1])}
    for group in scale.FLAT + scale.LINEAR:
        assert size.latencies_s.get(group), group
    assert size.statements_checked > 25
    assert size.findings == [], size.findings
    assert size.sweep["open_cases"] > 0 and size.sweep["overdue_tasks"] > 0


async def test_a_query_without_an_index_is_caught(pool: asyncpg.Pool) -> None:
    """The check itself: a filter no index serves is a sequential scan even when scans are
    discouraged; an order no index gives is a sort of every row."""
    checked = Checked("test")
    async with pool.acquire() as conn:
        await conn.execute("CREATE TEMP TABLE IF NOT EXISTS filler AS SELECT 1")
        explaining = Explaining(conn, checked, forced=True)
        await explaining.fetch("SELECT id FROM cases WHERE custody = $1 LIMIT 50", "somewhere")
        await explaining.fetch("SELECT id FROM audit_log ORDER BY actor LIMIT 50")
        # A statement inside a function (as the R60 read's definer function runs its reads).
        await conn.execute("CREATE OR REPLACE FUNCTION pg_temp.by_custody(t text) RETURNS bigint LANGUAGE plpgsql"
                           " AS $$ BEGIN RETURN (SELECT count(*) FROM cases WHERE custody = t); END $$")
        await explaining.fetchval("SELECT pg_temp.by_custody($1)", "somewhere")
    assert any(f.query.startswith("(nested)") and f.problem == "sequential scan of cases" for f in checked.findings)
    found = [f.problem for f in checked.findings]
    assert "sequential scan of cases" in found
    assert any(p.startswith("sequential scan of audit_log") or p.startswith("sort of") for p in found)
    sort = {"Node Type": "Sort", "Actual Rows": 5000, "Sort Key": ["x"], "Plans": []}
    assert problems(sort) == ["sort of 5000 rows (more than a page) by x"]
    assert problems({"Node Type": "Seq Scan", "Relation Name": "team_routes"}) == []  # configuration: small


async def test_dashboard_counts_are_capped(pool: asyncpg.Pool) -> None:
    """A count past the cap says "1,000+" rather than counting on (docs/performance.md)."""
    assert str(dashboard.Count.of(1001)) == "1,000+" and str(dashboard.Count.of(1000)) == "1,000"
    counts = await dashboard.team_counts(pool, ["No such team"], datetime.now(timezone.utc))
    assert counts.overdue == dashboard.Count(0) and counts.by_kind == {} and counts.oldest_waiting_since is None


def test_no_transaction_migrations_split_into_statements() -> None:
    from importlib import resources

    sql = (resources.files("cid") / "migrations" / "0014_list_indexes.sql").read_text()
    assert sql.startswith(NO_TRANSACTION)
    found = statements(sql)
    assert all(s.rstrip().endswith(";") and not s.lstrip().startswith("--") for s in found)
    assert sum("CREATE INDEX CONCURRENTLY" in s for s in found) >= 10
    with pytest.raises(ValueError):
        statements(f"{NO_TRANSACTION}\nCREATE INDEX CONCURRENTLY x ON cases (id)")


async def test_indexes_of_0014_are_valid(pool: asyncpg.Pool) -> None:
    """Built outside a transaction, CONCURRENTLY, and valid (a failed build leaves INVALID)."""
    rows = await pool.fetch(
        "SELECT c.relname, i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid"
        " WHERE c.relname IN ('cases_opened_idx', 'tasks_open_due_idx', 'tasks_open_team_kind_idx')")
    assert {r["relname"]: r["indisvalid"] for r in rows} == {
        "cases_opened_idx": True, "tasks_open_due_idx": True, "tasks_open_team_kind_idx": True}
    gone = await pool.fetchval("SELECT count(*) FROM pg_class WHERE relname IN ('cases_stage_idx', 'tasks_open_idx')")
    assert gone == 0


async def test_overdue_tasks_filter_is_two_ranges_with_one_order(pool: asyncpg.Pool) -> None:
    """GET /tasks?overdue=true's query (read_model.api_tasks): past due or escalated ahead of
    the due time, soonest due first, paged by the keyset; a task due later and not escalated
    never. Built as two index ranges merged, so a deep cursor reads no more than a page."""
    import uuid
    from datetime import timedelta

    from cid import read_model

    case_id = f"acro-case-O{uuid.uuid4().hex[:8]}"
    now = datetime.now(timezone.utc)
    await pool.execute("INSERT INTO cases (id, acro_reference, stage, status, team, eea, opened_at, updated_at)"
                       " VALUES ($1, $1, 'B-first-actions', 'open', 'CC EEA Team', true, $2, $2)", case_id, now)
    tasks = {"past": (now - timedelta(days=3), False), "escalated": (now - timedelta(days=2), True),
             "ahead": (now + timedelta(days=4), True), "later": (now + timedelta(days=1), False)}
    for key, (due, escalated) in tasks.items():
        await pool.execute("INSERT INTO tasks (case_id, task_key, kind, title, team, due_at, created_at, overdue)"
                           " VALUES ($1, $2, 'nbtc_check', 't', 'NBTC', $3, $4, $5)", case_id, key, due, now, escalated)
    filters = read_model.TaskFilters(case_id=case_id, overdue=True)
    everyone = read_model.Visible(all_cases=True)
    async with pool.acquire() as conn:
        first = await read_model.api_tasks(conn, filters, everyone, after=None, limit=2)
        rest = await read_model.api_tasks(conn, filters, everyone, after=(first[-1]["due_at"], first[-1]["id"]), limit=2)
    assert [r["task_key"] for r in first] == ["past", "escalated"] and [r["task_key"] for r in rest] == ["ahead"]
    assert all(r["overdue"] for r in first + rest)
