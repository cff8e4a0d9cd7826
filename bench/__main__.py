"""``python -m bench``: measure, print the table, write the JSON and the PNG.

One dev server in memory, one CID, the workers in this process. The phases run in this
order - intake, bulk submit, replay, dormancy - so that the 10,000 dormant cases do not
weigh on the others. ``--help`` lists the sizes; the defaults are the reference run's.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

# Bytecode as an installed worker has it (pip compiles it at install): read from and
# written to a cache of this benchmark's own, never the checkout. Without it, a checkout
# whose .pyc files are stale under PYTHONDONTWRITEBYTECODE recompiles the workflow module
# from source for every workflow run the sandbox loads, which is not what production pays.
PYCACHE = Path(tempfile.gettempdir()) / "casework-bench-pycache"
sys.pycache_prefix = os.environ["PYTHONPYCACHEPREFIX"] = str(PYCACHE)
sys.dont_write_bytecode = False
os.environ.pop("PYTHONDONTWRITEBYTECODE", None)  # for the casework command it runs

import asyncio  # noqa: E402
from datetime import datetime  # noqa: E402
from typing import Any, Optional  # noqa: E402

import typer  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn  # noqa: E402

PHASES = ("intake", "bulk", "api", "replay", "dormancy")
#: Run only when named (``--only scale``): it makes databases of its own, of up to a million cases.
SCALE = "scale"
RESULTS = Path(__file__).parent / "results"

app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
# Wide enough for the table when the output is a file or a pipe (rich assumes 80 columns then).
console = Console(highlight=False, width=None if sys.stdout.isatty() else 150)


@app.command()
def main(
    intake: int = typer.Option(500, help="Referrals for the intake phase (and as many bare workflows), per round."),
    intake_rounds: int = typer.Option(2, help="Palindromic rounds of intake: bare, ours, bare-codec, then the reverse."),
    bulk: int = typer.Option(1000, help="Referral files for 'casework submit' (and as many bare starts)."),
    bulk_rounds: int = typer.Option(3, help="Alternating rounds of each; the medians are compared."),
    replays: int = typer.Option(100, help="Replays of the longest path's history (and of the bare one)."),
    dormant: int = typer.Option(10_000, help="Dormant cases (R16) cached by one worker."),
    driven: int = typer.Option(200, help="Of those, driven from intake through NBTC and ICE; the rest start as their continued run."),
    drive_all: bool = typer.Option(False, "--drive-all", help="Drive every dormant case from intake (slow: half an hour or more for 10,000)."),
    woken: int = typer.Option(100, help="Dormant cases sent 'person located' after eviction."),
    wake_rate: float = typer.Option(5.0, help="'person located' messages per second."),
    bare_dormant: int = typer.Option(1000, help="Bare sleeping workflows for Temporal's own memory per workflow (0: none)."),
    api_cases: int = typer.Option(200, help="Cases whose NBTC check is completed through the API (and as many bare updates)."),
    api_events: int = typer.Option(1000, help="'person located' messages through the API (and as many bare signals)."),
    scale_sizes: str = typer.Option("10000,100000,1000000", help="Scale phase: case counts, comma-separated (a fresh database each)."),
    scale_calls: int = typer.Option(40, help="Scale phase: calls per measure per size (p50/p95 over these)."),
    scale_workflows: int = typer.Option(20_000, help="Scale phase: sleeping case workflows on the dev server for the sweep (0: none)."),
    scale_keep: bool = typer.Option(False, "--scale-keep", help="Scale phase: keep each size's database (DATABASE_URL's name + _scale_N)."),
    only: Optional[list[str]] = typer.Option(None, help=f"Run only these phases: {', '.join(PHASES)}, or {SCALE} (only when named)."),
    out: Path = typer.Option(RESULTS, help="Folder for the JSON and PNG."),
    name: Optional[str] = typer.Option(None, help="File name stem (default: the date and time)."),
    png: bool = typer.Option(True, "--png/--no-png", help="Plot the PNG (needs matplotlib: pip install -e '.[bench]')."),
) -> None:
    """Measure intake, bulk submit, replay and dormancy against bare Temporal on the same server."""
    phases = [p for p in PHASES if not only or p in only] + ([SCALE] if only and SCALE in only else [])
    unknown = set(only or ()) - set(PHASES) - {SCALE}
    if unknown:
        raise typer.BadParameter(f"unknown phase(s): {', '.join(sorted(unknown))}", param_hint="--only")
    if png:
        try:
            import matplotlib  # noqa: F401
        except ImportError:
            console.print("matplotlib is not installed (pip install -e '.[bench]'), or pass --no-png", markup=False)
            raise typer.Exit(2) from None
    settings = {k: v for k, v in locals().items() if k in (
        "intake", "intake_rounds", "bulk", "bulk_rounds", "replays", "dormant", "driven", "drive_all", "woken", "wake_rate", "bare_dormant", "api_cases", "api_events",
        "scale_calls", "scale_workflows", "scale_keep")}
    try:
        settings["scale_sizes"] = sorted(int(n) for n in scale_sizes.split(","))
    except ValueError:
        raise typer.BadParameter("whole numbers, comma-separated: 10000,100000", param_hint="--scale-sizes") from None
    if any(n < 100 for n in settings["scale_sizes"]):
        raise typer.BadParameter("at least 100 cases each", param_hint="--scale-sizes")
    settings.update(phases=phases, bytecode_cache=str(PYCACHE))
    stem = name or datetime.now().strftime("bench-%Y%m%d-%H%M%S")
    asyncio.run(_run(phases, settings, out, stem, png))


async def _run(phases: list[str], settings: dict[str, Any], out: Path, stem: str, png: bool) -> None:
    if phases == [SCALE]:
        await _run_scale(settings, out, stem, png)
        return
    from bench import api, bulk_submit, dormancy, intake, replay, report
    from bench.stack import stack

    results: dict[str, Any] = {}
    load: dict[str, list[float]] = {}
    progress = Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        console=console, transient=False, refresh_per_second=2,  # light on a 2-core machine
    )
    async with stack() as s:
        settings["database"] = s.database
        with progress:
            for phase in phases:
                load[f"{phase} start"] = list(os.getloadavg())
                if phase == "intake":
                    results["intake"] = await intake.measure(s, settings["intake"], progress, rounds=settings["intake_rounds"])
                elif phase == "bulk":
                    results["bulk"] = await bulk_submit.measure(s, settings["bulk"], progress, settings["bulk_rounds"])
                elif phase == "api":
                    results["api"] = await api.measure(s, settings["api_cases"], settings["api_events"], progress)
                elif phase == "replay":
                    results["replay"] = await replay.measure(s, settings["replays"], progress)
                elif phase == "dormancy":
                    results["dormancy"] = await dormancy.measure(
                        s, settings["dormant"], progress, driven=settings["driven"], woken=settings["woken"],
                        wake_rate=settings["wake_rate"], drive_all=settings["drive_all"],
                        bare_cases=settings["bare_dormant"],
                    )
                load[f"{phase} end"] = list(os.getloadavg())
    console.print(report.table(results))
    record = report.to_json(results, settings, load)
    if SCALE in phases:
        console.print("The scale phase runs on its own: python -m bench --only scale")
    json_path = out / f"{stem}.json"
    report.write_json(record, json_path)
    console.print(f"JSON: {json_path}")
    if png:
        png_path = out / f"{stem}.png"
        report.plot(record, png_path)
        console.print(f"PNG:  {png_path}")


async def _run_scale(settings: dict[str, Any], out: Path, stem: str, png: bool) -> None:
    """The scale phase (bench/scale.py): its own databases and dev server, its own table."""
    from bench import report, scale, scale_report
    from bench.stack import throwaway_keys
    from local_stack.database import database_url_or_embedded

    throwaway_keys()
    work_dir = Path(tempfile.mkdtemp(prefix="casework-bench-scale-"))
    admin, where = database_url_or_embedded(work_dir / "pgdata")
    settings["database"] = "DATABASE_URL" if where == "DATABASE_URL" else "embedded"
    load = {"scale start": list(os.getloadavg())}
    progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                        console=console, transient=False, refresh_per_second=2)
    with progress:
        result = await scale.measure(admin, settings["scale_sizes"], settings["scale_calls"],
                                     workflows=settings["scale_workflows"], keep=settings["scale_keep"],
                                     progress=progress, work_dir=work_dir)
    load["scale end"] = list(os.getloadavg())
    console.print(scale_report.table(result))
    for finding in result.findings:
        console.print(f"[red]plan[/] {finding['cases']} cases: {finding['problem']}: {finding['query'][:200]}")
    record = {"when": datetime.now().astimezone().isoformat(timespec="seconds"), "settings": settings,
              "machine": report.machine(load), "scale": result.as_json()}
    json_path = out / f"{stem}.json"
    report.write_json(record, json_path)
    console.print(f"JSON: {json_path}")
    if png:
        png_path = out / f"{stem}.png"
        scale_report.plot(record["scale"], png_path)
        console.print(f"PNG:  {png_path}")
    if result.findings:
        console.print(f"{len(result.findings)} plan finding(s): the scale phase fails")
        raise SystemExit(1)


if __name__ == "__main__":
    app()
