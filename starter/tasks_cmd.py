"""``casework tasks`` (the inbox), ``complete``, ``claim``, ``unclaim`` and ``assign``,
through the API as who is signed in.

The API completes a task through the case workflow's ``complete_task`` update: its
validator is the one judge of what is legal now (unknown task, already done, illegal
outcome, R30), and its refusal comes back here word for word, with exit status 4; the
policy's refusal (not your task) with 7.
"""

from __future__ import annotations

import re
import typing
from datetime import date
from typing import Any, Optional

import typer

from starter.api_client import ACTOR_HELP
from starter.cli import app
from starter.exits import CliError, Exit
from starter.output import console, print_json, table, when, yes

_DETAIL_KEY = re.compile(r"^[a-z][a-z0-9_]{0,59}$")


@app.command()
def tasks(
    team: Optional[str] = typer.Option(None, "--team", help="Team (or case owner's staff ID) the task is with."),
    overdue: bool = typer.Option(False, "--overdue", help="Only overdue tasks."),
    assignee: Optional[str] = typer.Option(None, "--assignee", help="Only tasks assigned to this person."),
    mine: bool = typer.Option(False, "--mine", help="Only tasks for you: your team's, yours as owner, or claimed by you."),
    kind: Optional[str] = typer.Option(None, "--kind", help="Only tasks of this kind (e.g. nbtc_check)."),
    case: Optional[str] = typer.Option(None, "--case", help="Only this case (case ID or ACRO reference)."),
    limit: int = typer.Option(200, "--limit", help="At most this many tasks (1-200)."),
    cursor: Optional[str] = typer.Option(None, "--cursor", help="The next page: the cursor the page before printed."),
    json_out: bool = typer.Option(False, "--json", help="Print the tasks as JSON."),
) -> None:
    """List the open tasks you may see, soonest due first (through the API)."""
    from starter import api_client, views

    if not 1 <= limit <= 200:
        raise CliError("--limit is from 1 to 200", Exit.BAD_INPUT)
    case_id = views.case_id_from(case) if case else None
    page = api_client.run(lambda api: api.tasks(team=team, overdue=overdue, assignee=assignee, mine=mine, kind=kind,
                                                case_id=case_id, limit=limit, cursor=cursor))
    found = [_task(t) for t in page.get("tasks", [])]
    next_cursor = page.get("next_cursor")
    if json_out:
        print_json({"tasks": found, "next_cursor": next_cursor})
        return
    if not found:
        console.print("No open tasks match.")
        return
    console.print(table(
        "Open tasks (soonest due first)",
        ["Task", "Case", "Key", "Kind", "Title", "Team", "Assignee", "Due (UTC)", "Overdue"],
        ([t["task_id"], t["case_id"], t["key"], t["kind"], t["title"], t["team"], t["assignee"], _when(t["due_at"]),
          yes(t["overdue"])] for t in found),
        ids=3,
    ))
    more = f"; more with --cursor {next_cursor}" if next_cursor else ""
    console.print(f"{len(found)} open task(s){more}", markup=False, soft_wrap=True)


def _task(t: dict[str, Any]) -> dict[str, Any]:
    """A task as the API gives it, under the names the command has always printed."""
    return {"task_id": t.get("task_id", t.get("id")), "case_id": t["case_id"], "key": t.get("task_key", t.get("key")),
            "kind": t["kind"], "title": t.get("title"), "team": t.get("team"), "assignee": t.get("assignee"),
            "due_at": t.get("due_at"), "overdue": bool(t.get("overdue")), "status": t.get("status", "open")}


def _when(value: Any) -> str:
    from datetime import datetime

    return when(datetime.fromisoformat(value)) if isinstance(value, str) else when(value)


