"""Running the real ``casework`` command against the real stack, as a caseworker would.

The command runs as a subprocess (the installed entry point) with the environment a
caseworker's terminal would have; the worker runs in the test process on its own task
queue. Subprocesses are awaited asynchronously: a blocking wait would starve the
worker that has to answer the command's update.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, AsyncIterator

import asyncpg
import pytest

from tests.support import running_worker, until

CASEWORK = str(Path(sys.executable).parent / "casework")
ACTOR = "cw.jones"


@dataclass
class Ran:
    args: tuple[str, ...]
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)

    def one_error_line(self) -> str:
        """The error as the user sees it: exactly one line on stderr, and never a traceback."""
        assert "Traceback" not in self.err, self.err
        lines = [line for line in self.err.splitlines() if line.strip()]
        assert len(lines) == 1, f"expected one line on stderr, got: {self.err!r}"
        return lines[0]

    def __str__(self) -> str:
        return f"casework {' '.join(self.args)} -> {self.code}\nstdout:\n{self.out}\nstderr:\n{self.err}"


class Casework:
    """``await cw("tasks", "--json")`` runs the command; ``env=`` overrides variables for one run.

    In API mode (``cw_api``), ``who=`` names the identity acting: the command gets a real
    token of that person or system from the development issuer (``CASEWORK_TOKEN``)."""

    def __init__(self, env: dict[str, str], pool: asyncpg.Pool, cwd: Path, token_of: Any = None,
                 who: str | None = None) -> None:
        self.env = env
        self.pool = pool
        self.cwd = cwd
        self.token_of = token_of
        self.who = who

    async def __call__(self, *args: str, env: dict[str, str | None] | None = None, timeout: float = 90,
                       who: str | None = None) -> Ran:
        run_env = dict(self.env)
        acting = who or self.who
        if self.token_of is not None and acting is not None:
            run_env["CASEWORK_TOKEN"] = await asyncio.to_thread(self.token_of, acting)
        for name, value in (env or {}).items():
            if value is None:
                run_env.pop(name, None)
            else:
                run_env[name] = value
        process = await asyncio.create_subprocess_exec(
            CASEWORK, *args, env=run_env, cwd=self.cwd,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(process.communicate(), timeout)
        assert process.returncode is not None
        return Ran(args, process.returncode, out.decode(), err.decode())

    async def each(self, *calls: tuple[str, ...], env: dict[str, str | None] | None = None, who: str | None = None) -> list[Ran]:
        """Independent commands at once (each is a process start: this keeps the tests quick)."""
        return list(await asyncio.gather(*(self(*args, env=env, who=who) for args in calls)))

    async def ok(self, *args: str, **kw: Any) -> Ran:
        ran = await self(*args, **kw)
        assert ran.code == 0, str(ran)
        assert "Traceback" not in ran.err, str(ran)
        return ran

    async def task_ref(self, case_id: str, kind: str, timeout: float = 30) -> str:
        """Wait (reading the CID) until the case has an open task of ``kind``; return it as CASE:KEY."""
        key = await until(lambda: self.pool.fetchval(
            "SELECT task_key FROM tasks WHERE case_id = $1 AND kind = $2 AND status = 'open'", case_id, kind
        ), f"{case_id} has no open {kind} task", timeout)
        return f"{case_id}:{key}"

    async def task_id(self, case_id: str, kind: str, timeout: float = 30, who: str | None = None) -> str:
        """The open task's numeric ID, found the way a caseworker finds it: ``casework tasks``."""
        await self.task_ref(case_id, kind, timeout)
        listed = (await self.ok("tasks", "--case", case_id, "--json", who=who)).json()["tasks"]
        return str(next(t["task_id"] for t in listed if t["kind"] == kind))


def cli_environment(database_url: str, temporal_address: str, task_queue: str, data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TEMPORAL_", "CASEWORK_")) and k not in ("DATABASE_URL", "COLUMNS")}
    try:  # the worker's payload keys, so the command seals and opens payloads as it does
        from casework.codec import KEYS_ENV, keyring_from_environment

        env[KEYS_ENV] = keyring_from_environment().to_env()
    except ImportError:
        pass
    env.update(
        DATABASE_URL=database_url,
        TEMPORAL_ADDRESS=temporal_address,
        TEMPORAL_TASK_QUEUE=task_queue,
        CASEWORK_ACTOR=ACTOR,
        CASEWORK_DATA_DIR=str(data_dir),  # no local stack file may interfere
    )
    return env


@pytest.fixture
async def cw(dev_env, pool, worker_pool, database_url, task_queue, tmp_path) -> AsyncIterator[Casework]:  # noqa: ANN001
    """The command line against the dev server and the test database, with a worker running."""
    address = dev_env.client.service_client.config.target_host
    env = cli_environment(database_url, address, task_queue, tmp_path / "casework-data")
    async with running_worker(dev_env.client, worker_pool, task_queue):  # as casework-worker logs in
        yield Casework(env, pool, tmp_path)


def api_cli_environment(api_url: str, data_dir: Path, config_home: Path) -> dict[str, str]:
    """A person's terminal in front of the API: its URL, and nothing of Temporal, the CID or
    the payload keys (so every command can only go through the API)."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("TEMPORAL_", "CASEWORK_", "XDG_")) and k not in ("DATABASE_URL", "COLUMNS")}
    env.update(CASEWORK_API_URL=api_url, CASEWORK_DATA_DIR=str(data_dir), XDG_CONFIG_HOME=str(config_home))
    return env


@pytest.fixture
async def cw_api(api, pool, tmp_path) -> AsyncIterator[Casework]:  # noqa: ANN001
    """The command line as a client of the API (tests/api_support.py ``api``: the dev issuer,
    the API on uvicorn, a worker on the module's time-skipping server); ``who=`` per command."""
    env = api_cli_environment(api.url, tmp_path / "casework-data", tmp_path / "config")
    yield Casework(env, pool, tmp_path, token_of=api.tokens.of)
