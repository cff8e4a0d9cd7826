"""The scale phase: years of cases in the CID, and what people wait for as they pile up.

For each size (10,000, 100,000, 1,000,000 cases by default) a fresh database is made,
migrated and loaded in bulk (``bench.scale_data``), then:

- the lists through the HTTP API (``GET /cases``, ``GET /tasks``), every filter the API
  offers alone and in combination, the first page and a deep page (a keyset cursor half
  the history down), by callers of different roles and teams, real tokens from the
  development issuer; one case (``GET /cases/{id}``); the personal-data read (R60,
  recorded under the caller); the team dashboard's counts (``cid.dashboard``);
- the stuck-case sweep's CID half (``cid.sweep``: overdue tasks, open cases in pages);

each as p50/p95 over repeated calls with varied filters and callers. Every statement those
calls run is also run once under ``EXPLAIN (ANALYZE, BUFFERS)`` (``bench.plans``): a
sequential scan of a large table or a sort of more than a page fails the phase.
Target: flat (within 2x from the smallest size to the largest) for the lists, the case page
and the dashboard; linear for the sweep.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import socket
import statistics
import time
from collections.abc import AsyncIterator
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import httpx
import uvicorn

from access.dev_issuer import load_identities, running
from access.dev_tokens import Tokens
from access.directory import load_directory
from access.principal import Principal
from casework.config import AccessSettings
from access.tokens import TokenVerifier
from api import cursors
from api.app import create_app
from api.resources import cases_of, tasks_of
from api.services import Services
from bench import scale_data
from bench.drive import quantile
from bench.plans import Checked, Explaining
from casework.case import Stage
from casework.tasks import TASK_KINDS
from cid import dashboard, read_model, sweep
from cid.db import API_LOGIN, create_pool, login_as, migrate_dsn
from cid.personal_data import read_personal_data

IDENTITIES = Path(__file__).resolve().parent.parent / "deploy" / "dev-identities.toml"
LOCAL = {"CASEWORK_STACK": "local"}
PAGE = 50
#: Who calls: caseworkers of each team, a senior caseworker, NBTC, ICE, the Director.
CASE_CALLERS = ("cw.ben", "cw.cara", "cw.dan", "scw.erin", "nbtc.finn", "ice.gita", "director.hal")
TASK_CALLERS = ("cw.ben", "cw.cara", "scw.erin", "nbtc.finn", "ice.gita", "director.hal")
CASE_FILTERS: tuple[tuple[str, ...], ...] = (
    (), ("stage",), ("team",), ("owner",), ("overdue",), ("stage", "team"), ("team", "overdue"), ("owner", "stage"),
)
TASK_FILTERS: tuple[tuple[str, ...], ...] = (
    (), ("team",), ("kind",), ("overdue",), ("assignee",), ("mine",), ("case_id",), ("team", "kind"),
    ("kind", "overdue"), ("mine", "overdue"),
)
STAGES = [s.value for s in Stage if s is not Stage.INTAKE]
#: What is flat (within 2x) and what is linear in the number of cases.
FLAT = ("cases first page", "cases deep page", "tasks first page", "tasks deep page", "case page", "personal data (R60)",
        "dashboard counts")
LINEAR = ("sweep: overdue tasks", "sweep: open cases")


@dataclass
class SizeResult:
    cases: int
    load: dict[str, Any]
    latencies_s: dict[str, list[float]] = field(default_factory=dict)
    #: Per group and filter combination (``group | filters``), for finding the one that grows.
    by_filter_s: dict[str, list[float]] = field(default_factory=dict)
    statements_checked: int = 0
    findings: list[dict[str, str]] = field(default_factory=list)
    answers: dict[str, int] = field(default_factory=dict)
    sweep: dict[str, Any] = field(default_factory=dict)
    database_mb: float = 0.0
    #: Each measure's statements' execution times in the database (EXPLAIN ANALYZE), summed per call.
    db_ms: dict[str, list[float]] = field(default_factory=dict)

    def p(self, group: str, q: float) -> float:
        return quantile(sorted(self.latencies_s.get(group, [])), q)


@dataclass
class ScaleResult:
    sizes: list[SizeResult]
    calls: int
    forced_plans_below: int

    @property
    def findings(self) -> list[dict[str, str]]:
        return [f | {"cases": str(s.cases)} for s in self.sizes for f in s.findings]

    def growth(self, group: str) -> float:
        """p50 at the largest size over p50 at the smallest."""
        first, last = self.sizes[0].p(group, 0.5), self.sizes[-1].p(group, 0.5)
        return last / first if first else float("nan")

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"calls": self.calls, "forced_plans_below": self.forced_plans_below, "sizes": []}
        for s in self.sizes:
            d = asdict(s)
            d["p50_ms"] = {g: s.p(g, 0.5) * 1e3 for g in s.latencies_s}
            d["p95_ms"] = {g: s.p(g, 0.95) * 1e3 for g in s.latencies_s}
            d["by_filter_p50_ms"] = {g: quantile(sorted(v), 0.5) * 1e3 for g, v in s.by_filter_s.items()}
            d["db_p50_ms"] = {g: quantile(sorted(v), 0.5) for g, v in s.db_ms.items()}
            d["db_max_ms"] = {g: max(v) for g, v in s.db_ms.items() if v}
            del d["by_filter_s"]
            out["sizes"].append(d)
        out["growth_p50"] = {g: self.growth(g) for g in FLAT + LINEAR if len(self.sizes) > 1}
        out["findings"] = self.findings
        return out


def database_for(dsn: str, cases: int) -> tuple[str, str]:
    """The admin DSN's database name with the size appended, and the DSN of that database."""
    parts = urlsplit(dsn)
    name = f"{parts.path.lstrip('/') or 'postgres'}_scale_{cases}"
    return name, urlunsplit(parts._replace(path=f"/{name}"))


