"""``python -m bench`` runs every phase end to end, with tiny numbers.

Not a timed test: it proves the benchmark works (so that the reference figures in
bench/results can be made again) and that what it writes holds together. The PNG is
skipped (matplotlib is the ``bench`` extra, not a test dependency).
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

import pytest

CHECKOUT = Path(__file__).resolve().parent.parent

TINY = ["--intake", "3", "--bulk", "4", "--bulk-rounds", "1", "--replays", "2", "--dormant", "6", "--driven", "3",
        "--woken", "2", "--wake-rate", "20", "--bare-dormant", "3", "--api-cases", "3", "--api-events", "6", "--no-png"]


@pytest.mark.devserver
async def test_bench_runs_every_phase_and_records_it(database_url: str, tmp_path: Path) -> None:
    env = dict(os.environ, DATABASE_URL=database_url)
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bench", *TINY, "--out", str(tmp_path), "--name", "smoke",
        cwd=CHECKOUT, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=300)
    assert process.returncode == 0, err.decode()[-3000:]
    assert "casework benchmark" in out.decode()  # the table

    record = json.loads((tmp_path / "smoke.json").read_text())
    assert record["settings"]["phases"] == ["intake", "bulk", "api", "replay", "dormancy"]
    assert record["machine"]["cpus"] and record["machine"]["load_average"]["intake start"]

    intake = record["intake"]
    # Stage A to the NBTC check: record, register, R05, route, the stage changes, the task.
    assert intake["cases"] == 3 and intake["activities_to_first_wait"] >= 6
    assert intake["rate"] > 0 and intake["bare_rate"] > 0 and intake["ratio"] == pytest.approx(intake["rate"] / intake["bare_rate"])

    bulk = record["bulk"]
    assert bulk["referrals"] == 4 and len(bulk["rounds"]) == 1
    assert 0 < bulk["cli_start_seconds"] < bulk["seconds"]  # the whole command includes its start-up

    api = record["api"]
    # Every NBTC check completed through the API, each timed; every message answered (no 5xx).
    assert len(api["complete_latencies_s"]) == 3 and len(api["bare_update_latencies_s"]) == 3
    assert api["p95_ratio"] == pytest.approx(api["p95"] / api["bare_p95"])
    assert len(api["direct_complete_latencies_s"]) == 1  # the same completion without the API
    assert len(api["complete_server_ms"]) == 3 and set(api["server_p50_ms"]) == {"token", "cid", "update"}
    assert api["event_answers"] == {"202": 6} and api["event_rate"] > 0 and api["bare_signal_rate"] > 0
    assert api["event_applied_seconds"] >= api["event_seconds"] > 0  # sent, then applied
    assert api["event_wait_answers"] == {"200": 6} and api["event_wait_rate"] > 0

    replay = record["replay"]
    # The longest path (Director disagrees, back to Stage E, deported) makes a long history.
    assert replay["events"] > replay["bare_events"] > 2 * replay["activities"]
    assert replay["us_per_event"] > 0

    dormancy = record["dormancy"]
    # every dormant case is driven from intake (a first run cannot carry a state)
    assert (dormancy["cases"], dormancy["driven"], dormancy["woken"]) == (6, 6, 2)
    assert len(dormancy["wake_latencies_s"]) == 2 and all(0 < s < 60 for s in dormancy["wake_latencies_s"])
    assert len(dormancy["bare_wake_latencies_s"]) == 2
    assert dormancy["rss_cached_mb"] >= dormancy["rss_idle_mb"] > 0
