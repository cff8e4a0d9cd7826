"""Bulk submit: 1,000 referral files through the real ``casework submit`` command (a
subprocess, as a script would run it), against as many bare workflow starts from this
process at the same concurrency (16, as ``starter/submit.py`` has).

Neither task queue has a worker: this measures submitting - reading and validating the
files, sending them to the HTTP API (``casework-api``, its own process, ACRO's token),
which holds each referral in the CID and starts its case - not running the cases.
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from rich.progress import Progress

from bench.api import serving_api
from bench.bare import BARE_WORKFLOW
from bench.drive import bounded
from bench.intake import CONCURRENCY
from bench.referrals import reference, referral_data
from bench.stack import Stack
from casework import config


@dataclass
class BulkResult:
    referrals: int
    rounds: list[tuple[float, float]]  # (casework submit, bare starts) seconds, alternating
    cli_start_seconds: float  # ``casework submit`` of an empty folder: the command's fixed cost

    @property
    def seconds(self) -> float:  # the whole command, from exec to exit (median of the rounds)
        return statistics.median(ours for ours, _ in self.rounds)

    @property
    def bare_seconds(self) -> float:
        return statistics.median(bare for _, bare in self.rounds)

    @property
    def rate(self) -> float:
        return self.referrals / self.seconds

    @property
    def bare_rate(self) -> float:
        return self.referrals / self.bare_seconds

    @property
    def ratio(self) -> float:
        return self.rate / self.bare_rate


def casework_command() -> list[str]:
    """The installed ``casework`` script beside this interpreter, else the same entry point."""
    script = Path(sys.executable).parent / "casework"
    if script.is_file():
        return [str(script)]
    return [sys.executable, "-c", "from starter.cli import main; main()"]


def command_env(stack: Stack, api_url: str, token: str) -> dict[str, str]:
    """The command as ACRO's system runs it: the API's address and a token, nothing else
    (no database, no Temporal, no payload key)."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("DATABASE_URL", "CASEWORK_CODEC_KEYS") and not k.startswith("TEMPORAL_")}
    env.update({
        config.API_URL_ENV: api_url,
        config.TOKEN_ENV: token,
        config.DATA_DIR_ENV: str(stack.work_dir / "no-stack"),  # never a local stack.json
    })
    return env


def write_referrals(folder: Path, prefix: str, n: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        ref = reference(prefix, i)
        (folder / f"{ref}.json").write_text(json.dumps(referral_data(ref, i)))


async def run(command: list[str], env: dict[str, str]) -> tuple[float, bytes]:
    started = time.monotonic()
    process = await asyncio.create_subprocess_exec(
        *command, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await process.communicate()
    elapsed = time.monotonic() - started
    if process.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} exited {process.returncode}: {err.decode()[-2000:]}")
    return elapsed, out


async def cli_start(env: dict[str, str], empty: Path, tries: int = 3) -> float:
    """The fastest of a few ``casework submit`` runs with nothing to submit: the command's
    fixed cost (interpreter, imports, reading the token)."""
    empty.mkdir(parents=True, exist_ok=True)
    command = casework_command() + ["submit", str(empty), "--json"]
    return min([(await run(command, env))[0] for _ in range(tries)])


async def bare_starts(stack: Stack, n: int, progress: Progress, label: str) -> float:
    queue = stack.queue("bare-bulk")
    bar = progress.add_task(f"Bulk submit: {n} bare workflow starts", total=n)
    started = time.monotonic()
    await bounded(CONCURRENCY, [
        lambda i=i: stack.bare_client.start_workflow(BARE_WORKFLOW, 1, id=f"bare-bulk-{label}-{i}", task_queue=queue)
        for i in range(n)
    ], lambda: progress.advance(bar))
    return time.monotonic() - started


async def casework_submit(stack: Stack, n: int, progress: Progress, label: str, env: dict[str, str]) -> float:
    folder = stack.work_dir / f"bulk-referrals-{label}"
    write_referrals(folder, f"BB{label}".upper(), n)
    bar = progress.add_task(f"Bulk submit: casework submit of {n} files", total=1)
    seconds, out = await run(casework_command() + ["submit", str(folder), "--json"], env)
    progress.update(bar, completed=1)
    started = sum(1 for r in json.loads(out) if r["result"] == "started")  # the API's BatchItem
    if started != n:
        raise RuntimeError(f"casework submit started {started} of {n} cases")
    return seconds


async def measure(stack: Stack, n: int, progress: Progress, rounds: int = 3) -> BulkResult:
    """``rounds`` alternating rounds of each (the machine is shared: the median of each
    is compared, which one burst of someone else's load does not decide)."""
    async with serving_api(stack, stack.queue("bulk")) as api:
        env = command_env(stack, api.url, api.tokens.system("acro", "referrals:submit"))
        start_up = await cli_start(env, stack.work_dir / "no-referrals")
        times = []
        for r in range(rounds):
            label = f"{stack.run_id}{r}"
            times.append((await casework_submit(stack, n, progress, label, env), await bare_starts(stack, n, progress, label)))
    return BulkResult(referrals=n, rounds=times, cli_start_seconds=start_up)