#: The first migration applied after the load, timed: the indexes of issue 22, built
#: CONCURRENTLY on a full CID as they would be on a live one.
LATER = "0014"


async def fresh_database(admin_dsn: str, cases: int) -> str:
    """A new database at the size's name, migrated up to (not including) ``LATER``."""
    name, dsn = database_for(admin_dsn, cases)
    conn = await asyncpg.connect(admin_dsn)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    await migrate_dsn(dsn, before=LATER)
    return dsn


async def drop_database(admin_dsn: str, cases: int) -> None:
    name, _ = database_for(admin_dsn, cases)
    conn = await asyncpg.connect(admin_dsn)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


@contextlib.asynccontextmanager
async def serving(dsn: str, issuer_url: str) -> AsyncIterator[tuple[httpx.AsyncClient, Services]]:
    """The API on uvicorn on a loopback port, logged in to ``dsn`` as the API's own login.
    Only reads are measured: its case client is never used (no Temporal needed)."""
    pool = await create_pool(login_as(dsn, API_LOGIN), max_size=10)
    services = Services(TokenVerifier(AccessSettings(issuer=issuer_url, audience="casework-api")), pool,
                        None, load_directory(IDENTITIES))  # type: ignore[arg-type]
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    server = uvicorn.Server(uvicorn.Config(create_app(services), log_level="warning", access_log=False))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        while not server.started:
            if task.done():
                task.result()
            await asyncio.sleep(0.02)
        async with httpx.AsyncClient(base_url=url, timeout=120) as http:
            yield http, services
    finally:
        server.should_exit = True
        await task
        sock.close()
        await pool.close()


@dataclass
class _Call:
    group: str
    filters: tuple[str, ...]
    who: str
    method: str
    path: str
    params: dict[str, Any] = field(default_factory=dict)
    body: dict[str, Any] | None = None


