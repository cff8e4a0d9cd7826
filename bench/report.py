"""The figures as a table, a JSON record and a PNG plot.

Every figure of ours is printed beside bare Temporal's, measured in the same run on the
same server, and read as a ratio: on a shared 2-core machine absolute numbers move with
the load (recorded in the JSON), ratios much less.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
from dataclasses import asdict
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from rich.table import Table

from bench.api import COMPLETE_CONCURRENCY, EVENT_CONCURRENCY, ApiResult
from bench.bulk_submit import BulkResult
from bench.dormancy import DormancyResult
from bench.intake import IntakeResult
from bench.replay import ReplayResult

TARGETS = {
    "intake_ratio": 0.8,  # at least
    "bulk_submit_ratio": 0.8,  # at least
    "wake_p95_s": 1.0,  # below
    "dormant_rss_mb": 500.0,
    "api_complete_p95_ratio": 1.5,  # at most: p95 through the API / p95 of a bare update
    "api_event_ratio": 0.7,  # at least: messages sent through the API (respond-async) / bare signals, per second  # below, with 10,000 dormant cases
}


def _met(ok: bool) -> str:
    return "[green]met[/]" if ok else "[red]missed[/]"


def table(results: dict[str, Any]) -> Table:
    t = Table(title="casework benchmark: each ratio is bare Temporal's cost ÷ ours (1.00 = as cheap as bare), same server, same run")
    for column in ("Measure", "Ours", "Bare Temporal", "Ratio", "Target", ""):
        t.add_column(column, justify="left" if column in ("Measure", "Target", "") else "right")
    intake: IntakeResult | None = results.get("intake")
    if intake:
        ok = intake.ratio >= TARGETS["intake_ratio"]
        rounds = f", {intake.rounds} rounds" if intake.rounds > 1 else ""
        t.add_row(f"Intake: {intake.cases} cases to the first wait ({intake.activities_to_first_wait} activities{rounds})",
                  f"{intake.rate:.1f} cases/s", f"{intake.bare_rate:.1f} wf/s", f"{intake.ratio:.2f}", "ratio ≥ 0.8", _met(ok))
        if intake.bare_codec_seconds:
            t.add_row("  against bare workflows with our encryption codec", "",
                      f"{intake.bare_codec_rate:.1f} wf/s", f"{intake.ratio_to_bare_codec:.2f}", "", "")
        n = intake.cases * intake.rounds
        t.add_row("  CPU per case: worker process + dev server + database",
                  f"{intake.cpu.worker_s / n * 1e3:.0f} + {intake.cpu.server_s / n * 1e3:.0f}"
                  f" + {intake.cpu.database_s / n * 1e3:.0f} ms",
                  f"{intake.bare_cpu.worker_s / n * 1e3:.0f} + {intake.bare_cpu.server_s / n * 1e3:.0f} ms", "", "", "")
    bulk: BulkResult | None = results.get("bulk")
    if bulk:
        ok = bulk.ratio >= TARGETS["bulk_submit_ratio"]
        t.add_row(f"Bulk submit: {bulk.referrals} files, casework submit (whole command)",
                  f"{bulk.rate:.0f}/s ({bulk.seconds:.1f} s)", f"{bulk.bare_rate:.0f} starts/s ({bulk.bare_seconds:.1f} s)",
                  f"{bulk.ratio:.2f}", "ratio ≥ 0.8", _met(ok))
        t.add_row("  of which the fixed cost (casework submit, empty folder)", f"{bulk.cli_start_seconds:.2f} s", "", "", "", "")
    api: ApiResult | None = results.get("api")
    if api:
        ok = api.p95_ratio <= TARGETS["api_complete_p95_ratio"]
        t.add_row(f"API: completing a task, {api.cases} tasks, {COMPLETE_CONCURRENCY} at a time (ratio ours ÷ bare)",
                  f"p50 {api.p50 * 1e3:.0f} ms, p95 {api.p95 * 1e3:.0f} ms",
                  f"p50 {api.bare_p50 * 1e3:.0f} ms, p95 {api.bare_p95 * 1e3:.0f} ms (update + activity)",
                  f"{api.p95_ratio:.2f}", "p95 ≤ 1.5 × bare", _met(ok))
        parts = ", ".join(f"{k} {v:.1f}" for k, v in api.server_p50_ms.items())
        t.add_row(f"  the API's own account, p50 ms ({parts})", "", "", "", "", "")
        t.add_row(f"  CaseClient.complete_task directly (no API), {len(api.direct_complete_latencies_s)} tasks",
                  f"p50 {api.direct_p50 * 1e3:.0f} ms, p95 {api.direct_p95 * 1e3:.0f} ms", "",
                  f"{api.direct_p95 / api.bare_p95:.2f}", "", "")
        ok = api.event_ratio >= TARGETS["api_event_ratio"]
        answers = ", ".join(f"{n}× {code}" for code, n in sorted(api.event_answers.items()))
        t.add_row(f"API: messages from other systems, {api.events} sent async, {EVENT_CONCURRENCY} in flight ({answers})",
                  f"{api.event_rate:.0f}/s", f"{api.bare_signal_rate:.0f} signals/s", f"{api.event_ratio:.2f}",
                  "ratio ≥ 0.7", _met(ok))
        t.add_row("  until the cases had applied them all", f"{api.event_applied_seconds:.1f} s", "", "", "", "")
        answers = ", ".join(f"{n}× {code}" for code, n in sorted(api.event_wait_answers.items()))
        t.add_row(f"  waiting for the case's receipt, {api.events} more ({answers})", f"{api.event_wait_rate:.0f}/s",
                  f"{api.bare_signal_rate:.0f} signals/s", f"{api.event_wait_ratio:.2f}", "", "")
    dormancy: DormancyResult | None = results.get("dormancy")
    if dormancy:
        d = dormancy
        limit = TARGETS["dormant_rss_mb"]
        t.add_row(f"Dormancy: worker RSS, all {d.cases} dormant cases cached", f"{d.rss_cached_mb:.0f} MB",
                  f"{d.bare_rss_idle_mb + d.bare_per_case_kb * d.cases / 1024:.0f} MB (from {d.bare_cases} wf)"
                  if d.bare_cases else "", "", f"< {limit:.0f} MB", _met(d.rss_cached_mb < limit))
        t.add_row("  per cached dormant case", f"{d.per_case_kb:.0f} KB",
                  f"{d.bare_per_case_kb:.0f} KB" if d.bare_cases else "",
                  f"{d.bare_per_case_kb / d.per_case_kb:.2f}" if d.bare_cases else "", "", "")
        t.add_row("  a worker with nothing cached", f"{d.rss_idle_mb:.0f} MB",
                  f"{d.bare_rss_idle_mb:.0f} MB" if d.bare_cases else "", "", "", "")
        t.add_row(f"  worker RSS, {d.cases} asleep, production cache ({d.production_cache}) full",
                  f"{d.rss_production_mb:.0f} MB", "", "", f"< {limit:.0f} MB", _met(d.rss_production_mb < limit))
        ok = d.p95 < TARGETS["wake_p95_s"]
        t.add_row(f"Wake-up: 'person located' → first activity, {d.woken} cases, cache evicted",
                  f"p50 {d.p50 * 1e3:.0f} ms, p95 {d.p95 * 1e3:.0f} ms",
                  f"p50 {d.bare_p50 * 1e3:.0f} ms, p95 {d.bare_p95 * 1e3:.0f} ms" if d.bare_wake_latencies_s else "",
                  f"{d.bare_p95 / d.p95:.2f}" if d.bare_wake_latencies_s else "", "p95 < 1 s", _met(ok))
    replay: ReplayResult | None = results.get("replay")
    if replay:
        t.add_row(f"Replay: longest path, {replay.events} events ({replay.activities} activities)",
                  f"{replay.us_per_event:.0f} µs/event ({replay.ms_per_history:.0f} ms)",
                  f"{replay.bare_us_per_event:.0f} µs/event", f"{replay.bare_us_per_event / replay.us_per_event:.2f}", "", "")
    return t


def machine(load: dict[str, list[float]]) -> dict[str, Any]:
    def version(cmd: list[str]) -> str:
        try:
            return subprocess.run(cmd, capture_output=True, text=True, timeout=10).stdout.strip().splitlines()[0]
        except (OSError, IndexError, subprocess.SubprocessError):
            return "unknown"

    import temporalio

    from casework.binaries import temporal_cli

    return {
        "cpus": os.cpu_count(),
        "memory_gb": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        "python": platform.python_version(),
        "temporalio": temporalio.__version__,
        "temporal_cli": version([temporal_cli(), "--version"]),
        "git_commit": version(["git", "rev-parse", "--short", "HEAD"]),
        "load_average": load,  # 1/5/15-minute load averages when each phase began and ended
    }


def to_json(results: dict[str, Any], settings: dict[str, Any], load: dict[str, list[float]]) -> dict[str, Any]:
    record: dict[str, Any] = {
        "when": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "settings": settings,
        "machine": machine(load),
        "targets": TARGETS,
    }
    for name, result in results.items():
        derived = {k: getattr(result, k) for k in dir(type(result)) if isinstance(getattr(type(result), k), property)}
        record[name] = {**asdict(result), **derived}
    return record


def write_json(record: dict[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record, indent=1, default=str) + "\n")


def plot(record: dict[str, Any], path: Path) -> None:
    """Four panels: throughput, wake-up latency, memory, replay - ours beside bare Temporal."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 2, figsize=(12, 8.5))
    ours, bare = "#1d70b8", "#b1b4b6"  # GOV.UK blue and grey

    ax = axes[0][0]
    labels, o, b = [], [], []
    if "intake" in record:
        labels.append(f"Intake\n({record['intake']['cases']} cases, /s)")
        o.append(record["intake"]["rate"]), b.append(record["intake"]["bare_rate"])
    if "bulk" in record:
        labels.append(f"Bulk submit\n({record['bulk']['referrals']} files, /s ÷ 10)")
        o.append(record["bulk"]["rate"] / 10), b.append(record["bulk"]["bare_rate"] / 10)
    xs = range(len(labels))
    ax.bar([x - 0.2 for x in xs], o, 0.4, label="casework", color=ours)
    ax.bar([x + 0.2 for x in xs], b, 0.4, label="bare Temporal", color=bare)
    for x, (a, c) in enumerate(zip(o, b)):
        ax.annotate(f"ratio {a / c:.2f}", (x, max(a, c)), ha="center", va="bottom")
    ax.set_xticks(list(xs), labels)
    ax.set_title("Throughput (target: ratio ≥ 0.8)")
    ax.legend()

    ax = axes[0][1]
    if "dormancy" in record:
        d = record["dormancy"]
        for values, colour, name in ((d["wake_latencies_s"], ours, "casework"), (d["bare_wake_latencies_s"], bare, "bare")):
            if values:
                values = sorted(v * 1e3 for v in values)
                ax.plot(values, [(i + 1) / len(values) for i in range(len(values))], color=colour,
                        label=f"{name}: p50 {values[len(values) // 2]:.0f} ms", linewidth=2)
        ax.axvline(1000, color="#d4351c", linestyle="--", label="target p95 < 1 s")
        ax.axhline(0.95, color="#505a5f", linestyle=":", linewidth=1)
        ax.set_xscale("log")
        ax.set_xlabel("ms from 'person located' to its first activity (cache evicted)")
        ax.set_ylabel("fraction of wake-ups")
        ax.set_title(f"Wake-up latency, {d['woken']} dormant cases")
        ax.legend(loc="lower right")

    ax = axes[1][0]
    if "dormancy" in record:
        d = record["dormancy"]
        names = ["worker,\nnothing cached", f"all {d['cases']}\ncached", f"cache {d['production_cache']}\nfull"]
        values = [d["rss_idle_mb"], d["rss_cached_mb"], d["rss_production_mb"]]
        ax.bar(names, values, color=[bare, ours, ours])
        ax.axhline(TARGETS["dormant_rss_mb"], color="#d4351c", linestyle="--", label="target < 500 MB")
        for x, v in enumerate(values):
            ax.annotate(f"{v:.0f} MB", (x, v), ha="center", va="bottom")
        ax.set_ylabel("worker process RSS, MB")
        subtitle = f"{d['per_case_kb']:.0f} KB per cached case"
        if d["bare_cases"]:
            subtitle += f" (bare: {d['bare_per_case_kb']:.0f} KB)"
        ax.set_title(f"Worker memory, {d['cases']} dormant: {subtitle}")
        ax.legend()

    ax = axes[1][1]
    if "replay" in record:
        r = record["replay"]
        ax.bar(["casework\n(longest path)", "bare Temporal\n(same activities)"],
               [r["us_per_event"], r["bare_us_per_event"]], color=[ours, bare])
        ax.set_ylabel("µs per history event")
        ax.set_title(f"Replay: {r['events']} events, {r['ms_per_history']:.0f} ms per history, x{r['replays']}")

    m = record["machine"]
    fig.suptitle(f"casework benchmark {record['when']} · {m['cpus']} CPUs · temporalio {m['temporalio']} · "
                 f"commit {m['git_commit']}", fontsize=10)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
