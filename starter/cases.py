"""``casework cases`` (the case list) and ``casework show`` (one case, with the person's
data), through the API as who is signed in.

The list carries no personal data. ``show`` does, so it asks for a purpose (one the
policy gives your role) and a reason; the API records the read under your subject
before anything is returned (R60).
"""

from __future__ import annotations

from typing import Any, Optional

import typer
from rich.markup import escape

from access.policy import Purpose
from casework.rules import MAX_PURPOSE_CHARS
from starter.api_client import ACTOR_HELP
from starter.cli import app
from starter.exits import CliError, Exit
from starter.output import console, print_json, table, when, yes

PURPOSE_MAX = MAX_PURPOSE_CHARS  # R60: the CID refuses a longer one too
#: R60: the purposes the policy knows (docs/access.md: who has each).
PURPOSES = tuple(p.value for p in Purpose)


@app.command()
def cases(
    stage: Optional[str] = typer.Option(None, "--stage", help="A stage (e.g. C-located) or its letter C-F."),
    team: Optional[str] = typer.Option(None, "--team", help="The team the case is with."),
    owner: Optional[str] = typer.Option(None, "--owner", help="The case owner's staff ID."),
    overdue: bool = typer.Option(False, "--overdue", help="Only cases with an overdue task."),
    limit: int = typer.Option(50, "--limit", help="Cases per page (1-200)."),
    cursor: Optional[str] = typer.Option(None, "--cursor", help="The next page: the cursor the page before printed."),
    json_out: bool = typer.Option(False, "--json", help="Print the page as JSON."),
) -> None:
    """List the cases you may see, newest first (through the API; no personal data)."""
    from starter import api_client

    if not 1 <= limit <= 200:
        raise CliError("--limit is from 1 to 200", Exit.BAD_INPUT)
    exact = _one_stage(stage)
    found = api_client.run(lambda api: api.cases(stage=exact, team=team, owner=owner, overdue=overdue, limit=limit,
                                                 cursor=cursor))
    rows = found.get("cases", [])
    next_cursor = found.get("next_cursor")
    if json_out:
        print_json({"cases": rows, "next_cursor": next_cursor})
        return
    if not rows:
        console.print("No cases match.")
        return
    console.print(table(
        "Cases (newest first)",
        ["Case", "Stage", "Status", "Team", "Owner", "Open tasks", "Overdue", "Next due (UTC)", "Outcome"],
        ([r["case_id"], r["stage"], r["status"], r.get("team"), r.get("case_owner"), r.get("open_task_count"),
          yes(r.get("overdue")), _iso_when(r.get("next_due")) if r.get("next_due") else "", r.get("outcome")]
         for r in rows),
        ids=2,
    ))
    more = f"; next page: --cursor {next_cursor}" if next_cursor else ""
    console.print(f"{len(rows)} case(s){more}", markup=False, soft_wrap=True)


def _one_stage(text: str | None) -> str | None:
    """The API filters on one stage: a letter stands for its stage when it has only one."""
    from casework.case import Stage
    from starter import views

    wanted = views.stage_filter(text)
    if wanted is None or not wanted.endswith("%"):
        return wanted
    matches = [s.value for s in Stage if s.value.startswith(wanted[:-1])]
    if len(matches) != 1:
        raise CliError(f"stage letter {wanted[0]} has {len(matches)} stages ({', '.join(matches)}): give one", Exit.BAD_INPUT)
    return matches[0]


@app.command()
def show(
    case: str = typer.Argument(..., metavar="CASE", help="Case ID or ACRO reference."),
    purpose: Optional[str] = typer.Option(
        None, "--purpose", help=f"Why you read this person's data (R60), one of: {', '.join(PURPOSES)}; recorded."),
    reason: Optional[str] = typer.Option(None, "--reason", help="In your words, what for (recorded; no personal data)."),
    actor: Optional[str] = typer.Option(None, "--actor", hidden=True, help=ACTOR_HELP),
    json_out: bool = typer.Option(False, "--json", help="Print the case as JSON."),
) -> None:
    """Show one case: stage, tasks and the person's data, through the API.

    R60: personal data is used only for the purpose it was sought for, so the read needs
    --purpose (one your role has) and --reason, and is recorded under who is signed in.
    """
    from starter import api_client, views

    api_client.refuse_actor(actor)
    purpose = (purpose or "").strip().lower().replace("-", "_")
    reason = (reason or "").strip()
    if not purpose or not reason:
        raise CliError('R60: this shows personal data; say why with --purpose '
                       f'({"|".join(PURPOSES)}) and --reason "..." (the read is recorded)', Exit.BAD_INPUT)
    if purpose not in PURPOSES:
        raise CliError(f"--purpose '{purpose}' is not one of {', '.join(PURPOSES)} (R60)", Exit.BAD_INPUT)
    if len(reason) > PURPOSE_MAX:
        raise CliError(f"--reason is at most {PURPOSE_MAX} characters", Exit.BAD_INPUT)
    case_id = views.case_id_from(case)

    async def work(api: Any) -> dict[str, Any]:
        detail = await api.case(case_id)  # no personal data; 404 for a case you may not see
        personal = await api.personal_data(case_id, purpose, reason)  # R60: recorded under your subject
        return {"case": detail, "personal_data": personal}

    shown = api_client.run(work)
    from starter.tasks_cmd import legal_outcomes

    for task in shown["case"].get("open_tasks", []):
        task["legal_outcomes"] = legal_outcomes(task["kind"])
    shown["read"] = {"purpose": purpose, "reason": reason, "audit_event": shown["personal_data"].get("audit_event")}
    if json_out:
        print_json(shown)
    else:
        _render(shown)


