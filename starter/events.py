"""``casework event``: messages from other systems and people, one at a time or a CSV batch.

Each event goes through the API (``POST /cases/{id}/events/{kind}``), sent as who is
signed in, and what the command says is the case's own answer: applied (and what it did),
already applied (an identical repeat of the same kind and event ID), or refused (a repeat
with other content, a refusal by the case, or by the policy). The API holds a certificate
in the CID and hands it to the case by reference. A batch is checked whole before
anything is sent.
"""

from __future__ import annotations

import asyncio
import csv
import io
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import Enum, StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

import typer

from casework import strict_json
from casework.keys import CERTIFICATE_RECEIVED
from casework.referral import WhereaboutsStatus
from casework.refusals import RefusalCode
from starter.exits import CliError, Exit
from starter.referral_files import MAX_FILE_BYTES
from starter.output import Column, console, emit, err_console, print_json, progress
from starter.views import CASE_ARGUMENT, CSV_OPTION

if TYPE_CHECKING:  # heavy imports stay out of the command line's start-up
    from casework.referral import Certificate
    from starter.api_client import ApiClient

event_app = typer.Typer(
    help="Tell a case what happened: located, left-uk, certificate, representations (or a CSV batch).",
    no_args_is_help=False,
)

#: kind -> what the command says it applied
KINDS: dict[str, str] = {
    "located": "person located",
    "left-uk": "left the UK",
    "certificate": CERTIFICATE_RECEIVED,
    "representations": "representations received",
}
#: Where a located person is (R10: a confirmed location); typer checks ``--custody`` against it.
Custody = Enum("Custody", {s.name: s.value for s in (WhereaboutsStatus.DETAINED, WhereaboutsStatus.IN_PRISON,
                                                     WhereaboutsStatus.CONFIRMED_ADDRESS)}, type=str)
CUSTODY = tuple(c.value for c in Custody)
CSV_REQUIRED = ("kind", "case_id", "event_id")
CSV_OPTIONAL = ("custody", "release_date", "certificate_file")
#: Columns of older CSV files, refused by name: the sender is who is signed in.
CSV_GONE = {"actor": "the sender recorded is who is signed in ('casework whoami'); remove the column"}
MAX_CSV_BYTES = 20_000_000
MAX_CERTIFICATE_BYTES = MAX_FILE_BYTES  # a certificate file is read as a referral file is
CONCURRENCY = 16


class Result(StrEnum):
    APPLIED = "applied"
    ALREADY = "already applied"
    NOT_FOUND = "case not found"
    CLOSED = "case closed"
    FAILED = "failed"
    REFUSED = "refused"  # by the case: a repeat with other content, an unknown certificate
    SENT = "sent"  # to a case of an older release, which gives no answer
    NOT_ALLOWED = "not allowed"  # the policy refuses this sender (403)


@dataclass
class EventRow:
    line: int
    kind: str
    case_id: str
    event_id: str
    custody: str | None = None
    release_date: date | None = None
    certificate: "Certificate | None" = None
    result: Result | None = None
    note: str = ""
    #: R02/R03: why a certificate was judged non-disclosable, said before the case destroys it.
    judged: str = ""
    error: CliError | None = field(default=None, repr=False)


# ------------------------------------------------------------------------ checking input


