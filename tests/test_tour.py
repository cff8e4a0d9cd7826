"""The caseworker tour is a test (issue 24 item 4): docs/caseworker-tour.md is run as
written, command by command, against ``casework up`` (free ports, its own data folder), so
the tour cannot drift from the product again; then the README's "try next" lines (its
```sh block that signs in), each of which must exit 0.

How the doc is read: every ```console block is run; a line ``$ COMMAND`` is a command (a
line ending in ``\\`` goes on on the next; lines ``> ...`` after it are its here-document),
the lines after it until the next ``$`` are what it prints. Each command must exit 0,
unless the next command is ``echo $?``, whose printed line is the status expected. The
printed lines the doc shows that hold no digit and no path (IDs, dates, times and folders
differ per run and machine), no table border and no ``…`` must be in the command's output. ``casework login`` lines name
the person to pick (``# pick wf.ada``): the test plays the browser on the issuer's page.
A command that finds no such task (exit 3, when the doc does not expect it) is run again,
a second apart, up to ten times: the case opens its next task a moment after what led to it.

What the tour depends on (for whoever changes the CLI): the command names and options it
uses, ``CASE:KEY`` task references, the exit statuses, and the one-line messages it shows;
never the tables' layout, task numbers or ``--json`` field names.

``CASEWORK_TOUR_RECORD=FILE`` writes every command's real output there, to refresh the doc.
"""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from tests.test_access_tokens import Person
from tests.test_stack import Stack, _drop_database, _fresh_database

ROOT = Path(__file__).resolve().parent.parent
TOUR = ROOT / "docs" / "caseworker-tour.md"
TABLE = tuple("┃│┏┡└┗━╭╰║═")
#: ``casework`` exit status 3 (no such case or task), and how often a step that got it is
#: run again, a second apart, before it counts.
NOT_FOUND = 3
NOT_YET_TRIES = 10
PICK = re.compile(r"#.*\bpick ([A-Za-z0-9._@:-]+)")


@dataclass
class Step:
    command: str
    shown: list[str] = field(default_factory=list)
    line: int = 0

    @property
    def is_status(self) -> bool:
        return self.command.strip() == "echo $?"


def steps(text: str) -> list[Step]:
    """The console blocks' commands, in order, with what the doc shows each print."""
    found: list[Step] = []
    in_block = False
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("```"):
            in_block = line.strip() == "```console" if not in_block else False
        elif in_block and line.startswith("$ "):
            command, start = line[2:], i + 1
            while command.endswith("\\") and i + 1 < len(lines):
                i += 1
                command = command[:-1] + " " + lines[i].strip()
            while i + 1 < len(lines) and lines[i + 1].startswith("> "):
                i += 1
                command += "\n" + lines[i][2:]
            found.append(Step(command, line=start))
        elif in_block and found:
            found[-1].shown.append(line)
        i += 1
    return found


def readme_steps(text: str) -> list[Step]:
    """The README's "try next" lines: each line of a ```sh block that signs in on the local
    stack (a login that names whom to pick), but the terminal's own setup (``cd``, ``source
    .venv/bin/activate``: the test's PATH has the venv)."""
    found: list[Step] = []
    for block in re.findall(r"```sh\n(.*?)```", text, flags=re.S):
        if not any(line.startswith("casework login") and PICK.search(line) for line in block.splitlines()):
            continue
        for line in block.splitlines():
            if line.strip() and not line.lstrip().startswith(("#", "source ", "cd ")):
                found.append(Step(line.strip()))
    return found


def checked_lines(shown: list[str]) -> list[str]:
    return [" ".join(s.split()) for s in shown
            if s.strip() and not s.lstrip().startswith(TABLE) and "…" not in s and not re.search(r"\d|(^|\s)/\w", s)]


def test_the_tour_parses_as_the_runner_expects() -> None:
    """Cheap: the doc has the commands the tour promises, each login names a person."""
    found = steps(TOUR.read_text(encoding="utf-8"))
    commands = [s.command for s in found]
    assert len(found) >= 20
    assert any(c.startswith("casework submit examples/tour/") for c in commands)
    assert any("casework event certificate" in c and "examples/certificates/" in c for c in commands)
    assert any(c.startswith("casework assign ") for c in commands)
    assert all(PICK.search(c) for c in commands if c.startswith("casework login"))
    assert not any(re.search(r"casework (complete|claim|unclaim|assign) \d", c) for c in commands), \
        "task numbers differ per run: refer to tasks as CASE:KEY"
    readme = readme_steps((ROOT / "README.md").read_text(encoding="utf-8"))
    assert any(s.command.startswith("casework login") for s in readme), "the README's try-next lines sign in first"
    assert all(PICK.search(s.command) for s in readme if s.command.startswith("casework login"))


