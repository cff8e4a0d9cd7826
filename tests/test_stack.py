"""``casework up`` as a newcomer runs it: a real subprocess with its own dev server, its
own payload key and (unless DATABASE_URL is set) its own embedded PostgreSQL.

With DATABASE_URL set (CI), each stack gets a fresh database on that server, so that the
example cases of one test never meet those of another.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import re
import signal
import socket
import stat
import subprocess
import sys
import sysconfig
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import AsyncIterator
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest
from google.protobuf.json_format import MessageToDict
from temporalio.api.operatorservice.v1 import ListSearchAttributesRequest
from temporalio.client import Client, WorkflowExecutionStatus

from casework import search
from casework.case import TaskCompletion, case_id_for
from local_stack.ports import free_port, port_taken
from casework.codec import load_key_file
from casework.rules import OUTCOME_LEFT_UK
from casework.temporal import data_converter
from starter.up import TRY_AS
from tests.test_access_tokens import Person
from workflows.client import CaseClient

EXAMPLES = Path(__file__).resolve().parent.parent / "examples" / "referrals"
READY_SECONDS = 90.0  # two busy cores: generous, but a hang still fails
EXIT_SECONDS = 30.0
PARKED = case_id_for("EX/000001A")  # disclosable, whereabouts unknown: waits on the NBTC check (R10)


def _example_case_ids() -> set[str]:
    return {case_id_for(json.loads(p.read_text())["acro_reference"]) for p in EXAMPLES.glob("*.json")}


def _sign_in(command: str, env: dict[str, str], user: str) -> subprocess.CompletedProcess:
    """Run the panel's ``casework login`` line; play the person's browser on the address it prints."""
    process = subprocess.Popen(["bash", "-c", command], env=env, cwd="/", text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert process.stderr is not None
        first = process.stderr.readline()
        assert first.startswith("Sign in at: "), first + process.stderr.read()
        Person(user)(first.removeprefix("Sign in at: ").strip())
        out, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    return subprocess.CompletedProcess(command, process.returncode, out, first + err)



def _casework() -> str:
    for folder in (sysconfig.get_path("scripts"), str(Path(sys.executable).parent)):
        candidate = Path(folder) / "casework"
        if candidate.is_file():
            return str(candidate)
    pytest.fail("the casework command is not installed in this venv (pip install -e .)")


def _http_status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status
    except urllib.error.HTTPError as err:  # 4xx/5xx: its status
        return err.code


def _client_token(issuer: str, client: str, secret: str) -> str:
    request = urllib.request.Request(f"{issuer}/token", data=b"grant_type=client_credentials", headers={
        "Authorization": "Basic " + base64.b64encode(f"{client}:{secret}".encode()).decode(),
        "Content-Type": "application/x-www-form-urlencoded"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())["access_token"]


def _http_json(url: str, body: object | None = None, headers: dict[str, str] | None = None) -> tuple[dict, dict]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json", **(headers or {})})
    with urllib.request.urlopen(request, timeout=5) as response:
        return json.loads(response.read()), dict(response.headers)


async def _web_ui_decrypts(stack: "Stack", case_id: str, acro_reference: str) -> None:
    """History holds ciphertext; the codec endpoint the Web UI was given opens it for the
    UI's origin with the stack's own key (what a browser on the UI does)."""
    raw = await Client.connect(f"127.0.0.1:{stack.temporal_port}")  # no codec: history as stored
    history = await raw.get_workflow_handle(case_id).fetch_history()
    sealed = history.events[0].workflow_execution_started_event_attributes.input.payloads[0]
    assert sealed.metadata["encoding"] == b"binary/encrypted"
    assert acro_reference.encode() not in sealed.data

    ui_settings, _ = await asyncio.to_thread(_http_json, f"http://127.0.0.1:{stack.ui_port}/api/v1/settings")
    endpoint = ui_settings["Codec"]["Endpoint"]
    # Issue 25 item 7: the UI's own origin serves the codec (decode only), the token added by
    # its gate: in neither the UI's public settings nor any process's command line.
    assert endpoint == f"http://127.0.0.1:{stack.ui_port}/codec" and ui_settings["DisableWriteActions"] is True
    token = (stack.data_dir / "codec-token").read_text().strip()
    assert token and token not in json.dumps(ui_settings)
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            assert token.encode() not in cmdline.read_bytes(), f"the codec token is on {cmdline}"
        except OSError:
            continue  # a process that ended meanwhile
    answer, _ = await asyncio.to_thread(
        _http_json, endpoint + "/decode", {"payloads": [MessageToDict(sealed)]}, {"X-Namespace": "default"})
    plain = base64.b64decode(answer["payloads"][0]["data"])
    assert json.loads(plain)["acro_reference"] == acro_reference


class Stack:
    """One ``casework up`` process on a data folder."""

    def __init__(self, data_dir: Path, database_url: str | None) -> None:
        self.data_dir = data_dir
        self.database_url = database_url
        self.proc: subprocess.Popen[bytes] | None = None
        self.runs = 0

    def start(self, *, same_ports: bool = False, **extra_env: str) -> None:
        """``same_ports``: the ports of the last run (a restart keeps the issuer's URL, so
        the tokens it issued name it); ``extra_env``: settings for this run."""
        self.runs += 1
        if not (same_ports and self.runs > 1):
            self.temporal_port, self.ui_port, self.codec_port = free_port(), free_port(), free_port()
            self.api_port, self.issuer_port = free_port(), free_port()
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("TEMPORAL_", "CASEWORK_CODEC", "DATABASE_URL", "CASEWORK_DATA_DIR", "CASEWORK_OIDC",
                                    "CASEWORK_API", "CASEWORK_STACK", "CASEWORK_DEV_ISSUER"))} | extra_env
        # The stack makes its own payload key in the data folder, as on a newcomer's machine.
        env["CASEWORK_SHUTDOWN_GRACE_SECONDS"] = "5"
        if self.database_url:
            env["DATABASE_URL"] = self.database_url
        self.output = self.data_dir.parent / f"up-{self.runs}.out"
        self.data_dir.parent.mkdir(parents=True, exist_ok=True)
        self.proc = subprocess.Popen(
            [_casework(), "up", "--data-dir", str(self.data_dir),
             "--temporal-port", str(self.temporal_port), "--ui-port", str(self.ui_port),
             "--codec-port", str(self.codec_port), "--api-port", str(self.api_port),
             "--issuer-port", str(self.issuer_port)],
            stdin=subprocess.DEVNULL, stdout=self.output.open("wb"), stderr=subprocess.STDOUT, env=env,
        )

    def said(self) -> str:
        return self.output.read_text(errors="replace")

    async def ready(self) -> dict[str, str]:
        """Until stack.json is written and both the UI and Temporal answer."""
        assert self.proc is not None
        loop = asyncio.get_running_loop()
        deadline = loop.time() + READY_SECONDS
        stack_file = self.data_dir / "stack.json"
        while True:
            if self.proc.poll() is not None:
                pytest.fail(f"casework up exited {self.proc.returncode}:\n{self.said()}")
            if stack_file.is_file() and port_taken(self.ui_port):
                try:
                    await Client.connect(f"127.0.0.1:{self.temporal_port}")
                    return json.loads(stack_file.read_text())
                except RuntimeError:
                    pass
            if loop.time() > deadline:
                self.kill()
                pytest.fail(f"casework up was not ready within {READY_SECONDS:.0f}s:\n{self.said()}")
            await asyncio.sleep(0.2)

    async def client(self) -> Client:
        keys = load_key_file(self.data_dir / "codec-keys.json")  # the stack's own key
        return await Client.connect(f"127.0.0.1:{self.temporal_port}", data_converter=data_converter(keys))

    async def interrupt(self, sig: signal.Signals = signal.SIGINT) -> int:
        """Ctrl-C as in a terminal (or SIGTERM as from a service manager); the exit status, within a bound."""
        assert self.proc is not None
        self.proc.send_signal(sig)
        try:
            return await asyncio.to_thread(self.proc.wait, EXIT_SECONDS)
        except subprocess.TimeoutExpired:
            self.kill()
            pytest.fail(f"casework up did not stop within {EXIT_SECONDS:.0f}s of {sig.name}:\n{self.said()}")

    def kill(self) -> None:
        """After a failed test: the clean stop first, else kill ``up`` and what it started
        (its dev server runs in a session of its own and would outlive it)."""
        if self.proc is None or self.proc.poll() is not None:
            return
        import psutil

        children = psutil.Process(self.proc.pid).children(recursive=True)
        self.proc.terminate()
        try:
            self.proc.wait(EXIT_SECONDS)
        except subprocess.TimeoutExpired:
            for process in [psutil.Process(self.proc.pid), *children]:
                with contextlib.suppress(psutil.NoSuchProcess):
                    process.kill()
            self.proc.wait()


async def _fresh_database(url: str) -> str:
    name = f"casework_stack_{uuid.uuid4().hex[:10]}"
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return urlunsplit(urlsplit(url)._replace(path=f"/{name}"))


async def _drop_database(url: str, fresh: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{urlsplit(fresh).path.lstrip("/")}" WITH (FORCE)')
    finally:
        await conn.close()


@pytest.fixture
async def stack(tmp_path: Path) -> AsyncIterator[Stack]:
    shared = os.environ.get("DATABASE_URL")
    fresh = await _fresh_database(shared) if shared else None
    s = Stack(tmp_path / "casework", fresh)
    try:
        yield s
    finally:
        s.kill()
        if shared and fresh:
            await _drop_database(shared, fresh)


async def _until_listed(client: Client, query: str, expected: set[str], timeout: float = 20.0) -> set[str]:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        listed = {w.id async for w in client.list_workflows(query)}
        if expected <= listed or loop.time() > deadline:
            return listed
        await asyncio.sleep(0.3)


async def _poll(pool_url: str, sql: str, *args: object, until, timeout: float = 20.0):  # noqa: ANN001, ANN202
    """Read the CID until ``until(rows)`` holds (the workflows write it as they go)."""
    conn = await asyncpg.connect(pool_url)
    try:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            rows = await conn.fetch(sql, *args)
            if until(rows):
                return rows
            if loop.time() > deadline:
                raise AssertionError(f"CID not as expected after {timeout:.0f}s: {[dict(r) for r in rows]}")
            await asyncio.sleep(0.2)
    finally:
        await conn.close()


async def test_up_serves_the_web_ui_and_starts_a_case_for_every_example(stack: Stack):
    stack.start()
    settings = await stack.ready()

    assert settings["temporal_address"] == f"127.0.0.1:{stack.temporal_port}"
    assert settings["ui_url"] == f"http://localhost:{stack.ui_port}/namespaces/default/workflows"
    assert await asyncio.to_thread(_http_status, settings["ui_url"]) == 200

    expected = _example_case_ids()
    assert len(expected) >= 5
    client = await stack.client()
    for case_id in expected:
        description = await client.get_workflow_handle(case_id).describe()
        assert description.workflow_type == "AcroCase"
        assert description.status == WorkflowExecutionStatus.RUNNING
    # The Web UI's list (visibility) shows them, and the server knows every search
    # attribute a case sets (an unknown one would stall the workflow).
    assert expected <= await _until_listed(client, 'WorkflowType = "AcroCase"', expected)
    registered = await client.operator_service.list_search_attributes(
        ListSearchAttributesRequest(namespace="default"))
    assert {key.name for key in search.ALL} <= set(registered.custom_attributes)
    # Issue 22: the daily jobs' schedules, made by casework up (active, next runs ahead).
    from casework import schedules

    jobs = {s.schedule_id: s for s in await schedules.states(client)}
    assert set(jobs) == {j.schedule_id for j in schedules.JOBS}
    assert all(s.exists and not s.paused and s.next_runs for s in jobs.values()), jobs
    assert "Daily jobs scheduled" in stack.said()

    # The HTTP API and its development issuer, as stack.json names them: a system's token by
    # client credentials, and the example cases listed through the API.
    assert settings["api_url"] == f"http://127.0.0.1:{stack.api_port}"
    assert settings["oidc_issuer"] == f"http://127.0.0.1:{stack.issuer_port}"
    assert "HTTP API" in stack.said() and settings["api_url"] in stack.said()
    token = await asyncio.to_thread(_client_token, settings["oidc_issuer"], "acro", "dev-acro-secret")
    listed, _ = await asyncio.to_thread(_http_json, f"{settings['api_url']}/cases?limit=200", None,
                                        {"Authorization": f"Bearer {token}"})
    assert expected <= {c["case_id"] for c in listed["cases"]}
    assert await asyncio.to_thread(_http_status, f"{settings['api_url']}/cases") == 401
    rows = await _poll(settings["database_url"], "SELECT id FROM cases WHERE id = ANY($1::text[])",
                       list(expected), until=lambda rows: {r["id"] for r in rows} == expected)
    assert len(rows) == len(expected)
    await _web_ui_decrypts(stack, PARKED, "EX/000001A")

    # The data folder and everything in it are the owner's only (0700 / 0600).
    assert stat.S_IMODE(stack.data_dir.stat().st_mode) == 0o700
    exposed = [str(p) for p in stack.data_dir.rglob("*") if not p.is_symlink() and p.stat().st_mode & 0o077]
    assert not exposed, exposed
    # The "try next" lines work as printed in a new terminal: another folder, no venv, no
    # variables of ours (the CLI finds the API and the issuer through the data folder's
    # stack.json). First the sign-in: the browser (here the test, as TRY_AS) picks a person
    # on the issuer's page; then submit acts as that person, through the API.
    said = stack.said().splitlines()
    first = next(i for i, line in enumerate(said) if line.startswith("  cd "))
    setup, login, submit, help_line = (line.strip() for line in said[first:first + 4])
    assert "bin/activate" in setup and "casework login" in login and TRY_AS in login
    assert "casework submit" in submit and help_line.endswith("casework --help")
    terminal = {"PATH": "/usr/bin:/bin", "HOME": str(stack.data_dir.parent), "LANG": "C.UTF-8",
                "BROWSER": "true"}  # the browser 'opens' the address; the test follows it
    signed_in = await asyncio.to_thread(_sign_in, f"{setup} && {login}", terminal, TRY_AS)
    assert signed_in.returncode == 0 and f"Signed in as {TRY_AS}" in signed_in.stdout, signed_in
    for command in (submit, help_line):
        ran = await asyncio.to_thread(subprocess.run, ["bash", "-c", f"{setup} && {command}"], env=terminal,
                                      cwd="/", capture_output=True, text=True, timeout=120)
        assert ran.returncode == 0, f"{command}:\n{ran.stdout}\n{ran.stderr}"
        assert "Traceback" not in ran.stderr
    assert "already exists" in ran.stdout or "already exists" in (await asyncio.to_thread(
        subprocess.run, ["bash", "-c", f"{setup} && {submit}"], env=terminal, cwd="/",
        capture_output=True, text=True, timeout=120)).stdout

    assert await stack.interrupt(signal.SIGTERM) == 0
    for port in (stack.temporal_port, stack.ui_port, stack.codec_port):  # every server went too
        assert not port_taken(port), port
    assert not (stack.data_dir / "stack.json").exists()
    assert "Stopped" in stack.said()


async def test_r10_restart_resumes_a_case_waiting_on_its_task(stack: Stack):
    """A case parked on the NBTC check survives Ctrl-C and a new ``casework up`` on the same
    folder, and goes on when its task is completed (R10 -> R11: left the UK, closed)."""
    stack.start()
    settings = await stack.ready()
    await _poll(settings["database_url"], "SELECT kind FROM tasks WHERE case_id = $1 AND status = 'open'",
                PARKED, until=lambda rows: [r["kind"] for r in rows] == ["nbtc_check"])
    assert await stack.interrupt() == 0

    stack.start()  # same data folder, new ports: the state is in the folder, not the processes
    settings = await stack.ready()
    said = stack.said()
    assert "no migration applied" in said
    assert not re.search(r"\d+ started", said) and "already exists" in said

    client = await stack.client()
    cases = CaseClient(client)
    handle = cases.handle(PARKED)
    view = await cases.view(PARKED)
    assert [t.kind for t in view.open_tasks] == ["nbtc_check"]
    done = await cases.complete_task(
        PARKED, TaskCompletion(task_key=view.open_tasks[0].key, outcome="left_uk", actor="nbtc.officer"))
    assert done.outcome == "left_uk"
    assert await asyncio.wait_for(handle.result(), timeout=20) == OUTCOME_LEFT_UK
    rows = await _poll(settings["database_url"], "SELECT status, stage, outcome FROM cases WHERE id = $1",
                       PARKED, until=lambda rows: rows and rows[0]["status"] == "closed")
    assert rows[0]["outcome"] == OUTCOME_LEFT_UK

    assert await stack.interrupt() == 0


def test_a_taken_port_is_one_line_and_status_5(tmp_path: Path):
    """A second stack on a taken port: one readable line, exit 5 (unavailable), nothing left running."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = {k: v for k, v in os.environ.items() if not k.startswith(("TEMPORAL_", "DATABASE_URL"))}
        done = subprocess.run(
            [_casework(), "up", "--data-dir", str(tmp_path / "casework"), "--temporal-port", str(port),
             "--ui-port", str(free_port()), "--codec-port", str(free_port())],
            stdin=subprocess.DEVNULL, capture_output=True, text=True, env=env, timeout=60,
        )
    assert done.returncode == 5, done
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and f"port {port}" in lines[0] and "--temporal-port" in lines[0], done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    assert not (tmp_path / "casework" / "stack.json").exists()