def make_event(
    line: int, kind: str, case: str, event_id: str | None,
    custody: str | None = None, release_date: str | None = None, certificate_file: str | None = None,
    base_dir: Path = Path("."),
) -> EventRow:
    """One event, checked; ValueError names the problem (nothing has been sent)."""
    from pydantic import TypeAdapter, ValidationError

    from casework.case import EventId
    from starter.views import case_id_from

    kind = (kind or "").strip().lower().replace("_", "-")
    if kind not in KINDS:
        raise ValueError(f"kind '{kind}' is not one of {', '.join(KINDS)}")
    if not (case or "").strip():
        raise ValueError("case_id is empty")
    if not case.strip().isprintable():
        raise ValueError("case_id contains a control or separator character")
    if not (event_id or "").strip().isprintable():
        raise ValueError("event_id contains a control or separator character")
    try:
        case_id = case_id_from(case)
        checked_event = TypeAdapter(EventId).validate_python(event_id or "")
    except CliError as err:
        raise ValueError(str(err)) from None
    except ValidationError:
        raise ValueError("event_id is empty or longer than 128 characters") from None
    row = EventRow(line, kind, case_id, checked_event)
    custody = (custody or "").strip() or None
    released = (release_date or "").strip() or None
    if kind == "located":
        row.custody = custody or "confirmed_address"
        if row.custody not in CUSTODY:
            raise ValueError(f"custody '{custody}' is not one of {', '.join(CUSTODY)}")
        if released:
            if row.custody != "in_prison":  # R42: a release date belongs to a prison sentence
                raise ValueError("release_date is given only with custody in_prison")
            try:
                row.release_date = date.fromisoformat(released)
            except ValueError:
                raise ValueError(f"release_date '{released}' is not a date (YYYY-MM-DD)") from None
        from casework.referral import WhereaboutsStatus, check_release_date

        check_release_date(WhereaboutsStatus(row.custody), row.release_date, field="custody")
    elif custody or released:
        raise ValueError("custody and release_date belong to 'located' events only")
    certificate_file = (certificate_file or "").strip() or None
    if kind == "certificate":
        if not certificate_file:
            raise ValueError("a certificate event needs its certificate file (--file, or the certificate_file column)")
        row.certificate = _read_certificate(base_dir / certificate_file)
    elif certificate_file:
        raise ValueError("certificate_file belongs to 'certificate' events only")
    return row


def _read_certificate(path: Path) -> "Certificate":
    from pydantic import ValidationError

    from casework.referral import parse_certificate
    from starter.referral_files import Refused, describe, read_entry

    try:  # regular files only, bounded, as a referral file is read; then strictly (as the API)
        document = strict_json.loads(read_entry(path))
    except Refused as refused:
        raise ValueError(f"{path}: {refused}") from None
    except ValueError as err:  # bad JSON or encoding, a key twice, huge numbers, deep nesting
        raise ValueError(f"{path}: not JSON ({str(err)[:200]})") from None
    try:
        return parse_certificate(document, date.today())
    except ValidationError as err:
        raise ValueError(f"{path}: " + "; ".join(describe(err))) from None


def read_csv(path: Path) -> tuple[list[EventRow], list[str]]:
    """Every row checked; problems as 'FILE:LINE: problem'. Rows are usable only if there are none."""
    if not path.is_file():
        return [], [f"{path}: no such file"]
    if path.stat().st_size > MAX_CSV_BYTES:
        return [], [f"{path}: larger than {MAX_CSV_BYTES // 1_000_000} MB; split it"]
    try:
        text = path.read_text(encoding="utf-8-sig")  # a spreadsheet's byte-order mark is not a column name
    except UnicodeDecodeError as err:
        return [], [f"{path}: not UTF-8 text ({err})"]
    # newline="": a quoted field may hold a line break; lines are counted as the file has them.
    reader = csv.DictReader(io.StringIO(text, newline=""))
    try:
        header = [h.strip() for h in (reader.fieldnames or [])]
    except csv.Error as err:  # e.g. a field longer than the csv module's limit
        return [], [f"{path}:1: {err}"]
    reader.fieldnames = header
    problems = [f"{path}:1: missing column '{c}'" for c in CSV_REQUIRED if c not in header]
    problems += [f"{path}:1: column '{c}' appears more than once" for c in sorted({c for c in header if header.count(c) > 1})]
    problems += [f"{path}:1: column '{c}' is no longer taken: {CSV_GONE[c]}" for c in header if c in CSV_GONE]
    problems += [f"{path}:1: unknown column '{c}' (columns: {', '.join(CSV_REQUIRED + CSV_OPTIONAL)})"
                 for c in header if c not in CSV_REQUIRED + CSV_OPTIONAL and c not in CSV_GONE]
    if problems:
        return [], problems
    rows: list[EventRow] = []
    seen: dict[tuple[str, str], int] = {}
    records = iter(reader)
    while True:
        line = reader.line_num + 1  # where the record starts (a quoted field may span lines)
        try:
            record = next(records)
        except StopIteration:
            break
        except csv.Error as err:  # the rest of the file cannot be read reliably
            problems.append(f"{path}:{line}: {err}")
            break
        if None in record:
            problems.append(f"{path}:{line}: more fields than the header has")
            continue
        try:
            row = make_event(
                line, record.get("kind") or "", record.get("case_id") or "", record.get("event_id"), record.get("custody"),
                record.get("release_date"), record.get("certificate_file"), base_dir=path.parent,
            )
        except ValueError as err:
            problems.append(f"{path}:{line}: {err}")
            continue
        key = (row.case_id, row.event_id)
        if key in seen:
            problems.append(f"{path}:{line}: repeats line {seen[key]} (same case and event ID)")
            continue
        seen[key] = line
        rows.append(row)
    if not rows and not problems:
        problems.append(f"{path}: no events in the file")
    return rows, problems


