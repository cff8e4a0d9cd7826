"""``casework event --from-csv``: a batch from another system, checked whole, applied once.

200 "person located" reports over 50 cases (four reports each, as ICE's overnight feed
brings them from the police, NBTC and the prison service), sent through the API with
ICE's system token: the sender recorded for every one is the token's subject. Each is
applied once; the same file again changes nothing and says so; a malformed file sends
nothing at all; a row the sender may not send is reported "not allowed".
"""

from __future__ import annotations

from casework import keys
from casework.case import EventKind

import asyncio
import csv
import uuid
from pathlib import Path

from tests.cli_support import Casework, cw_api  # noqa: F401 - cw_api is a fixture
from tests.support import until

SOURCES = ("ice", "police-pnc", "nbtc", "prison-service")  # event ID prefixes of the feed's origins
CASES = 50
ICE = "ice-system"  # client credentials, events:located
NBTC = "nbtc-system"  # client credentials, events:left_uk


def write_csv(path: Path, rows: list[dict[str, str]], columns: tuple[str, ...]) -> Path:
    with path.open("w", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)
    return path


async def start_cases(start, n: int) -> list[str]:  # noqa: ANN001
    """``n`` cases at their NBTC check (the ``start`` fixture stops them after the test)."""
    limit = asyncio.Semaphore(16)

    async def one() -> str:
        async with limit:
            case = await start()
            await case.task("nbtc_check")
        return case.id

    return list(await asyncio.gather(*(one() for _ in range(n))))


async def located_rows(pool, case_ids: list[str], event_ids: list[str]) -> int:  # noqa: ANN001
    return await pool.fetchval(
        "SELECT count(*) FROM audit_log WHERE case_id = ANY($1::text[]) AND event_key = ANY($2::text[])",
        case_ids, [keys.event_key(EventKind.LOCATED, e) for e in event_ids],
    )


async def test_batch_of_200_events_is_applied_once_and_a_rerun_changes_nothing(cw_api: Casework, start, pool, tmp_path):
    """R16->R20 for 50 cases from one file; repeats are harmless (event IDs)."""
    cw = cw_api
    case_ids = await start_cases(start, CASES)
    batch_tag = uuid.uuid4().hex[:6]

    # A malformed file: every problem is named by its line, and nothing is sent - not even the good row.
    held_back = f"held-back-{batch_tag}"
    bad = write_csv(tmp_path / "bad.csv", [
        {"kind": "located", "case_id": case_ids[0], "event_id": held_back, "custody": "detained"},
        {"kind": "teleported", "case_id": case_ids[0], "event_id": "x1", "custody": ""},
        {"kind": "located", "case_id": case_ids[0], "event_id": "", "custody": ""},
        {"kind": "located", "case_id": case_ids[0], "event_id": "x3", "custody": "on holiday"},
        {"kind": "left-uk", "case_id": case_ids[0], "event_id": "x4", "custody": "detained"},
        {"kind": "located", "case_id": case_ids[0], "event_id": held_back, "custody": ""},
    ], ("kind", "case_id", "event_id", "custody"))
    refused = await cw("event", "--from-csv", str(bad), who=ICE)
    assert refused.code == 2, str(refused)
    assert "Traceback" not in refused.err
    problems = refused.err.splitlines()
    assert problems == [
        f"{bad}:3: kind 'teleported' is not one of located, left-uk, certificate, representations",
        f"{bad}:4: event_id is empty or longer than 128 characters",
        f"{bad}:5: custody 'on holiday' is not one of detained, in_prison, confirmed_address",
        f"{bad}:6: custody and release_date belong to 'located' events only",
        f"{bad}:7: repeats line 2 (same case and event ID)",
        f"casework: 5 problem(s) in {bad}; nothing was sent",
    ], refused.err
    # A file of an older release, with a sender column: refused by name, nothing sent.
    old = write_csv(tmp_path / "old.csv", [{"kind": "located", "case_id": case_ids[0], "event_id": held_back,
                                            "actor": "ice.system"}], ("kind", "case_id", "event_id", "actor"))
    older = await cw("event", "--from-csv", str(old), who=ICE)
    assert older.code == 2 and older.err.splitlines()[0] == (
        f"{old}:1: column 'actor' is no longer taken: the sender recorded is who is signed in ('casework whoami');"
        " remove the column"), str(older)

    # The real feed: 200 events, four per case.
    rows = [
        {"kind": "located", "case_id": case_id, "event_id": f"{source}-{batch_tag}-{n}",
         "custody": "in_prison" if source == "prison-service" else "confirmed_address",
         "release_date": "2031-01-31" if source == "prison-service" else ""}
        for n, case_id in enumerate(case_ids) for source in SOURCES
    ]
    event_ids = [r["event_id"] for r in rows]
    good = write_csv(tmp_path / "located.csv", rows, ("kind", "case_id", "event_id", "custody", "release_date"))
    first = await cw.ok("event", "--from-csv", str(good), who=ICE)
    assert "200 applied, 0 already applied, 0 case not found, 0 case closed, 0 failed" in first.out, first.out

    await until(lambda: _equals(located_rows(pool, case_ids, event_ids), 200), "200 events recorded", 90)
    # Each case moved on once (R20: one allocation task), however many reports it had.
    await until(lambda: _equals(pool.fetchval(
        "SELECT count(*) FROM tasks WHERE case_id = ANY($1::text[]) AND kind = 'allocate_case_owner'", case_ids
    ), CASES), "every case to reach Stage C", 60)

    second = await cw.ok("event", "--from-csv", str(good), "--json", who=ICE)
    report = second.json()
    assert report["counts"] == {"applied": 0, "already applied": 200, "case not found": 0, "case closed": 0, "failed": 0,
                                "refused": 0, "sent": 0, "not allowed": 0}
    assert {r["result"] for r in report["results"]} == {"already applied"}
    again = await cw.ok("event", "--from-csv", str(good), who=ICE)
    assert "Every event had been applied before: nothing changed." in again.out

    await asyncio.sleep(1)  # anything the reruns had sent would have been recorded by now
    assert await located_rows(pool, case_ids, event_ids) == 200
    # Every report recorded under the token's subject, whatever the file said of its origin.
    assert await pool.fetchval(
        "SELECT count(*) FROM audit_log WHERE case_id = ANY($1::text[]) AND action = 'person located' AND actor = $2",
        case_ids, ICE,
    ) == 200
    assert await pool.fetchval(
        "SELECT count(*) FROM tasks WHERE case_id = ANY($1::text[]) AND kind = 'allocate_case_owner'", case_ids
    ) == CASES
    assert await located_rows(pool, [case_ids[0]], [held_back]) == 0  # the malformed file sent nothing


