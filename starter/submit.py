"""``casework submit``: referrals in, one case each (R01), through the API (``POST
/referrals/batch``): the submitter recorded is who is signed in."""

from __future__ import annotations

import asyncio
from datetime import date
from typing import TYPE_CHECKING, Optional

import typer
from rich.console import Console

from starter.api_client import ACTOR_HELP
from starter.cli import app, err_console
from starter.exits import CliError, Exit

if TYPE_CHECKING:
    from workflows.client import SubmitResult

# The referral model is imported when a command runs, not when the command line starts
# (``casework submit --help`` needs none of it).

console = Console(highlight=False)


@app.command()
def submit(
    sources: list[str] = typer.Argument(..., metavar="FILE|DIR|-", help="Referral JSON files, folders of them, or - for stdin."),
    actor: Optional[str] = typer.Option(None, "--actor", hidden=True, help=ACTOR_HELP),
    json_out: bool = typer.Option(False, "--json", help="Print the results as JSON."),
) -> None:
    """Submit ACRO referrals through the API, as who is signed in. Bad files are refused
    field by field and nothing is sent."""
    from starter.api_client import refuse_actor
    from starter.referral_files import read_referrals

    refuse_actor(actor)
    read = read_referrals(sources, date.today())
    if read.problems:
        for line in read.problems:
            err_console.print(line, markup=False, soft_wrap=True)  # one line per problem, however long
        raise CliError(f"{len(read.problems)} problem(s) found; nothing was submitted", Exit.BAD_INPUT)
    results = asyncio.run(_submit_all([r for _, r in read.referrals], show_progress=not json_out))
    _report(results, json_out)
    from workflows.client import Submitted

    if any(r.status is Submitted.CONFLICT for r in results):
        raise typer.Exit(Exit.FAILED)


async def _submit_all(referrals: list, show_progress: bool) -> list[SubmitResult]:
    """``POST /referrals/batch`` in batches the API takes; the answer per referral, in order."""
    from rich.progress import Progress

    from starter.api_client import MAX_BATCH, ApiClient

    results: list[SubmitResult] = []
    async with ApiClient() as api:
        with Progress(console=err_console, transient=True, disable=not show_progress) as progress:
            bar = progress.add_task("Submitting", total=len(referrals))
            for start in range(0, len(referrals), MAX_BATCH):
                chunk = referrals[start:start + MAX_BATCH]
                answer = await api.submit_batch([r.model_dump(mode="json") for r in chunk])
                for referral, item in zip(chunk, sorted(answer["results"], key=lambda i: i["index"])):
                    results.append(_result(referral, item))
                progress.advance(bar, len(chunk))
    return results


def _result(referral, item: dict) -> SubmitResult:  # noqa: ANN001
    """One referral's answer in the batch, as the command reports it."""
    from casework.case import case_id_for
    from workflows.client import SubmitResult, Submitted

    if item["result"] == "refused":
        problem = item.get("problem") or {}
        return SubmitResult(item.get("case_id") or case_id_for(referral.acro_reference), Submitted.CONFLICT,
                            " ".join(str(problem.get("detail") or problem.get("title") or "refused").split()))
    status = Submitted.STARTED if item["result"] == "started" else Submitted.EXISTS
    return SubmitResult(item["case_id"], status, "", item.get("non_disclosable"))


def _report(results: list[SubmitResult], json_out: bool) -> None:
    from rich.table import Table

    from workflows.client import Submitted

    if json_out:
        import json

        print(json.dumps([
            {"case_id": r.case_id, "status": r.status.value, "reason": r.reason,
             "non_disclosable": [{"certificate": 1, "reason": r.non_disclosable}] if r.non_disclosable else []}
            for r in results
        ], indent=1))
        return
    table = Table(title="Referrals")
    table.add_column("Case")
    table.add_column("Result")
    table.add_column("Reason")
    for r in results:
        table.add_row(r.case_id, r.status.value, r.reason)
    console.print(table)
    counts = {s: sum(1 for r in results if r.status is s) for s in Submitted}
    console.print(", ".join(f"{n} {s.value}" for s, n in counts.items()))
    # R02/R03: each non-disclosable certificate and why, one line each (the case notes it,
    # destroys it and asks ACRO again).
    for r in results:
        if r.non_disclosable:
            console.print(f"{r.case_id}: certificate 1 judged non-disclosable – {r.non_disclosable}",
                          markup=False, soft_wrap=True)