def _terminal(tmp: Path, data_dir: Path) -> dict[str, str]:
    """A new terminal: the venv's commands on PATH, nothing of ours but the data folder."""
    venv_bin = str(Path(sys.executable).parent)
    return {"PATH": f"{venv_bin}:/usr/bin:/bin", "HOME": str(tmp / "home"), "LANG": "C.UTF-8",
            "CASEWORK_DATA_DIR": str(data_dir), "BROWSER": "true", "COLUMNS": "200"}


def _run(step: Step, env: dict[str, str], cwd: Path) -> tuple[int, str]:
    user = PICK.search(step.command)
    if step.command.startswith("casework login") and user:
        process = subprocess.Popen(["bash", "-c", step.command], env=env, cwd=cwd, text=True,
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            assert process.stderr is not None
            first = process.stderr.readline()
            assert first.startswith("Sign in at: "), first + process.stderr.read()
            Person(user.group(1))(first.removeprefix("Sign in at: ").strip())
            out, err = process.communicate(timeout=60)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
        return process.returncode, first + out + err
    done = subprocess.run(["bash", "-c", step.command], env=env, cwd=cwd, capture_output=True, text=True, timeout=120)
    return done.returncode, done.stdout + done.stderr


async def test_the_caseworker_tour_runs_as_written(tmp_path: Path) -> None:
    shared = os.environ.get("DATABASE_URL")
    fresh = await _fresh_database(shared) if shared else None
    stack = Stack(tmp_path / "casework", fresh)
    work = tmp_path / "terminal"
    work.mkdir()
    (work / "examples").symlink_to(ROOT / "examples")  # the tour runs from the checkout
    record = os.environ.get("CASEWORK_TOUR_RECORD")
    recorded: list[str] = []
    try:
        stack.start()
        await stack.ready()
        env = _terminal(tmp_path, stack.data_dir)
        found = steps(TOUR.read_text(encoding="utf-8"))
        status, output = 0, ""
        for index, step in enumerate(found):
            where = f"docs/caseworker-tour.md:{step.line}: $ {step.command}"
            if step.is_status:
                assert [str(status)] == [s.strip() for s in step.shown if s.strip()], f"{where}\n{output}"
                continue
            expects_failure = index + 1 < len(found) and found[index + 1].is_status
            expected = found[index + 1].shown[0].strip() if expects_failure and found[index + 1].shown else "0"
            status, output = await asyncio.to_thread(_run, step, env, work)
            for _ in range(NOT_YET_TRIES):
                # The case opens its next task by activities, a moment after the message or
                # completion that leads to it: a person would look again, and so does the test.
                if status != NOT_FOUND or expected == str(NOT_FOUND):
                    break
                await asyncio.sleep(1)
                status, output = await asyncio.to_thread(_run, step, env, work)
            recorded.append(f"$ {step.command}\n{output}[exit {status}]\n")
            assert "Traceback" not in output, f"{where}\n{output}"
            if not expects_failure:
                assert status == 0, f"{where}: exit {status}\n{output}"
            said = " ".join(output.split())
            for line in checked_lines(step.shown):
                assert line in said, f"{where}: the doc shows {line!r}; the command printed:\n{output}"
        # The README's "try next" lines, on the example cases `casework up` submitted.
        for step in readme_steps((ROOT / "README.md").read_text(encoding="utf-8")):
            status, output = await asyncio.to_thread(_run, step, env, work)
            recorded.append(f"$ {step.command}\n{output}[exit {status}]\n")
            assert status == 0 and "Traceback" not in output, f"README.md: $ {step.command}: exit {status}\n{output}"
    finally:
        if record:
            Path(record).write_text("\n".join(recorded), encoding="utf-8")
        stack.kill()
        if shared and fresh:
            await _drop_database(shared, fresh)