@app.command()
def complete(
    task: str = typer.Argument(..., metavar="TASK", help="Task ID from 'casework tasks', or CASE:KEY."),
    outcome: Optional[str] = typer.Option(None, "--outcome", help="The outcome (see 'casework show' for the legal ones)."),
    detail: list[str] = typer.Option([], "--detail", metavar="KEY=VALUE", help="A detail of the outcome; repeatable."),
    actor: Optional[str] = typer.Option(None, "--actor", hidden=True, help=ACTOR_HELP),
    json_out: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Complete a task with an outcome, as who is signed in. The case refuses an outcome that is not legal now."""
    from starter import api_client

    api_client.refuse_actor(actor)
    if not (outcome or "").strip():
        raise CliError("which outcome? give --outcome (the legal ones are listed by 'casework show')", Exit.BAD_INPUT)
    details = parse_details(detail)

    async def work(api: Any) -> dict[str, Any]:
        # A task ID goes straight to the completion: the policy's answer is about completing it.
        task_id = int(task.strip()) if task.strip().isdigit() else (await find_task(api, task))["task_id"]
        done = await api.complete(task_id, outcome.strip(), details)
        return {"task_id": done["task_id"], "case_id": done["case_id"], "key": done.get("key", done.get("task_key")),
                "outcome": done["outcome"], "stage": done.get("stage"), "actor": done.get("completed_by"),
                "details": details}

    done = api_client.run(work)
    if json_out:
        print_json(done)
        return
    # The API's answer says where the case went (issue 24 item 8): "closed" when the outcome closed it.
    stage = (" The case is closed." if done.get("stage") == "closed"
             else f" The case is now at {done['stage']}." if done.get("stage") else "")
    console.print(f"Task {done['task_id']} ({done['key']} of {done['case_id']}) completed: {done['outcome']}.{stage}",
                  markup=False)


async def find_task(api: Any, ref: str) -> dict[str, Any]:
    """A task by its numeric ID, or as CASE:KEY (case ID or ACRO reference, then the task key)."""
    from starter import views

    ref = ref.strip()
    if ref.isdigit():
        return _task(await api.task(int(ref)))
    if ":" not in ref:
        raise CliError(f"'{ref}' is not a task: give the task ID from 'casework tasks', or CASE:KEY", Exit.BAD_INPUT)
    case, _, key = ref.rpartition(":")
    case_id, key = views.case_id_from(case), key.strip()
    page = await api.tasks(case_id=case_id, limit=200)
    for listed in page.get("tasks", []):
        if listed.get("task_key", listed.get("key")) == key:
            return _task(listed)
    raise CliError(f"no open task {key} on {case_id} that you may see", Exit.NOT_FOUND)


def _task_command(verb: str, task: str, json_out: bool, call: Any) -> None:
    from starter import api_client

    async def work(api: Any) -> dict[str, Any]:
        found = await find_task(api, task)
        answer = await call(api, found["task_id"])
        return _task({**found, **(answer if isinstance(answer, dict) else {})})

    done = api_client.run(work)
    if json_out:
        print_json(done)
        return
    holder = f"; assignee {done['assignee']}" if done.get("assignee") else "; nobody has it claimed"
    console.print(f"Task {done['task_id']} ({done['key']} of {done['case_id']}) {verb}{holder}.", markup=False)


@app.command()
def claim(task: str = typer.Argument(..., metavar="TASK", help="Task ID, or CASE:KEY."),
          json_out: bool = typer.Option(False, "--json", help="Print the task as JSON.")) -> None:
    """Claim a task for yourself (one winner when two claim at once)."""
    _task_command("claimed", task, json_out, lambda api, task_id: api.claim(task_id))


@app.command()
def unclaim(task: str = typer.Argument(..., metavar="TASK", help="Task ID, or CASE:KEY."),
            json_out: bool = typer.Option(False, "--json", help="Print the task as JSON.")) -> None:
    """Give a claimed task back to its team (its assignee, or a senior caseworker)."""
    _task_command("unclaimed", task, json_out, lambda api, task_id: api.unclaim(task_id))


@app.command()
def assign(task: str = typer.Argument(..., metavar="TASK", help="Task ID, or CASE:KEY."),
           to: str = typer.Option(..., "--to", metavar="STAFF_ID", help="A member of the task's team who may do it."),
           json_out: bool = typer.Option(False, "--json", help="Print the task as JSON.")) -> None:
    """Assign a task to a member of its team."""
    _task_command(f"assigned to {to}", task, json_out, lambda api, task_id: api.assign(task_id, to.strip()))


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