async def test_batch_reports_unknown_closed_and_not_allowed_row_by_row(cw_api: Casework, start, pool, tmp_path):
    """R11 closes a case; a later event for it is reported, not applied; an event the sender
    may not send (ICE's system, "left the UK": NBTC's, R10/R11) is reported "not allowed"
    and not recorded; the batch exits 1."""
    cw = cw_api
    open_case, closing = await start_cases(start, 2)
    left = await cw.ok("event", "left-uk", closing, "--event-id", "nbtc-left-1", who=NBTC)
    assert "left the UK (event nbtc-left-1) applied" in left.out
    await until(lambda: pool.fetchval("SELECT status = 'closed' FROM cases WHERE id = $1", closing), "the left-UK case to close", 30)

    mixed = write_csv(tmp_path / "mixed.csv", [
        {"kind": "located", "case_id": open_case, "event_id": "ice-8"},
        {"kind": "located", "case_id": "acro-case-NO-SUCH-CASE", "event_id": "ice-9"},
        {"kind": "located", "case_id": closing, "event_id": "ice-10"},
        {"kind": "left-uk", "case_id": open_case, "event_id": "ice-11"},
    ], ("kind", "case_id", "event_id"))
    ran = await cw("event", "--from-csv", str(mixed), who=ICE)
    assert ran.code == 1, str(ran)
    assert "Traceback" not in ran.err
    assert ("1 applied, 0 already applied, 1 case not found, 1 case closed, 0 failed, 0 refused, 0 sent, 1 not allowed"
            in ran.out), ran.out
    lines = {line.split("│")[1].strip(): line for line in ran.out.splitlines() if line.count("│") > 3}
    assert "applied" in lines["2"] and "case not found" in lines["3"] and "case closed" in lines["4"], ran.out
    assert "not allowed" in lines["5"], ran.out
    located_key = keys.event_key(EventKind.LOCATED, "ice-8")
    await until(lambda: pool.fetchval("SELECT actor FROM audit_log WHERE case_id = $1 AND event_key = $2",
                                      open_case, located_key), "the located event to be recorded", 30)
    assert await pool.fetchval("SELECT actor FROM audit_log WHERE case_id = $1 AND event_key = $2",
                               open_case, located_key) == ICE  # the token's subject
    assert await pool.fetchval("SELECT count(*) FROM audit_log WHERE case_id = ANY($1::text[]) AND event_key = ANY($2::text[])",
                               [open_case, closing], [keys.event_key(EventKind.LEFT_UK, "ice-11"),
                                                      keys.event_key(EventKind.LOCATED, "ice-10")]) == 0


async def _equals(value, expected) -> bool:  # noqa: ANN001
    return (await value) == expected
