"""``casework event --from-csv``: a batch from another system, checked whole, applied once.

200 "person located" reports over 50 cases (four sources each: ICE, the police, NBTC, the
prison service), as an overnight feed would bring them. Each is applied once; the same
file again changes nothing and says so; a malformed file sends nothing at all.
"""

from __future__ import annotations

from casework import keys
from casework.case import EventKind

import asyncio
import csv
import uuid
from pathlib import Path

from workflows.client import CaseClient
from tests.cli_support import Casework, cw  # noqa: F401 - cw is a fixture
from tests.support import referral, until

SOURCES = ("ice.system", "police.pnc", "nbtc.system", "prison.service")
CASES = 50


def write_csv(path: Path, rows: list[dict[str, str]], columns: tuple[str, ...]) -> Path:
    with path.open("w", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)
    return path


async def start_cases(client, pool, task_queue: str, n: int) -> list[str]:  # noqa: ANN001
    limit = asyncio.Semaphore(16)

    async def one() -> str:
        async with limit:
            result = await CaseClient(client, pool=pool, task_queue=task_queue).submit(referral(), actor="acro.referrals")
        return result.case_id

    return list(await asyncio.gather(*(one() for _ in range(n))))


async def located_rows(pool, case_ids: list[str], event_ids: list[str]) -> int:  # noqa: ANN001
    return await pool.fetchval(
        "SELECT count(*) FROM audit_log WHERE case_id = ANY($1::text[]) AND event_key = ANY($2::text[])",
        case_ids, [keys.event_key(EventKind.LOCATED, e) for e in event_ids],
    )


async def test_batch_of_200_events_is_applied_once_and_a_rerun_changes_nothing(cw: Casework, dev_env, pool, task_queue, tmp_path):
    """R16->R20 for 50 cases from one file; repeats are harmless (event IDs)."""
    case_ids = await start_cases(dev_env.client, pool, task_queue, CASES)
    batch_tag = uuid.uuid4().hex[:6]

    # A malformed file: every problem is named by its line, and nothing is sent - not even the good row.
    held_back = f"held-back-{batch_tag}"
    bad = write_csv(tmp_path / "bad.csv", [
        {"kind": "located", "case_id": case_ids[0], "event_id": held_back, "actor": "ice.system", "custody": "detained"},
        {"kind": "teleported", "case_id": case_ids[0], "event_id": "x1", "actor": "ice.system", "custody": ""},
        {"kind": "located", "case_id": case_ids[0], "event_id": "", "actor": "ice.system", "custody": ""},
        {"kind": "located", "case_id": case_ids[0], "event_id": "x3", "actor": "ice.system", "custody": "on holiday"},
        {"kind": "left-uk", "case_id": case_ids[0], "event_id": "x4", "actor": "not a staff id!", "custody": ""},
        {"kind": "located", "case_id": case_ids[0], "event_id": held_back, "actor": "ice.system", "custody": ""},
    ], ("kind", "case_id", "event_id", "actor", "custody"))
    refused = await cw("event", "--from-csv", str(bad))
    assert refused.code == 2, str(refused)
    assert "Traceback" not in refused.err
    problems = refused.err.splitlines()
    assert problems == [
        f"{bad}:3: kind 'teleported' is not one of located, left-uk, certificate, representations",
        f"{bad}:4: event_id is empty or longer than 128 characters",
        f"{bad}:5: custody 'on holiday' is not one of detained, in_prison, confirmed_address",
        f"{bad}:6: actor 'not a staff id!' is not a staff or system ID (letters, digits, . _ @ : -)",
        f"{bad}:7: repeats line 2 (same case and event ID)",
        f"casework: 5 problem(s) in {bad}; nothing was sent",
    ], refused.err

    # The real feed: 200 events, four per case.
    rows = [
        {"kind": "located", "case_id": case_id, "event_id": f"{source}-{batch_tag}-{n}", "actor": source,
         "custody": "in_prison" if source == "prison.service" else "confirmed_address",
         "release_date": "2031-01-31" if source == "prison.service" else ""}
        for n, case_id in enumerate(case_ids) for source in SOURCES
    ]
    event_ids = [r["event_id"] for r in rows]
    good = write_csv(tmp_path / "located.csv", rows, ("kind", "case_id", "event_id", "actor", "custody", "release_date"))
    first = await cw.ok("event", "--from-csv", str(good))
    assert "200 applied, 0 already applied, 0 case not found, 0 case closed, 0 failed" in first.out, first.out

    await until(lambda: _equals(located_rows(pool, case_ids, event_ids), 200), "200 events recorded", 90)
    # Each case moved on once (R20: one allocation task), however many reports it had.
    await until(lambda: _equals(pool.fetchval(
        "SELECT count(*) FROM tasks WHERE case_id = ANY($1::text[]) AND kind = 'allocate_case_owner'", case_ids
    ), CASES), "every case to reach Stage C", 60)

    second = await cw.ok("event", "--from-csv", str(good), "--json")
    report = second.json()
    assert report["counts"] == {"applied": 0, "already applied": 200, "case not found": 0, "case closed": 0, "failed": 0,
                                "refused": 0, "sent": 0}
    assert {r["result"] for r in report["results"]} == {"already applied"}
    again = await cw.ok("event", "--from-csv", str(good))
    assert "Every event had been applied before: nothing changed." in again.out

    await asyncio.sleep(1)  # anything the reruns had sent would have been recorded by now
    assert await located_rows(pool, case_ids, event_ids) == 200
    assert await pool.fetchval(
        "SELECT count(*) FROM audit_log WHERE case_id = ANY($1::text[]) AND action = 'person located'", case_ids
    ) == 200
    assert await pool.fetchval(
        "SELECT count(*) FROM tasks WHERE case_id = ANY($1::text[]) AND kind = 'allocate_case_owner'", case_ids
    ) == CASES
    assert await located_rows(pool, [case_ids[0]], [held_back]) == 0  # the malformed file sent nothing


