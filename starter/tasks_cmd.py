"""``casework tasks`` (the open-task inbox, from the CID) and ``casework complete``.

Completing a task is the case workflow's ``complete_task`` update: its validator is the
one judge of what is legal now (unknown task, already done, illegal outcome, R30), and
its refusal comes back here word for word, with exit status 4.
"""

from __future__ import annotations

import asyncio
import re
import typing
from datetime import date
from typing import TYPE_CHECKING, Any, Optional

import typer

from starter.cli import app
from starter.exits import CliError, Exit
from starter.output import console, print_json, table, when, yes

if TYPE_CHECKING:
    import asyncpg

_DETAIL_KEY = re.compile(r"^[a-z][a-z0-9_]{0,59}$")


@app.command()
def tasks(
    team: Optional[str] = typer.Option(None, "--team", help="Team (or case owner's staff ID) the task is with."),
    overdue: bool = typer.Option(False, "--overdue", help="Only overdue tasks."),
    assignee: Optional[str] = typer.Option(None, "--assignee", help="Only tasks assigned to this person."),
    case: Optional[str] = typer.Option(None, "--case", help="Only this case (case ID or ACRO reference)."),
    limit: int = typer.Option(200, "--limit", help="At most this many tasks (1-5000)."),
    json_out: bool = typer.Option(False, "--json", help="Print the tasks as JSON."),
) -> None:
    """List open tasks, soonest due first (from the CID)."""
    from starter import views

    if not 1 <= limit <= 5000:
        raise CliError("--limit is from 1 to 5000", Exit.BAD_INPUT)
    case_id = views.case_id_from(case) if case else None
    total, rows = asyncio.run(_tasks(team, overdue, assignee, case_id, limit))
    found = [
        {"task_id": r["id"], "case_id": r["case_id"], "key": r["task_key"], "kind": r["kind"], "title": r["title"],
         "team": r["team"], "assignee": r["assignee"], "due_at": r["due_at"], "overdue": r["overdue"]}
        for r in rows
    ]
    if json_out:
        print_json({"total": total, "tasks": found})
        return
    if not found:
        console.print("No open tasks match.")
        return
    console.print(table(
        "Open tasks (soonest due first)",
        ["Task", "Case", "Key", "Kind", "Title", "Team", "Due (UTC)", "Overdue"],
        ([t["task_id"], t["case_id"], t["key"], t["kind"], t["title"], t["team"], when(t["due_at"]), yes(t["overdue"])]
         for t in found),
        ids=3,
    ))
    console.print(f"{len(found)} of {total} open task(s)" if total > len(found) else f"{total} open task(s)")


async def _tasks(
    team: str | None, overdue: bool, assignee: str | None, case_id: str | None, limit: int
) -> "tuple[int, list[asyncpg.Record]]":
    from cid import read_model
    from starter import context
    from starter.failures import translated

    with translated():
        pool = await context.open_pool()
        try:
            async with pool.acquire() as conn:
                return await read_model.list_tasks(conn, team=team, overdue=overdue, assignee=assignee,
                                                   case_id=case_id, limit=limit)
        finally:
            await pool.close()


@app.command()
def complete(
    task: str = typer.Argument(..., metavar="TASK", help="Task ID from 'casework tasks', or CASE:KEY."),
    outcome: Optional[str] = typer.Option(None, "--outcome", help="The outcome (see 'casework show' for the legal ones)."),
    detail: list[str] = typer.Option([], "--detail", metavar="KEY=VALUE", help="A detail of the outcome; repeatable."),
    actor: Optional[str] = typer.Option(None, "--actor", help="Who completes it (or CASEWORK_ACTOR)."),
    json_out: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Complete a task with an outcome. The case refuses an outcome that is not legal now."""
    from starter import context

    if not (outcome or "").strip():
        raise CliError("which outcome? give --outcome (the legal ones are listed by 'casework show')", Exit.BAD_INPUT)
    who = context.actor(actor)
    details = parse_details(detail)
    done = asyncio.run(_complete(task, outcome.strip(), details, who))
    if json_out:
        print_json(done)
        return
    console.print(
        f"Task {done['task_id']} ({done['key']} of {done['case_id']}) completed: {done['outcome']}."
        f" The case is now at {done['stage']}.",
        markup=False,
    )


def parse_details(pairs: list[str]) -> dict[str, Any]:
    """``key=value`` pairs: true/false become booleans, everything else stays text
    (dates too: the task's own model in the workflow parses and checks them)."""
    details: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        key = key.strip()
        if not sep or not _DETAIL_KEY.match(key):
            raise CliError(f"--detail '{pair}' is not KEY=VALUE (a lower-case key such as case_owner=cw.smith)", Exit.BAD_INPUT)
        if key in details:
            raise CliError(f"--detail {key} is given twice", Exit.BAD_INPUT)
        value = value.strip()
        details[key] = {"true": True, "false": False}.get(value.lower(), value)
    return details


async def _complete(ref: str, outcome: str, details: dict[str, Any], who: str) -> dict[str, Any]:
    from casework.case import TaskCompletion
    from cid import read_model
    from starter import context, views
    from starter.failures import UPDATE_TIMEOUT_SECONDS, closed_message, translated

    with translated():
        pool = await context.open_pool()
        try:
            async with pool.acquire() as conn:
                row = await views.find_task(conn, ref)
                status = await read_model.case_status(conn, row["case_id"])
        finally:
            await pool.close()
    label = f"task {row['id']} ({row['task_key']} of {row['case_id']})"
    if row["status"] == "done":
        by = f": {row['outcome']} by {row['completed_by']} at {when(row['completed_at'])} UTC" if row["outcome"] else ""
        raise CliError(f"{label} is already done{by}", Exit.REFUSED)
    if status == "closed" or row["status"] == "cancelled":
        raise CliError(f"{label}: {closed_message(row['case_id'])}", Exit.REFUSED)
    with translated(case_id=row["case_id"]):
        from workflows.client import CaseClient

        client = await context.open_client()
        result = await asyncio.wait_for(
            CaseClient(client).complete_task(
                row["case_id"], TaskCompletion(task_key=row["task_key"], outcome=outcome, actor=who, details=details)),
            UPDATE_TIMEOUT_SECONDS,
        )
    return {"task_id": row["id"], "case_id": row["case_id"], "key": row["task_key"], "outcome": result.outcome,
            "stage": result.stage.value, "actor": who, "details": details}


def legal_outcomes(kind: str) -> dict[str, Any]:
    """The outcomes a task kind takes and the details each needs (from casework.tasks)."""
    from casework.tasks import TASK_KINDS

    spec = TASK_KINDS.get(kind)
    outcomes: dict[str, dict[str, list[str]]] = {}
    hints: list[str] = []
    for name, model in (spec.details.items() if spec else []):
        required = [f for f, info in model.model_fields.items() if info.is_required()]
        optional = [f for f, info in model.model_fields.items() if not info.is_required()]
        outcomes[str(name)] = {"required": required, "optional": optional}
        fields = [f"{f}={_hint(model.model_fields[f].annotation)}" for f in required]
        fields += [f"[{f}={_hint(model.model_fields[f].annotation)}]" for f in optional]
        hints.append(name + (f" ({' '.join(fields)})" if fields else ""))
    return {"outcomes": outcomes, "hints": hints}


def _hint(annotation: Any) -> str:
    kinds = {annotation, *typing.get_args(annotation)}
    if bool in kinds:
        return "true|false"
    if date in kinds:
        return "YYYY-MM-DD"
    return "…"
