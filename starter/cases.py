"""``casework cases`` (the case list, from the CID) and ``casework show`` (one case in full).

The list carries no personal data. ``show`` does, so it asks for a purpose and an actor
and records the read in the audit log before anything is printed (R60).
"""

from __future__ import annotations

import asyncio
import re
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Optional

import typer
from rich.markup import escape

from casework import config, keys
from starter.cli import app, err_console
from starter.exits import CliError, Exit
from starter.output import console, print_json, table, when, yes

if TYPE_CHECKING:
    from cid.read_model import CasePage

PURPOSE_MAX = config.MAX_PURPOSE_CHARS  # R60: the CID refuses a longer one too
LIVE_QUERY_TIMEOUT = timedelta(seconds=5)


@app.command()
def cases(
    stage: Optional[str] = typer.Option(None, "--stage", help="A stage (e.g. C-located) or its letter A-F."),
    team: Optional[str] = typer.Option(None, "--team", help="The team the case is with."),
    owner: Optional[str] = typer.Option(None, "--owner", help="The case owner's staff ID."),
    overdue: bool = typer.Option(False, "--overdue", help="Only cases with an overdue task."),
    page: int = typer.Option(1, "--page", help="Page number, from 1."),
    page_size: int = typer.Option(50, "--page-size", help="Cases per page (1-500)."),
    json_out: bool = typer.Option(False, "--json", help="Print the page as JSON."),
) -> None:
    """List cases, newest first (from the CID; no personal data)."""
    from starter import views

    if page < 1 or not 1 <= page_size <= 500:
        raise CliError("--page is from 1, --page-size from 1 to 500", Exit.BAD_INPUT)
    stage_like = views.stage_filter(stage)
    found = asyncio.run(_cases(stage_like, team, owner, overdue, page, page_size))
    rows = [
        {"case_id": r["id"], "acro_reference": r["acro_reference"], "stage": r["stage"], "status": r["status"],
         "team": r["team"], "case_owner": r["case_owner"], "overdue": r["overdue"], "next_due": r["next_due"],
         "outcome": r["outcome"], "opened_at": r["opened_at"],
         "notice_served_at": r["notice_served_at"], keys.RESPOND_BY: r[keys.RESPOND_BY]}
        for r in found.rows
    ]
    pages = max(1, -(-found.total // page_size))
    if json_out:
        print_json({"page": page, "page_size": page_size, "pages": pages, "total": found.total, "cases": rows})
        return
    if not rows:
        console.print(f"No cases on page {page} ({found.total} match).")
        return
    console.print(table(
        "Cases (newest first)",
        ["Case", "ACRO ref", "Stage", "Status", "Team", "Owner", "Overdue", "Next due (UTC)",
         "Stage 1 served (UTC)", "Respond by (UTC)", "Outcome"],
        ([r["case_id"], r["acro_reference"], r["stage"], r["status"], r["team"], r["case_owner"], yes(r["overdue"]),
          when(r["next_due"]), when(r["notice_served_at"]), when(r[keys.RESPOND_BY]), r["outcome"]] for r in rows),
        ids=3,
    ))
    console.print(f"Page {page} of {pages} · {found.total} case(s)")


async def _cases(stage: str | None, team: str | None, owner: str | None, overdue: bool, page: int, page_size: int) -> "CasePage":
    from cid import read_model
    from starter import context
    from starter.failures import translated

    with translated():
        pool = await context.open_pool()
        try:
            async with pool.acquire() as conn:
                return await read_model.list_cases(conn, stage=stage, team=team, owner=owner, overdue=overdue,
                                                   page=page, page_size=page_size)
        finally:
            await pool.close()


@app.command()
def show(
    case: str = typer.Argument(..., metavar="CASE", help="Case ID or ACRO reference."),
    purpose: Optional[str] = typer.Option(None, "--purpose", help="Why you need this person's data (R60); recorded."),
    actor: Optional[str] = typer.Option(None, "--actor", help="Who is reading (or CASEWORK_ACTOR)."),
    json_out: bool = typer.Option(False, "--json", help="Print the case as JSON."),
) -> None:
    """Show one case: stage, what it waits on, tasks, messages, timeline and the person's data.

    R60: personal data is used only for the purpose it was sought for, so the read needs
    --purpose and an actor, and is recorded in the case's audit log.
    """
    from starter import context, views

    purpose = (purpose or "").strip()
    if not purpose:
        raise CliError('R60: this shows personal data; say why with --purpose "..." (the read is recorded)', Exit.BAD_INPUT)
    if len(purpose) > PURPOSE_MAX:
        raise CliError(f"--purpose is at most {PURPOSE_MAX} characters", Exit.BAD_INPUT)
    who = context.actor(actor)
    case_id = views.case_id_from(case)
    shown = asyncio.run(_show(case_id, who, purpose))
    if json_out:
        print_json(shown)
    else:
        _render(shown)


async def _show(case_id: str, who: str, purpose: str) -> dict[str, Any]:
    from cid import read_model
    from starter import context
    from starter.failures import translated

    with translated(case_id=case_id):
        pool = await context.open_pool()
        try:
            async with pool.acquire() as conn:
                status = await read_model.case_status(conn, case_id)
                if status is None:
                    raise CliError(f"no case {case_id}", Exit.NOT_FOUND)
                if status == "submitted":
                    # Held at intake, not yet in the CID proper: nothing personal is shown.
                    return {"case_id": case_id, "status": "submitted",
                            "waiting_on": "the worker to take the referral into the CID"}
                shown = await read_model.case_file(conn, case_id, who, purpose)
                read_key = shown["read_audit_event"] if shown else None
        finally:
            await pool.close()
    assert shown is not None
    shown["read"] = {"actor": who, "purpose": purpose, "audit_event": read_key}
    shown["live"] = None if status == "closed" else await _live_view(case_id)
    shown["waiting"] = _waiting(shown)
    from starter.tasks_cmd import legal_outcomes

    for task in shown["open_tasks"]:
        task["legal_outcomes"] = legal_outcomes(task["kind"])
    return shown


async def _live_view(case_id: str) -> dict[str, Any]:
    """The workflow's own account of the case (its query); the CID stands in when it cannot answer."""
    from starter import context
    from workflows.client import CaseClient

    try:
        client = await context.open_client()
        view = await CaseClient(client).view(case_id, rpc_timeout=LIVE_QUERY_TIMEOUT)
    except Exception as err:  # any failure: show the CID record and say why the live part is missing
        reason = str(err).splitlines()[0] if str(err) else type(err).__name__
        return {"available": False, "reason": reason[:200]}
    return {"available": True, **view.model_dump(mode="json")}


def _waiting(shown: dict[str, Any]) -> dict[str, Any]:
    from casework import keys

    case = shown["case"]
    live = shown["live"]
    if case["status"] == "closed":
        return {"on": None, "until": None, "source": "CID", "text": f"nothing: closed ({case['outcome']})"}
    if live and live.get("available"):
        until = None
        if live.get("waiting_on", "") and str(live["waiting_on"]).startswith("representations"):
            until = live.get(keys.RESPOND_BY)  # the view names the window's end as the notice does
        elif live.get("open_tasks"):
            until = min(t["due_at"] for t in live["open_tasks"])
        return {"on": live.get("waiting_on"), "until": until, "source": "workflow"}
    if case["status"] == "dormant":
        return {"on": "a 'person located' message (R16)", "until": None, "source": "CID"}
    tasks = shown["open_tasks"]
    if tasks:
        return {"on": f"{tasks[0]['title']} – {tasks[0]['team']}", "until": tasks[0]["due_at"], "source": "CID"}
    return {"on": None, "until": None, "source": "CID"}


def _render(shown: dict[str, Any]) -> None:
    if shown.get("status") == "submitted":
        console.print(f"{shown['case_id']}: submitted; waiting on {shown['waiting_on']}.")
        return
    c = shown["case"]
    console.print(f"[bold]Case {c['id']}[/bold] · ACRO {c['acro_reference']} · stage {c['stage']} · {c['status']}")
    console.print(
        f"Team {c['team'] or '-'} · owner {c['case_owner'] or '-'} · EEA {yes(c['eea']) or 'no'}"
        f" · disclosable {yes(c['disclosable']) or 'no'} · custody {c['custody'] or '-'}"
        f" · overdue {yes(c['overdue']) or 'no'}",
        markup=False,
    )
    if shown.get("release_date"):
        console.print(f"Expected release date: {_iso_when(shown['release_date'])} (R42)", markup=False)
    if c["detention_power"]:
        console.print(f"Detention power: {c['detention_power']} (R31/R32)", markup=False)
    notice = shown.get("stage1_notice") or {}
    if notice.get("served_at"):
        days = f" ({notice['window_days']} days)" if notice.get("window_days") else ""
        console.print(f"Stage 1 notice served {_iso_when(notice['served_at'])} UTC · respond by "
                      f"{_iso_when(notice[keys.RESPOND_BY])} UTC{days} (R41-R43)", markup=False)
    waiting = shown["waiting"]
    if waiting.get("text"):
        console.print(f"Waiting on: {waiting['text']}", markup=False)
    elif waiting["on"]:
        until = f", until {_iso_when(waiting['until'])} UTC" if waiting["until"] else ""
        console.print(f"Waiting on: {waiting['on']}{until} (from the {waiting['source']})", markup=False)
    live = shown["live"]
    if live is not None and not live.get("available"):
        err_console.print(f"casework: live state unavailable ({live['reason']}); showing the CID record", markup=False, soft_wrap=True)
    if c["outcome"] and c["status"] != "closed":
        console.print(f"Outcome so far: {c['outcome']}", markup=False)
    console.print(
        f"Opened {when(c['opened_at'])}" + (f" · closed {when(c['closed_at'])}" if c["closed_at"] else "")
        + (f" · paper file {c['paper_file']}" if c["paper_file"] else ""),
        markup=False,
    )
    read = shown["read"]
    console.print(f"\n[bold]Personal data[/bold] (read by {escape(read['actor'])} for: {escape(read['purpose'])}"
                  " — recorded, R60)")
    ref = shown["referral"]
    if ref:
        docs = ", ".join(f"{d['kind']} {d['issuing_country']} {d['number']}" for d in ref["identity_documents"])
        officer = ref["requesting_officer"] or {}
        address = ref["last_known_address"] or {}
        for label, value in [
            ("Name", ref["name"]),
            ("Aliases", ", ".join(ref["aliases"])),
            ("Date of birth", when(ref["date_of_birth"])),
            ("Nationalities", ", ".join(ref["nationalities"])),
            ("PNC ID", ref["pnc_id"]),
            ("Identity documents", docs),
            ("Whereabouts at referral", (ref["whereabouts"] or {}).get("status")),
            ("Last known address", ", ".join([*address.get("lines", []), address.get("postcode") or ""]).strip(", ")),
            ("Requesting officer", ", ".join(v for v in (officer.get("name"), officer.get("force")) if v)),
            ("Reason for request", ref["reason_for_request"]),
        ]:
            if value:
                console.print(f"  {label}: {value}", markup=False)
    if shown["convictions"]:
        console.print(table("Overseas convictions", ["Country", "Date", "Offence", "Category", "Sentence"],
                            ([v["country"], when(v["conviction_date"]), v["offence"], v["category"], v["sentence"]]
                             for v in shown["convictions"]), ids=2))
    else:
        console.print("  Overseas convictions: none registered (a disclosable certificate is needed, R03/R04)")
    console.print(table(
        "Open tasks", ["Task", "Key", "Title", "Team", "Due (UTC)", "Overdue", "Legal outcomes (--outcome, --detail)"],
        ([t["id"], t["task_key"], t["title"], t["team"], when(t["due_at"]), yes(t["overdue"]),
          "; ".join(t["legal_outcomes"]["hints"]) or "(completed by an event)"] for t in shown["open_tasks"]),
        ids=2,
    ) if shown["open_tasks"] else "No open tasks.")
    if shown["messages"]:
        console.print(table("Messages sent", ["Sent (UTC)", "To", "Form"],
                            ([when(m["sent_at"]), m["recipient"], m["form"]] for m in shown["messages"])))
    if shown["notes"]:
        console.print(table("Notes", ["When (UTC)", "Note"], ([when(n["occurred_at"]), n["text"]] for n in shown["notes"])))
    console.print(table("Timeline", ["When (UTC)", "Who", "What", "Detail"],
                        ([when(e["occurred_at"]), e["actor"], e["action"], _detail(e["detail"])] for e in shown["timeline"])))


def _detail(detail: dict[str, Any] | None) -> str:
    return " ".join(f"{k}={_short(v)}" for k, v in (detail or {}).items())


def _short(value: Any) -> str:
    """Timestamps in a detail read like the rest of the screen (UTC, to the minute)."""
    if isinstance(value, str) and re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d", value):
        return _iso_when(value)
    return str(value)


def _iso_when(value: Any) -> str:
    from datetime import datetime

    from datetime import date

    if isinstance(value, str):
        value = datetime.fromisoformat(value) if "T" in value else date.fromisoformat(value)
    return when(value)
