"""``casework cases`` (the case list) and ``casework show`` (one case), through the API as
who is signed in.

Neither shows personal data unless asked: ``show --purpose P --reason "..."`` adds the
person's data, and the API records that read under your subject first (R60).
"""

from __future__ import annotations

from typing import Optional

import typer
from pydantic import ValidationError
from rich.markup import escape

from access.policy import Purpose
from api.schemas import CaseDetail, DecisionPage, PersonalData, PersonalDataRequest, TimelinePage
from starter import api_client
from starter.exits import CliError, Exit
from starter.output import Column, console, emit_page, listing, print_json, when
from starter.views import (CASE_ARGUMENT, CASE_COLUMNS, CSV_OPTION, JSON_OPTION, LIMIT_MAX, TASK_COLUMNS, StageChoice,
                           case_id_from, one_stage, summarise)

def cases(
    stage: Optional[StageChoice] = typer.Option(None, "--stage", case_sensitive=False,
                                                help="A stage, or the letter of a stage that is alone in its part (C-F)."),
    team: Optional[str] = typer.Option(None, "--team", help="The team the case is with."),
    owner: Optional[str] = typer.Option(None, "--owner", help="The case owner's staff ID."),
    overdue: bool = typer.Option(False, "--overdue", help="Only cases with an overdue task."),
    limit: int = typer.Option(50, "--limit", min=1, max=LIMIT_MAX, help="Cases per page."),
    cursor: Optional[str] = typer.Option(None, "--cursor", help="The next page: the cursor the page before printed."),
    json_out: bool = JSON_OPTION,
    csv_out: bool = CSV_OPTION,
) -> None:
    """List the cases you may see, newest first (no personal data)."""
    page = api_client.run(lambda api: api.cases(stage=one_stage(stage), team=team, owner=owner, overdue=overdue,
                                                limit=limit, cursor=cursor))
    emit_page(page, "Cases (newest first)", CASE_COLUMNS, [c.model_dump() for c in page.cases],
              what="case(s)", none="No cases match.", json_out=json_out, csv_out=csv_out,
              more=f"; next page: --cursor {page.next_cursor}" if page.next_cursor else "")


def show(
    case: str = CASE_ARGUMENT,
    purpose: Optional[Purpose] = typer.Option(
        None, "--purpose", case_sensitive=False, help="With --reason: show the person's data too, for this purpose "
                                                      "(R60; one your role has). The read is recorded."),
    reason: Optional[str] = typer.Option(None, "--reason", help="In your words, what for (recorded; no personal data)."),
    json_out: bool = JSON_OPTION,
) -> None:
    """Show one case: stage, owner, open tasks; with --purpose and --reason, the person's data too (R60)."""
    if (purpose is None) != (reason is None):
        raise CliError('R60: personal data is shown only for a stated purpose: give both --purpose and --reason "..."'
                       " (the read is recorded), or neither for the case without it", Exit.BAD_INPUT)
    asked = None
    if purpose is not None:
        try:
            asked = PersonalDataRequest(purpose=purpose, reason=reason or "")
        except ValidationError as err:
            raise CliError(f"--reason: {err.errors()[0]['msg']} (R60)", Exit.BAD_INPUT) from None
    case_id = case_id_from(case)

    async def work(api: api_client.ApiClient) -> tuple[CaseDetail, PersonalData | None, DecisionPage, TimelinePage]:
        detail = await api.case(case_id)  # no personal data; 404 for a case you may not see
        decided = await api.decisions(case_id)  # issue 20: why, rule by rule (no personal data either)
        trail = await api.timeline(case_id)  # issue 20: what happened, by whom
        personal = await api.personal_data(case_id, asked.purpose.value, asked.reason) if asked else None
        return detail, personal, decided, trail  # R60: the read recorded under your subject

    detail, personal, decided, trail = api_client.run(work)
    if json_out:
        read = {"purpose": asked.purpose, "reason": asked.reason, "audit_event": personal.audit_event} if asked and personal else None
        return print_json({"case": detail, "personal_data": personal, "read": read, "decisions": decided.decisions,
                           "timeline": trail.entries})
    summarise(detail)
    if asked and personal:
        _personal(personal, asked)
    console.print(listing("Open tasks", TASK_COLUMNS[:1] + TASK_COLUMNS[2:], [t.model_dump() for t in detail.open_tasks])
                  if detail.open_tasks else "No open tasks.")
    if detail.open_tasks:
        console.print("What a task needs: casework task TASK", markup=False)
    _decisions(decided)
    _timeline(trail)


def _timeline(trail: TimelinePage) -> None:
    """Issue 20: the case's audit rows and decisions in time order, each with who."""
    if not trail.entries:
        return
    console.print("\n[bold]Timeline[/bold] (oldest first)")
    for e in trail.entries:
        what = e.sentence if e.kind == "decision" else " ".join(
            str(v) for v in (e.action, e.stage, e.task_key, e.outcome, e.rule) if v)
        console.print(f"  {when(e.at)}  {what}  [{e.actor}]", markup=False, soft_wrap=True)
    if trail.next_cursor:
        console.print("  … more in GET /cases/{id}/timeline", markup=False)


def _decisions(decided: DecisionPage) -> None:
    """Issue 20: each decision's sentence, when and by whom, in the order taken."""
    if not decided.decisions:
        return
    console.print("\n[bold]Decisions[/bold] (rule: what was decided — why)")
    for d in decided.decisions:
        console.print(f"  {when(d.decided_at)}  {d.sentence}  [{d.actor}]", markup=False, soft_wrap=True)


def _personal(data: PersonalData, asked: PersonalDataRequest) -> None:
    console.print(f"\n[bold]Personal data[/bold] (read for {escape(asked.purpose.value)}: {escape(asked.reason)}"
                  " — recorded under your name, R60)")
    if data.purged_at:
        console.print(f"  Purged by retention at {when(data.purged_at)} UTC", markup=False)
    ref = data.referral or {}
    docs = ", ".join(f"{d['kind']} {d['issuing_country']} {d['number']}" for d in ref.get("identity_documents") or [])
    officer = ref.get("requesting_officer") or {}
    address = ref.get("last_known_address") or {}
    whereabouts = ref.get("whereabouts") or {}
    released = whereabouts.get("release_date")  # R42: the Stage 1 window's length
    for label, value in [
        ("Name", ref.get("name")),
        ("Aliases", ", ".join(ref.get("aliases") or [])),
        ("Date of birth", ref.get("date_of_birth")),
        ("Nationalities", ", ".join(ref.get("nationalities") or [])),
        ("PNC ID", ref.get("pnc_id")),
        ("Identity documents", docs),
        ("Whereabouts at referral", str(whereabouts.get("status") or "") + (f", release expected {released} (R42)" if released else "")),
        ("Last known address", ", ".join([*address.get("lines", []), address.get("postcode") or ""]).strip(", ")),
        ("Requesting officer", ", ".join(v for v in (officer.get("name"), officer.get("force")) if v)),
        ("Reason for request", ref.get("reason_for_request")),
    ]:
        if value:
            console.print(f"  {label}: {value}", markup=False)
    if data.convictions:
        console.print(listing("Overseas convictions", [
            Column("country", "Country", id=True), Column("conviction_date", "Date", id=True), Column("offence", "Offence"),
            Column("category", "Category"), Column("sentence", "Sentence")], data.convictions))
    else:
        console.print("  Overseas convictions: none registered (a disclosable certificate is needed, R03/R04)")
