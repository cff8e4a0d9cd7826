"""``casework submit``: referrals in, one case each (R01)."""

from __future__ import annotations

import asyncio
from datetime import date
from typing import TYPE_CHECKING, Optional

import typer
from rich.console import Console

from starter.cli import app, err_console
from starter.exits import CliError, Exit

if TYPE_CHECKING:
    from workflows.client import SubmitResult

# Temporal, the CID and the referral model are imported when a command runs, not when
# the command line starts (``casework submit --help`` needs none of them).

console = Console(highlight=False)


@app.command()
def submit(
    sources: list[str] = typer.Argument(..., metavar="FILE|DIR|-", help="Referral JSON files, folders of them, or - for stdin."),
    actor: Optional[str] = typer.Option(None, "--actor", help="Who submits (or CASEWORK_ACTOR)."),
    json_out: bool = typer.Option(False, "--json", help="Print the results as JSON."),
) -> None:
    """Submit ACRO referrals. Bad files are refused field by field and nothing is started."""
    from starter import context
    from starter.referral_files import read_referrals

    who = context.actor(actor)
    read = read_referrals(sources, date.today())
    if read.problems:
        for line in read.problems:
            err_console.print(line, markup=False, soft_wrap=True)  # one line per problem, however long
        raise CliError(f"{len(read.problems)} problem(s) found; nothing was submitted", Exit.BAD_INPUT)
    results = asyncio.run(_submit_all([r for _, r in read.referrals], who, show_progress=not json_out))
    _report(results, json_out)
    from workflows.client import Submitted

    if any(r.status is Submitted.CONFLICT for r in results):
        raise typer.Exit(Exit.FAILED)


async def _submit_all(referrals: list, who: str, show_progress: bool) -> list[SubmitResult]:
    from rich.progress import Progress

    from starter import context
    from workflows.client import CaseClient

    async with context.services() as (client, pool):
        assert client is not None
        cases = CaseClient(client, pool=pool, task_queue=context.temporal_settings().task_queue)
        limit = asyncio.Semaphore(16)
        with Progress(console=err_console, transient=True, disable=not show_progress) as progress:
            bar = progress.add_task("Submitting", total=len(referrals))

            async def one(referral) -> SubmitResult:  # noqa: ANN001
                async with limit:
                    result = await cases.submit(referral, actor=who)
                progress.advance(bar)
                return result

            return list(await asyncio.gather(*(one(r) for r in referrals)))


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