async def test_the_embedded_postgres_stops_with_the_stack_every_time(tmp_path: Path):
    """Ctrl-C stops the embedded PostgreSQL too (the process leaves by os._exit, which skips
    the package's atexit hook), and a PID left in its handle file by a killed run does not
    keep it running."""
    import psutil

    stack = Stack(tmp_path / "casework", None)  # no DATABASE_URL: the embedded PostgreSQL
    pgdata = stack.data_dir / "pgdata"
    try:
        for run in range(2):
            stack.start()
            await stack.ready()
            postmaster = int((pgdata / "postmaster.pid").read_text().split()[0])
            assert psutil.pid_exists(postmaster)
            if run == 1:  # a handle left behind by a run that was killed: a PID that is gone
                handles = pgdata / ".handle_pids.json"
                handles.write_text(json.dumps(json.loads(handles.read_text()) + [2 ** 22 + 1]))
            assert await stack.interrupt(signal.SIGINT) == 0
            for _ in range(50):
                if not psutil.pid_exists(postmaster):
                    break
                await asyncio.sleep(0.1)
            assert not psutil.pid_exists(postmaster), f"run {run}: PostgreSQL {postmaster} still running"
            assert not (pgdata / "postmaster.pid").exists()
            assert json.loads((pgdata / ".handle_pids.json").read_text()) == []
    finally:
        stack.kill()