# ------------------------------------------------------------------------ sending


def event_body(row: EventRow) -> dict[str, Any]:
    """The request body of ``POST /cases/{id}/events/{kind}`` (no actor: the token's subject is)."""
    body: dict[str, Any] = {"event_id": row.event_id}
    if row.kind == "located":
        body["custody"] = row.custody
        if row.release_date is not None:
            body["release_date"] = row.release_date.isoformat()
    elif row.kind == "certificate":
        assert row.certificate is not None
        body["certificate"] = row.certificate.model_dump(mode="json")
    return body


async def apply_event(api: "ApiClient", row: EventRow) -> EventRow:
    """Send one checked event and set ``row.result`` from the answer; never raises for
    one row's refusal (the API cannot be reached: that ends the batch, exit 5)."""
    from api.schemas import Receipt
    from starter.api_client import error_for

    answer = await api.send_event(row.case_id, row.kind, event_body(row))
    if answer.ok:
        receipt = Receipt.model_validate(answer.body)
        result = {"applied": Result.APPLIED, "already applied": Result.ALREADY, "sent": Result.SENT}.get(receipt.result)
        if result is None:
            return _done(row, Result.REFUSED, receipt.detail or str(receipt.result))
        judged = receipt.non_disclosable
        row.judged = f"judged non-disclosable – {judged}" if judged else ""  # R02/R03: said before the case destroys it
        return _done(row, result, receipt.detail)
    row.error = error_for(answer)
    if answer.status == 404:
        return _done(row, Result.NOT_FOUND, str(row.error))
    if answer.problem.code is RefusalCode.CASE_CLOSED:
        return _done(row, Result.CLOSED)
    if answer.status in (409, 422):
        return _done(row, Result.REFUSED, str(row.error))
    if answer.status == 403:
        return _done(row, Result.NOT_ALLOWED, str(row.error))
    if answer.status in (401, 503):  # the same for every row: stop here
        raise row.error
    return _done(row, Result.FAILED, str(row.error))


def _done(row: EventRow, result: Result, note: str = "") -> EventRow:
    row.result = result
    row.note = note
    return row


async def _apply_all(rows: list[EventRow], show_progress: bool) -> list[EventRow]:
    from starter.api_client import ApiClient

    async with ApiClient() as api:
        limit = asyncio.Semaphore(CONCURRENCY)
        with progress(disable=not show_progress) as bars:
            bar = bars.add_task("Sending events", total=len(rows))

            async def one(row: EventRow) -> EventRow:
                async with limit:
                    done = await apply_event(api, row)
                bars.advance(bar)
                return done

            return list(await asyncio.gather(*(one(r) for r in rows)))


# ------------------------------------------------------------------------ commands


RESULT_COLUMNS = (Column("line", "Line", id=True), Column("kind", "Kind"), Column("case_id", "Case", id=True),
                  Column("event_id", "Event ID"), Column("result", "Result"), Column("note", "Note"))


@event_app.callback(invoke_without_command=True)
def event(
    ctx: typer.Context,
    from_csv: Optional[Path] = typer.Option(
        None, "--from-csv", metavar="FILE",
        help="A batch: columns kind,case_id,event_id[,custody,release_date,certificate_file].",
    ),
    json_out: bool = typer.Option(False, "--json", help="Print the batch's results as JSON."),
    csv_out: bool = CSV_OPTION,
) -> None:
    """Send events to cases through the API, as who is signed in: one (a sub-command) or a CSV batch (--from-csv)."""
    if ctx.invoked_subcommand is not None:
        if from_csv is not None:
            raise CliError("--from-csv is a batch on its own: leave out the sub-command", Exit.BAD_INPUT)
        return
    if from_csv is None:
        console.print(ctx.get_help())
        raise CliError("say which event (located, left-uk, certificate, representations) or give --from-csv FILE",
                       Exit.BAD_INPUT)
    rows, problems = read_csv(from_csv)
    if problems:
        for line in problems:
            err_console.print(line, markup=False, soft_wrap=True)
        raise CliError(f"{len(problems)} problem(s) in {from_csv}; nothing was sent", Exit.BAD_INPUT)
    done = asyncio.run(_apply_all(rows, show_progress=not (json_out or csv_out)))
    counts = {r: sum(1 for row in done if row.result is r) for r in Result}
    results = [{"line": r.line, "kind": r.kind, "case_id": r.case_id, "event_id": r.event_id,
                "result": r.result.value if r.result else None, "note": r.note} for r in done]
    if json_out:
        print_json({"results": results, "counts": {r.value: n for r, n in counts.items()}})
    else:
        emit(f"Events from {from_csv}", RESULT_COLUMNS, results, csv_out=csv_out)
    if not (json_out or csv_out):
        console.print(", ".join(f"{n} {r.value}" for r, n in counts.items()))
        if counts[Result.ALREADY] == len(done):
            console.print("Every event had been applied before: nothing changed.")
    if any(counts[r] for r in (Result.NOT_FOUND, Result.CLOSED, Result.FAILED, Result.REFUSED, Result.NOT_ALLOWED)):
        raise typer.Exit(Exit.FAILED)


