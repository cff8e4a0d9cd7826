"""``casework submit``: referrals in, one case each (R01), through the API (``POST
/referrals/batch``): the submitter recorded is who is signed in."""

from __future__ import annotations

import asyncio
from datetime import date
from typing import TYPE_CHECKING

import typer

from starter.exits import CliError, Exit
from starter.output import Column, console, emit, err_console, print_json, progress
from starter.views import CSV_OPTION, JSON_OPTION

if TYPE_CHECKING:
    from api.schemas import BatchItem
    from casework.referral import Referral

# The referral model is imported when a command runs, not when the command line starts
# (``casework submit --help`` needs none of it).

RESULT_COLUMNS = (Column("index", "#", id=True), Column("case_id", "Case", id=True), Column("result", "Result"),
                  Column("problem", "Reason", lambda p: " ".join(str(p["detail"] or p["title"]).split()) if p else ""))


def submit(
    sources: list[str] = typer.Argument(..., metavar="FILE|DIR|-", help="Referral JSON files, folders of them, or - for stdin."),
    json_out: bool = JSON_OPTION,
    csv_out: bool = CSV_OPTION,
) -> None:
    """Submit ACRO referrals through the API, as who is signed in.

    Bad files are refused field by field, and then nothing is sent."""
    from starter.referral_files import read_referrals

    read = read_referrals(sources, date.today())
    if read.problems:
        for line in read.problems:
            err_console.print(line, markup=False, soft_wrap=True)  # one line per problem, however long
        raise CliError(f"{len(read.problems)} problem(s) found; nothing was submitted", Exit.BAD_INPUT)
    items = asyncio.run(_submit_all([r for _, r in read.referrals], show_progress=not (json_out or csv_out)))
    results = [item.model_dump(mode="json") for item in items]
    if json_out:
        print_json(results)
    else:
        emit("Referrals", RESULT_COLUMNS, results, csv_out=csv_out)
    if not (json_out or csv_out):
        console.print(", ".join(f"{sum(1 for r in results if r['result'] == s)} {s}"
                                for s in ("started", "already exists", "refused")))
        # R02/R03: each non-disclosable certificate and why, one line each (the case notes it,
        # destroys it and asks ACRO again).
        for r in results:
            if r["non_disclosable"]:
                console.print(f"{r['case_id']}: certificate 1 judged non-disclosable – {r['non_disclosable']}",
                              markup=False, soft_wrap=True)
    if any(r["result"] == "refused" for r in results):
        raise typer.Exit(Exit.FAILED)


async def _submit_all(referrals: list[Referral], show_progress: bool) -> list[BatchItem]:
    """``POST /referrals/batch`` in batches the API takes; the answer per referral, in order
    (``index``: its place in the whole submission)."""
    from starter.api_client import MAX_BATCH, ApiClient

    answered: list[BatchItem] = []
    async with ApiClient() as api:
        with progress(disable=not show_progress) as bars:
            bar = bars.add_task("Submitting", total=len(referrals))
            for start in range(0, len(referrals), MAX_BATCH):
                chunk = referrals[start:start + MAX_BATCH]
                answer = await api.submit_batch([r.model_dump(mode="json") for r in chunk])
                answered += sorted((i.model_copy(update={"index": start + i.index}) for i in answer.results),
                                   key=lambda i: i.index)
                bars.advance(bar, len(chunk))
    return answered
