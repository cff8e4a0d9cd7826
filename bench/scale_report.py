"""The scale phase's table and plot: each measure's p50/p95 at each size, how much it grew
from the smallest size to the largest, and whether that meets its target (flat: within 2x;
the sweep: linear, within 2x of the growth in cases)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.table import Table

from bench.scale import FLAT, LINEAR, ScaleResult

FLAT_LIMIT = 2.0


def table(result: ScaleResult) -> Table:
    sizes = [s.cases for s in result.sizes]
    t = Table(title=f"casework at scale: p50 / p95 in ms over {result.calls} calls per measure, varied filters and callers")
    t.add_column("Measure")
    for n in sizes:
        t.add_column(f"{n:,} cases", justify="right")
    t.add_column("Growth (p50)", justify="right")
    t.add_column("Target")
    t.add_column("")
    for group in FLAT + LINEAR:
        if not any(group in s.latencies_s for s in result.sizes):
            continue
        cells = [f"{s.p(group, 0.5) * 1e3:.1f} / {s.p(group, 0.95) * 1e3:.1f}" for s in result.sizes]
        growth = result.growth(group) if len(sizes) > 1 else float("nan")
        if group in FLAT:
            target, ok = "flat (≤ 2x)", growth <= FLAT_LIMIT
        else:
            cases_growth = sizes[-1] / sizes[0] if len(sizes) > 1 else 1.0
            target, ok = f"linear (≤ {cases_growth * FLAT_LIMIT:,.0f}x)", growth <= cases_growth * FLAT_LIMIT
        verdict = "" if len(sizes) < 2 else ("[green]met[/]" if ok else "[red]missed[/]")
        t.add_row(group, *cells, f"{growth:.2f}x" if len(sizes) > 1 else "", target, verdict)
    for group in FLAT:
        if all(group in s.db_ms for s in result.sizes):
            t.add_row(f"  in the database: {group} (statement p50 / max ms)",
                      *[f"{_q(s.db_ms[group], 0.5):.2f} / {max(s.db_ms[group]):.2f}" for s in result.sizes], "", "", "")
    if all(s.sweep.get("with_temporal") for s in result.sizes):
        t.add_row("Whole sweep against the dev server: s (workflows held / open cases read)",
                  *[f"{w['seconds']:.1f} ({w['workflows']:,} / {w['open_cases_seen']:,})"
                    for w in (s.sweep["with_temporal"] for s in result.sizes)], "", "linear", "")
    t.add_row("Load: rows copied per second", *[f"{_rate(s.load):,.0f}" for s in result.sizes], "", "", "")
    t.add_row("Load: minutes (copy + indexes + ANALYZE)", *[f"{s.load['seconds']['total'] / 60:.1f}" for s in result.sizes],
              "", "", "")
    t.add_row("Database size (MB)", *[f"{s.database_mb:,.0f}" for s in result.sizes], "", "", "")
    t.add_row("Statements whose plans were checked", *[str(s.statements_checked) for s in result.sizes], "", "no finding",
              "[green]met[/]" if not result.findings else "[red]missed[/]")
    return t


def _q(values: list[float], q: float) -> float:
    from bench.drive import quantile

    return quantile(sorted(values), q)


def _rate(load: dict[str, Any]) -> float:
    rows = sum(load["rows"].values())
    copying = sum(v for k, v in load["seconds"].items() if k.startswith("copy ")) + load["seconds"].get("generate", 0)
    return rows / copying if copying else float("nan")


def plot(record: dict[str, Any], path: Path) -> None:
    """Left: each measure's p50 (p95 dotted) through the API against the number of cases;
    right: its statements' time in the database (p50 of EXPLAIN ANALYZE). Log scales."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sizes = [s["cases"] for s in record["sizes"]]
    fig, (api, db) = plt.subplots(1, 2, figsize=(14, 6))
    for group in FLAT + LINEAR:
        p50 = [s["p50_ms"].get(group) for s in record["sizes"]]
        if any(v is None for v in p50):
            continue
        line, = api.plot(sizes, p50, marker="o", label=group)
        api.plot(sizes, [s["p95_ms"][group] for s in record["sizes"]], linestyle=":", color=line.get_color())
        inside = [s.get("db_p50_ms", {}).get(group) for s in record["sizes"]]
        if all(v is not None for v in inside):
            db.plot(sizes, [max(v, 0.01) for v in inside], marker="o", color=line.get_color(), label=group)
    api.set_title("Through the API: ms per call (p50 solid, p95 dotted)")
    db.set_title("In the database: ms per statement (p50, EXPLAIN ANALYZE)")
    for ax in (api, db):
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("cases in the CID")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle("Cost against the number of cases (flat is the target; the sweep is linear)")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)


def markdown(record: dict[str, Any]) -> str:
    """The reference run's table for docs/performance.md (from the JSON record)."""
    sizes = record["sizes"]
    head = "| Measure (p50 / p95 ms) | " + " | ".join(f"{s['cases']:,} cases" for s in sizes) + " | Growth (p50) |"
    rows = [head, "|---|" + "---:|" * len(sizes) + "---:|"]
    for group in FLAT + LINEAR:
        if not all(group in s["p50_ms"] for s in sizes):
            continue
        growth = sizes[-1]["p50_ms"][group] / sizes[0]["p50_ms"][group] if sizes[0]["p50_ms"][group] else float("nan")
        rows.append(f"| {group} | " + " | ".join(f"{s['p50_ms'][group]:.1f} / {s['p95_ms'][group]:.1f}" for s in sizes)
                    + f" | {growth:.2f}x |")
    for group in FLAT:
        if all(group in s.get("db_p50_ms", {}) for s in sizes):
            rows.append(f"| in the database: {group} (statement p50 / max) | "
                        + " | ".join(f"{s['db_p50_ms'][group]:.2f} / {s['db_max_ms'][group]:.2f}" for s in sizes) + " | |")
    rows.append("| load: minutes (copy, indexes, VACUUM ANALYZE) | "
                + " | ".join(f"{s['load']['seconds']['total'] / 60:.1f}" for s in sizes) + " | |")
    rows.append("| migration 0014 on the loaded CID: seconds | "
                + " | ".join(f"{s['load']['seconds'].get('later_migrations', 0):.0f}" for s in sizes) + " | |")
    rows.append("| database size (MB) | " + " | ".join(f"{s['database_mb']:,.0f}" for s in sizes) + " | |")
    rows.append("| rows: cases / tasks / audit | " + " | ".join(
        f"{s['load']['rows']['cases']:,} / {s['load']['rows']['tasks']:,} / {s['load']['rows']['audit_log']:,}" for s in sizes) + " | |")
    rows.append("| statements whose plans were checked (findings) | " + " | ".join(
        f"{s['statements_checked']} ({len(s['findings'])})" for s in sizes) + " | |")
    with_temporal = [s["sweep"].get("with_temporal") for s in sizes]
    if all(with_temporal):
        rows.append("| whole sweep against the dev server: seconds (workflows held / open cases read) | " + " | ".join(
            f"{w['seconds']:.1f} ({w['workflows']:,} / {w['open_cases_seen']:,})" for w in with_temporal) + " | |")
    return "\n".join(rows) + "\n"


if __name__ == "__main__":  # python -m bench.scale_report RECORD.json: the markdown table
    import json
    import sys

    print(markdown(json.loads(Path(sys.argv[1]).read_text())["scale"]), end="")
