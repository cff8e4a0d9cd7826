"""``casework tasks`` (the inbox), ``task`` (what one needs), ``complete``, ``claim``,
``unclaim`` and ``assign``, through the API as who is signed in.

The API completes a task through the case workflow's ``complete_task`` update: its
validator is the one judge of what is legal now (unknown task, already done, illegal
outcome, R30), and its refusal comes back here word for word, with exit status 4; the
policy's refusal (not your task) with 7.
"""

from __future__ import annotations

import re
from typing import Any, Awaitable, Callable, Optional

import typer

from api.schemas import CompletionOut, Held, LegalOutcome, TaskDetail
from starter import api_client
from starter.api_client import ApiClient
from starter.exits import CliError, Exit
from starter.output import Column, console, emit_page, listing, print_json, when
from starter.views import CSV_OPTION, JSON_OPTION, LIMIT_MAX, TASK_ARGUMENT, TASK_COLUMNS, case_id_from, summarise

_DETAIL_KEY = re.compile(r"^[a-z][a-z0-9_]{0,59}$")


def tasks(
    team: Optional[str] = typer.Option(None, "--team", help="Team (or case owner's staff ID) the task is with."),
    overdue: bool = typer.Option(False, "--overdue", help="Only overdue tasks."),
    assignee: Optional[str] = typer.Option(None, "--assignee", help="Only tasks assigned to this person."),
    mine: bool = typer.Option(False, "--mine", help="Only tasks for you: your team's, yours as owner, or claimed by you."),
    kind: Optional[str] = typer.Option(None, "--kind", help="Only tasks of this kind (e.g. nbtc_check)."),
    case: Optional[str] = typer.Option(None, "--case", help="Only this case (case ID or ACRO reference)."),
    limit: int = typer.Option(LIMIT_MAX, "--limit", min=1, max=LIMIT_MAX, help="At most this many tasks."),
    cursor: Optional[str] = typer.Option(None, "--cursor", help="The next page: the cursor the page before printed."),
    json_out: bool = JSON_OPTION,
    csv_out: bool = CSV_OPTION,
) -> None:
    """List the open tasks you may see, soonest due first."""
    case_id = case_id_from(case) if case else None
    page = api_client.run(lambda api: api.tasks(team=team, overdue=overdue, assignee=assignee, mine=mine, kind=kind,
                                                case_id=case_id, limit=limit, cursor=cursor))
    emit_page(page, "Open tasks (soonest due first)", TASK_COLUMNS, [t.model_dump() for t in page.tasks],
              what="open task(s)", none="No open tasks match.", json_out=json_out, csv_out=csv_out,
              more=f"; more with --cursor {page.next_cursor}" if page.next_cursor else "")


def task(task: str = TASK_ARGUMENT, json_out: bool = JSON_OPTION) -> None:
    """Show one task, what completing it needs, and its case (no personal data)."""

    async def work(api: ApiClient) -> tuple[TaskDetail, Any]:
        found = await find_task(api, task)
        try:
            return found, await api.case(found.case_id)
        except CliError as err:  # the task's team may see the task and not its case
            if err.code is not Exit.NOT_FOUND:
                raise
            return found, None

    found, case = api_client.run(work)
    if json_out:
        return print_json({"task": found, "case": case})
    console.print(f"[bold]Task {found.task_id}[/bold] · {found.key} of {found.case_id} · {found.status}")
    console.print(f"{found.title} · team {found.team} · assignee {found.assignee or '-'} · due {when(found.due_at)} UTC"
                  + (" · overdue" if found.overdue else ""), markup=False)
    if found.status == "open":
        print_outcomes(found)
    else:
        console.print(f"Outcome {found.outcome} by {found.completed_by} at {when(found.completed_at)} UTC", markup=False)
    console.print()
    if case is not None:
        summarise(case)
    else:
        console.print(f"Case {found.case_id}: not one you may see.", markup=False)


def print_outcomes(found: TaskDetail) -> None:
    """The task's legal outcomes and the details each records (``--detail name=value``)."""
    if not found.legal_outcomes:
        console.print("No outcome for a person: a message from another system completes it.", markup=False)
        return
    console.print(listing(f"Legal outcomes (casework complete {found.task_id} --outcome OUTCOME --detail NAME=VALUE)",
                          [Column("outcome", "Outcome", id=True), Column("fields", "Details (required; [optional])"),
                           Column("needs_disclosable", "Only when convictions are disclosable (R30/R61)")],
                          [{"outcome": o.outcome, "fields": _fields(o), "needs_disclosable": o.needs_disclosable}
                           for o in found.legal_outcomes]))