class _Plan:
    """What one size's calls are made of: values to filter by, cursors half-way down."""

    def __init__(self, loaded: scale_data.Loaded, rng: random.Random, deep_case: tuple[datetime, str],
                 deep_task: tuple[datetime, int] | None) -> None:
        self.loaded, self.rng = loaded, rng
        self.deep_case = cursors.encode(*deep_case)
        self.deep_task = cursors.encode(*deep_task) if deep_task else None

    def team_of(self, who: str) -> str:
        for team, owners in scale_data.DEV_OWNERS.items():
            if who in owners:
                return team
        return self.rng.choice(list(scale_data.TEAMS))

    def case_params(self, who: str, filters: tuple[str, ...]) -> dict[str, Any]:
        team = self.team_of(who)
        values = {"stage": self.rng.choice(STAGES), "team": team, "owner": self.rng.choice(self.loaded.owners[team][:20]),
                  "overdue": "true"}
        return {f: values[f] for f in filters} | {"limit": PAGE}

    def task_params(self, who: str, filters: tuple[str, ...]) -> dict[str, Any]:
        team = self.team_of(who)
        cases = self.loaded.samples.get(team) or [scale_data.case_id(1)]
        values = {"team": self.rng.choice([team, "NBTC", "ICE Tasking and Detention Gatekeeper", "Senior caseworker"]),
                  "kind": self.rng.choice(sorted(TASK_KINDS)), "overdue": "true", "mine": "true",
                  "assignee": self.rng.choice(self.loaded.owners[team][:20]), "case_id": self.rng.choice(cases)}
        return {f: values[f] for f in filters} | {"limit": PAGE}

    def calls(self, n: int) -> list[_Call]:
        rng, out = self.rng, []
        for _ in range(n):
            who, filters = rng.choice(CASE_CALLERS), rng.choice(CASE_FILTERS)
            out.append(_Call("cases first page", filters, who, "GET", "/cases", self.case_params(who, filters)))
            who, filters = rng.choice(CASE_CALLERS), rng.choice(CASE_FILTERS)
            out.append(_Call("cases deep page", filters, who, "GET", "/cases",
                             self.case_params(who, filters) | {"cursor": self.deep_case}))
            who, filters = rng.choice(TASK_CALLERS), rng.choice(TASK_FILTERS)
            out.append(_Call("tasks first page", filters, who, "GET", "/tasks", self.task_params(who, filters)))
            if self.deep_task:
                who, filters = rng.choice(TASK_CALLERS), rng.choice(TASK_FILTERS)
                out.append(_Call("tasks deep page", filters, who, "GET", "/tasks",
                                 self.task_params(who, filters) | {"cursor": self.deep_task}))
            who = rng.choice(("cw.ben", "cw.eve", "cw.cara", "cw.dan"))
            case = rng.choice(self.loaded.samples[self.team_of(who)] or [scale_data.case_id(1)])
            out.append(_Call("case page", (), who, "GET", f"/cases/{case}"))
            out.append(_Call("personal data (R60)", (), who, "POST", f"/cases/{case}/personal-data",
                             body={"purpose": "deportation", "reason": "scale benchmark: a caseworker reads the case"}))
        rng.shuffle(out)
        return out