async def test_batch_reports_unknown_and_closed_cases_row_by_row(cw: Casework, dev_env, pool, task_queue, tmp_path):
    """R11 closes a case; a later event for it is reported, not sent; the batch exits 1."""
    open_case, closing = await start_cases(dev_env.client, pool, task_queue, 2)
    left = await cw.ok("event", "left-uk", closing, "--event-id", "nbtc-left-1", "--actor", "nbtc.system")
    assert "left the UK (event nbtc-left-1) applied" in left.out
    await until(lambda: pool.fetchval("SELECT status = 'closed' FROM cases WHERE id = $1", closing), "the left-UK case to close", 30)

    mixed = write_csv(tmp_path / "mixed.csv", [
        {"kind": "left-uk", "case_id": open_case, "event_id": "nbtc-9", "actor": ""},
        {"kind": "located", "case_id": "acro-case-NO-SUCH-CASE", "event_id": "ice-9", "actor": "ice.system"},
        {"kind": "located", "case_id": closing, "event_id": "ice-10", "actor": "ice.system"},
    ], ("kind", "case_id", "event_id", "actor"))
    ran = await cw("event", "--from-csv", str(mixed), "--actor", "nbtc.batch")
    assert ran.code == 1, str(ran)
    assert "Traceback" not in ran.err
    assert "1 applied, 0 already applied, 1 case not found, 1 case closed, 0 failed" in ran.out, ran.out
    lines = {line.split("│")[1].strip(): line for line in ran.out.splitlines() if line.count("│") > 3}
    assert "case not found" in lines["3"] and "case closed" in lines["4"] and "applied" in lines["2"], ran.out
    await until(lambda: pool.fetchval(
        "SELECT actor FROM audit_log WHERE case_id = $1 AND event_key = $2", open_case, keys.event_key(EventKind.LEFT_UK, "nbtc-9")
    ), "the left-UK event to be recorded", 30)
    assert await pool.fetchval(
        "SELECT actor FROM audit_log WHERE case_id = $1 AND event_key = $2", open_case, keys.event_key(EventKind.LEFT_UK, "nbtc-9")
    ) == "nbtc.batch"  # the row had no actor: --actor stood in


async def _equals(value, expected) -> bool:  # noqa: ANN001
    return (await value) == expected