def _fields(outcome: LegalOutcome) -> str:
    sample = {"boolean": "true|false", "date": "YYYY-MM-DD", "text": "…"}
    return " ".join(f"{f.name}={sample[f.type]}" if f.required else f"[{f.name}={sample[f.type]}]"
                    for f in outcome.fields) or "none"


def complete(
    task: str = TASK_ARGUMENT,
    outcome: Optional[str] = typer.Option(None, "--outcome", help="The outcome; leave it out to list the legal ones."),
    detail: list[str] = typer.Option([], "--detail", metavar="KEY=VALUE", help="A detail of the outcome; repeatable."),
    json_out: bool = JSON_OPTION,
) -> None:
    """Complete a task with an outcome, as who is signed in. The case refuses an outcome that is not legal now.

    Without --outcome it lists the task's legal outcomes and their details, completes
    nothing, and exits 2.
    """
    details = parse_details(detail)

    async def work(api: ApiClient) -> TaskDetail | CompletionOut:
        # A task ID goes straight to the completion: the policy's answer is about completing it.
        task_id = int(task.strip()) if task.strip().isdigit() and outcome else (await find_task(api, task)).task_id
        if not (outcome or "").strip():
            return await api.task(task_id)
        return await api.complete(task_id, outcome.strip(), details)

    done = api_client.run(work)
    if isinstance(done, TaskDetail):
        print_outcomes(done)
        raise CliError(f"nothing completed: give --outcome, one of {', '.join(done.outcomes) or 'none'}", Exit.BAD_INPUT)
    if json_out:
        return print_json(done)
    closed = done.stage == "closed"
    console.print(f"Task {done.task_id} ({done.key} of {done.case_id}) completed: {done.outcome}. "
                  + ("The case is closed." if closed else f"The case is now at {done.stage}."), markup=False)


async def find_task(api: ApiClient, ref: str) -> TaskDetail:
    """A task by its numeric ID, or as CASE:KEY (case ID or ACRO reference, then the task key)."""
    ref = ref.strip()
    if ref.isdigit():
        return await api.task(int(ref))
    if ":" not in ref:
        raise CliError(f"'{ref}' is not a task: give the task ID from 'casework tasks', or CASE:KEY", Exit.BAD_INPUT)
    case, _, key = ref.rpartition(":")
    case_id, key = case_id_from(case), key.strip()
    page = await api.tasks(case_id=case_id, limit=LIMIT_MAX)
    for listed in page.tasks:
        if listed.key == key:
            return await api.task(listed.task_id)
    if (await _visible_status(api, case_id)) == "dormant":  # R40 (issue 25 item 3): say why, not "no task"
        raise CliError(f"R40: {case_id} is dormant (the person has not been located): no decision is made "
                       f"and no task {key} is open on it until a 'person located' message", Exit.REFUSED)
    raise CliError(f"no open task {key} on {case_id} that you may see", Exit.NOT_FOUND)


async def _visible_status(api: ApiClient, case_id: str) -> str | None:
    """The case's status when the caller may see the case (None otherwise: one answer for both)."""
    try:
        return (await api.case(case_id)).status
    except CliError:
        return None


def _hold(verb: str, already: str, task: str, json_out: bool, call: Callable[[ApiClient, int], Awaitable[Held]]) -> None:
    async def work(api: ApiClient) -> Held:
        return await call(api, (await find_task(api, task)).task_id)

    done = api_client.run(work)
    if json_out:
        return print_json(done)
    holder = f"; assignee {done.assignee}" if done.assignee else "; nobody has it claimed"
    said = verb if done.changed else f"{already}; nothing changed"
    console.print(f"Task {done.task_id} ({done.key} of {done.case_id}) {said}{holder}.", markup=False)


def claim(task: str = TASK_ARGUMENT, json_out: bool = JSON_OPTION) -> None:
    """Claim a task for yourself (one winner when two claim at once; yours already: exit 0)."""
    _hold("claimed", "is already yours", task, json_out, lambda api, task_id: api.claim(task_id))


def unclaim(task: str = TASK_ARGUMENT, json_out: bool = JSON_OPTION) -> None:
    """Give a claimed task back to its team (its assignee, or a senior caseworker)."""
    _hold("unclaimed", "was not claimed", task, json_out, lambda api, task_id: api.unclaim(task_id))


def assign(task: str = TASK_ARGUMENT,
           to: str = typer.Option(..., "--to", metavar="STAFF_ID", help="A member of the task's team who may do it."),
           json_out: bool = JSON_OPTION) -> None:
    """Assign a task to a member of its team."""
    _hold(f"assigned to {to}", f"is already {to}'s", task, json_out, lambda api, task_id: api.assign(task_id, to.strip()))


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