def _render(shown: dict[str, Any]) -> None:
    c = shown["case"]
    console.print(f"[bold]Case {escape(c['case_id'])}[/bold] · stage {escape(c['stage'])} · {escape(c['status'])}")
    console.print(
        f"Team {c.get('team') or '-'} · owner {c.get('case_owner') or '-'} · overdue {yes(c.get('overdue')) or 'no'}"
        + (f" · next due {_iso_when(c['next_due'])} UTC" if c.get("next_due") else ""),
        markup=False,
    )
    if c.get("outcome"):
        console.print(("Outcome: " if c["status"] == "closed" else "Outcome so far: ") + str(c["outcome"]), markup=False)
    console.print(f"Opened {_iso_when(c['opened_at'])}" + (f" · closed {_iso_when(c['closed_at'])}" if c.get("closed_at") else ""),
                  markup=False)
    read = shown["read"]
    console.print(f"\n[bold]Personal data[/bold] (read for {escape(read['purpose'])}: {escape(read['reason'])}"
                  " — recorded under your name, R60)")
    data = shown["personal_data"]
    ref = data.get("referral")
    if data.get("purged_at"):
        console.print(f"  Purged by retention at {_iso_when(data['purged_at'])} UTC", markup=False)
    if ref:
        docs = ", ".join(f"{d['kind']} {d['issuing_country']} {d['number']}" for d in ref.get("identity_documents") or [])
        officer = ref.get("requesting_officer") or {}
        address = ref.get("last_known_address") or {}
        for label, value in [
            ("Name", ref.get("name")),
            ("Aliases", ", ".join(ref.get("aliases") or [])),
            ("Date of birth", ref.get("date_of_birth")),
            ("Nationalities", ", ".join(ref.get("nationalities") or [])),
            ("PNC ID", ref.get("pnc_id")),
            ("Identity documents", docs),
            ("Whereabouts at referral", _whereabouts(ref.get("whereabouts") or {})),
            ("Last known address", ", ".join([*address.get("lines", []), address.get("postcode") or ""]).strip(", ")),
            ("Requesting officer", ", ".join(v for v in (officer.get("name"), officer.get("force")) if v)),
            ("Reason for request", ref.get("reason_for_request")),
        ]:
            if value:
                console.print(f"  {label}: {value}", markup=False)
    if data.get("convictions"):
        console.print(table("Overseas convictions", ["Country", "Date", "Offence", "Category", "Sentence"],
                            ([v["country"], v["conviction_date"], v["offence"], v["category"], v["sentence"]]
                             for v in data["convictions"]), ids=2))
    else:
        console.print("  Overseas convictions: none registered (a disclosable certificate is needed, R03/R04)")
    tasks = c.get("open_tasks") or []
    console.print(table(
        "Open tasks", ["Task", "Key", "Title", "Team", "Assignee", "Due (UTC)", "Overdue", "Legal outcomes (--outcome, --detail)"],
        ([t["task_id"], t["task_key"], t["title"], t["team"], t.get("assignee"), _iso_when(t["due_at"]), yes(t["overdue"]),
          "; ".join(t["legal_outcomes"]["hints"]) or "(completed by an event)"] for t in tasks),
        ids=2,
    ) if tasks else "No open tasks.")


def _whereabouts(whereabouts: dict[str, Any]) -> str:
    """The referral's whereabouts, with the release date it gave (R42: the Stage 1 window's length)."""
    released = whereabouts.get("release_date")
    return str(whereabouts.get("status") or "") + (f", release expected {released} (R42)" if released else "")


def _iso_when(value: Any) -> str:
    from datetime import date, datetime

    if isinstance(value, str):
        value = datetime.fromisoformat(value) if "T" in value else date.fromisoformat(value)
    return when(value)