async def _deep_keys(conn: asyncpg.Connection, cases: int) -> tuple[tuple[datetime, str], tuple[datetime, int] | None]:
    """Keys half-way down each list: the case opened at the middle of the years; the open
    task at the middle of the due times (found once, by OFFSET: setting up, not measured)."""
    middle = scale_data.case_id(max(1, cases // 2))
    opened = await conn.fetchval("SELECT opened_at FROM cases WHERE id = $1", middle)
    open_tasks = await conn.fetchval("SELECT count(*) FROM tasks WHERE status = 'open'")
    row = await conn.fetchrow("SELECT due_at, id FROM tasks WHERE status = 'open' ORDER BY due_at, id OFFSET $1 LIMIT 1",
                              max(0, int(open_tasks) // 2))
    return (opened, middle), ((row["due_at"], row["id"]) if row else None)


async def _principal(services: Services, token: str) -> Principal:
    return await services.verifier.verify_header_async(f"Bearer {token}")


async def check_plans(owner_dsn: str, services: Services, tokens: Tokens, plan: _Plan, calls: list[_Call],
                      *, forced: bool) -> Checked:
    """Each distinct (group, filters, caller) of ``calls`` once, through the read model's
    own functions on an explaining connection, as the route would call them."""
    checked = Checked("scale")
    conn = await asyncpg.connect(owner_dsn)
    try:
        from cid.db import _init_connection

        await _init_connection(conn)
        explaining = Explaining(conn, checked, forced=forced)
        seen: set[tuple[str, tuple[str, ...], str]] = set()
        for call in calls:
            key = (call.group, call.filters, call.who)
            if key in seen:
                continue
            seen.add(key)
            who = await _principal(services, tokens.of(call.who))
            checked.label = call.group
            await _explain_call(explaining, who, call)
        checked.label = "dashboard counts"
        now = datetime.now(timezone.utc)
        for teams in (["CC EEA Team"], ["NBTC"], ["Senior caseworker"], list(scale_data.TEAMS)):
            await dashboard.team_counts(explaining, teams, now)
        checked.label = "sweep pages"
        await sweep.check_statements(explaining)
    finally:
        await conn.close()
    return checked


async def _explain_call(conn: Any, who: Principal, call: _Call) -> None:
    p = call.params
    limit = int(p.get("limit", PAGE)) + 1
    if call.path == "/cases":
        after = cursors.decode(p.get("cursor"), str)
        await read_model.visible_cases(conn, cases_of(who), stage=p.get("stage"), team=p.get("team"),
                                       owner=p.get("owner"), overdue=bool(p.get("overdue")), after=after, limit=limit)
    elif call.path == "/tasks":
        mine = bool(p.get("mine"))
        filters = read_model.TaskFilters(team=p.get("team"), kind=p.get("kind"), case_id=p.get("case_id"),
                                         assignee=p.get("assignee"), overdue=bool(p.get("overdue")),
                                         mine_teams=tuple(sorted(who.teams)) if mine else None,
                                         mine_subject=who.subject if mine else None)
        await read_model.api_tasks(conn, filters, tasks_of(who), after=cursors.decode(p.get("cursor"), int), limit=limit)
    elif call.method == "GET":
        case_id = call.path.rsplit("/", 1)[1]
        await read_model.case_ref(conn, case_id)
        await read_model.visible_case(conn, cases_of(who), case_id)
        await read_model.open_tasks_of(conn, case_id)
    else:  # the R60 read: its definer function's own statements are checked through auto_explain
        case_id = call.path.split("/")[2]
        await read_personal_data(conn, case_id, who.subject, "deportation", "scale benchmark plan check")


async def measure_size(admin_dsn: str, cases: int, calls: int, *, issuer_url: str, tokens: Tokens, seed: int,
                       forced: bool, keep: bool = False, progress: Any = None, workflows: int = 0,
                       work_dir: Path | None = None) -> SizeResult:
    dsn = await fresh_database(admin_dsn, cases)
    try:
        task = progress.add_task(f"scale {cases:,}: loading", total=cases) if progress else None
        loaded = await scale_data.load(dsn, cases, seed=seed, analyze=False,
                                       progress=(lambda n: progress.advance(task, n)) if progress else None)
        result = SizeResult(cases, scale_data.summary(loaded))
        started = time.perf_counter()
        applied = await migrate_dsn(dsn)
        result.load["later_migrations"] = applied
        result.load["seconds"]["later_migrations"] = time.perf_counter() - started
        conn = await asyncpg.connect(dsn)
        try:
            started = time.perf_counter()
            # As autovacuum leaves a CID that has settled: statistics, and the visibility map
            # that lets the capped counts read their indexes alone (index-only scans).
            await conn.execute("VACUUM (ANALYZE) cases, tasks")
            await conn.execute("ANALYZE")
            result.load["seconds"]["analyze"] = time.perf_counter() - started
            result.load["seconds"]["total"] += result.load["seconds"]["later_migrations"] + result.load["seconds"]["analyze"]
            deep_case, deep_task = await _deep_keys(conn, cases)
            result.database_mb = int(await conn.fetchval("SELECT pg_database_size(current_database())")) / 2**20
        finally:
            await conn.close()
        plan = _Plan(loaded, random.Random(seed), deep_case, deep_task)
        schedule = plan.calls(calls)
        async with serving(dsn, issuer_url) as (http, services):
            for who in set(CASE_CALLERS + TASK_CALLERS) | {"cw.eve"}:
                tokens.of(who)
            checked = await check_plans(dsn, services, tokens, plan, schedule, forced=forced)
            result.statements_checked = checked.statements
            for plan_ in checked.plans:
                result.db_ms.setdefault(plan_["label"], []).append(plan_["ms"] or 0.0)
            result.findings = [asdict(f) for f in checked.findings]
            # Warm once (connections, the verifier's keys), then measure.
            for call in schedule[:10]:
                await _send(http, tokens, call)
            measured = progress.add_task(f"scale {cases:,}: calls", total=len(schedule)) if progress else None
            for call in schedule:
                started = time.perf_counter()
                status = await _send(http, tokens, call)
                elapsed = time.perf_counter() - started
                result.answers[str(status)] = result.answers.get(str(status), 0) + 1
                if status == 200:
                    result.latencies_s.setdefault(call.group, []).append(elapsed)
                    result.by_filter_s.setdefault(f"{call.group} | {'+'.join(call.filters) or 'none'}", []).append(elapsed)
                if progress:
                    progress.advance(measured)
            # The dashboard's counts, as the inbox's page calls them (the API's login).
            now = datetime.now(timezone.utc)
            rng = random.Random(seed)
            for _ in range(calls):
                teams = rng.choice([["CC EEA Team"], ["CC Non-EEA Team"], ["NBTC"], ["Senior caseworker"],
                                    list(scale_data.TEAMS), [rng.choice(loaded.owners["CC EEA Team"])]])
                started = time.perf_counter()
                await dashboard.team_counts(services.pool, teams, now)
                result.latencies_s.setdefault("dashboard counts", []).append(time.perf_counter() - started)
        result.sweep = await _sweep(dsn, repeats=3)
        for name in LINEAR:
            result.latencies_s[name] = result.sweep[name]
        if workflows:
            result.sweep["with_temporal"] = await _sweep_with_temporal(dsn, workflows, work_dir or Path("."), progress)
    finally:
        if not keep:
            await drop_database(admin_dsn, cases)
    return result


async def _send(http: httpx.AsyncClient, tokens: Tokens, call: _Call) -> int:
    headers = {"Authorization": f"Bearer {tokens.of(call.who)}"}
    if call.method == "GET":
        answer = await http.get(call.path, params=call.params, headers=headers)
    else:
        answer = await http.post(call.path, json=call.body, headers=headers)
    return answer.status_code


async def _sweep(dsn: str, repeats: int) -> dict[str, Any]:
    """The sweep's CID half over the whole CID: every overdue open task, every open case in
    pages (what the sweep cross-checks against Temporal); time and rows, ``repeats`` times."""
    out: dict[str, Any] = {name: [] for name in LINEAR}
    conn = await asyncpg.connect(dsn)
    try:
        for _ in range(repeats):
            now = datetime.now(timezone.utc)
            started = time.perf_counter()
            overdue = 0
            async for _row in sweep.overdue_tasks(conn, now):
                overdue += 1
            out["sweep: overdue tasks"].append(time.perf_counter() - started)
            started = time.perf_counter()
            open_cases = 0
            async for page in sweep.open_case_pages(conn):
                open_cases += len(page)
            out["sweep: open cases"].append(time.perf_counter() - started)
            out["overdue_tasks"], out["open_cases"] = overdue, open_cases
    finally:
        await conn.close()
    return out


async def _sweep_with_temporal(dsn: str, workflows: int, work_dir: Path, progress: Any) -> dict[str, Any]:
    """The whole sweep (activities.sweep) against a dev server of its own holding ``workflows``
    sleeping case workflows, one for each of the first open cases (by ID) with the search
    attributes their CID rows imply; every other open case is then a workflow not running."""
    from temporalio.client import Client

    from bench.sleeping import Sleeper, start_sleeping
    from local_stack.dev_server import DevServer
    from activities.sweep import sweep_report

    server = DevServer(None, work_dir / f"temporal-sweep-{workflows}.log")
    server.start()
    try:
        await server.wait_ready(60)
        client = await Client.connect(server.address)
        pool = await create_pool(dsn, max_size=2)
        try:
            sleepers: list[Sleeper] = []
            async with pool.acquire() as conn:
                async for ids in sweep.open_case_pages(conn):
                    for state in (await sweep.states(conn, ids)).values():
                        sleepers.append(Sleeper(state.case_id, state.stage, state.team, state.overdue))
                    if len(sleepers) >= workflows:
                        break
            sleepers = sleepers[:workflows]
            task = progress.add_task(f"sweep: {len(sleepers):,} sleeping workflows", total=len(sleepers)) if progress else None
            started, seconds = await start_sleeping(client, sleepers,
                                                    progress=(lambda n: progress.advance(task, n)) if progress else None)
            await asyncio.sleep(2)  # visibility catches up
            report = await sweep_report(client, pool, grace=timedelta(0))
        finally:
            await pool.close()
    finally:
        await asyncio.to_thread(server.stop)
    return {"workflows": started, "start_rate": started / seconds if seconds else None, "seconds": report.seconds,
            "workflows_seen": report.workflows_seen, "open_cases_seen": report.open_cases_seen,
            "overdue_tasks_seen": report.overdue_tasks_seen, "counts": report.counts,
            "not_running_by_status": report.not_running_by_status}


async def measure(admin_dsn: str, sizes: list[int], calls: int, *, seed: int = 22, keep: bool = False,
                  forced_below: int = 50_000, progress: Any = None, workflows: int = 0,
                  work_dir: Path | None = None) -> ScaleResult:
    identities = load_identities(IDENTITIES)
    results = []
    with running(identities, environ=LOCAL) as issuer:
        for cases in sorted(sizes):
            tokens = Tokens(issuer.url, identities)  # fresh per size: a size's run may outlast a token
            results.append(await measure_size(admin_dsn, cases, calls, issuer_url=issuer.url, tokens=tokens, seed=seed,
                                              forced=cases < forced_below, keep=keep, progress=progress,
                                              workflows=workflows, work_dir=work_dir))
    return ScaleResult(results, calls, forced_below)


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")