def _one(kind: str, case: str, event_id: str, json_out: bool, **extra: Any) -> None:
    try:
        row = make_event(0, kind, case, event_id, **extra)
    except ValueError as err:
        raise CliError(str(err), Exit.BAD_INPUT) from None
    done = asyncio.run(_apply_all([row], show_progress=False))[0]
    if json_out:
        print_json({"kind": kind, "case_id": done.case_id, "event_id": done.event_id,
                    "result": done.result.value if done.result else None, "note": done.note})
    if done.result is Result.NOT_FOUND:
        raise CliError(f"no case {done.case_id}", Exit.NOT_FOUND)
    if done.result is Result.CLOSED:
        raise CliError(f"case {done.case_id} is closed", Exit.REFUSED)
    if done.result in (Result.FAILED, Result.NOT_ALLOWED) and done.error is not None:
        raise done.error
    if done.result is Result.REFUSED:
        raise CliError(f"{done.case_id}: {done.error or done.note}", Exit.REFUSED)
    if not json_out:
        if done.result is Result.ALREADY:
            console.print(f"{done.case_id}: event {done.event_id} already applied; nothing changed.", markup=False)
        else:
            console.print(f"{done.case_id}: {KINDS[kind]} (event {done.event_id}) applied: {done.note}.", markup=False)
            if done.judged:  # R02/R03: a certificate judged non-disclosable, and why
                console.print(f"{done.case_id}: certificate {done.judged}", markup=False, soft_wrap=True)


_EVENT_ID = typer.Option(..., "--event-id", help="The sender's ID for this event; a repeat with it is harmless.")
_JSON = typer.Option(False, "--json", help="Print the result as JSON.")


@event_app.command("located")
def located(
    case: str = CASE_ARGUMENT, event_id: str = _EVENT_ID,
    custody: Custody = typer.Option(Custody.CONFIRMED_ADDRESS, "--custody", case_sensitive=False,
                                    help="Where the person is (R10)."),
    release_date: Optional[datetime] = typer.Option(None, "--release-date", formats=["%Y-%m-%d"],
                                                    help="With in_prison: expected release (R42)."),
    json_out: bool = _JSON,
) -> None:
    """The person has been found (R16 -> R20; R10: a confirmed location)."""
    _one("located", case, event_id, json_out, custody=custody.value,
         release_date=release_date.date().isoformat() if release_date else None)


@event_app.command("left-uk")
def left_uk(case: str = CASE_ARGUMENT, event_id: str = _EVENT_ID, json_out: bool = _JSON) -> None:
    """NBTC (or another source) confirms the person has left the UK (R11)."""
    _one("left-uk", case, event_id, json_out)


@event_app.command("certificate")
def certificate(
    case: str = CASE_ARGUMENT, event_id: str = _EVENT_ID,
    file: Path = typer.Option(..., "--file", metavar="CERT.json", exists=True, dir_okay=False,
                              help="The ACRO certificate as JSON (the shape of a referral's \"certificate\")."),
    json_out: bool = _JSON,
) -> None:
    """A new ACRO certificate for the case (R02/R03: only a disclosable one is used)."""
    _one("certificate", case, event_id, json_out, certificate_file=str(file))


@event_app.command("representations")
def representations(case: str = CASE_ARGUMENT, event_id: str = _EVENT_ID, json_out: bool = _JSON) -> None:
    """Representations against the Stage 1 notice arrived (R43: ends the response window early)."""
    _one("representations", case, event_id, json_out)
