"""``casework audit`` (auditors): every case's decisions through ``GET /audit/decisions``,
oldest first, filtered by case, rule, actor and time (issue 20). Each decision is its
rule's sentence: no personal data."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Optional

import typer

from starter import api_client
from starter.output import Column, emit_page, when
from starter.views import CSV_OPTION, JSON_OPTION, LIMIT_MAX

DECISION_COLUMNS = (
    Column("id", "ID", id=True), Column("case_id", "Case", id=True), Column("decided_at", "When (UTC)", when),
    Column("rule", "Rule", id=True), Column("sentence", "Decision"), Column("actor", "By"),
)


def audit(
    case: Optional[str] = typer.Option(None, "--case", help="Only this case's decisions (its ID)."),
    rule: Optional[str] = typer.Option(None, "--rule", help="Only decisions under this rule, e.g. R42."),
    actor: Optional[str] = typer.Option(None, "--actor", help="Only decisions taken by this subject."),
    since: Optional[datetime] = typer.Option(None, "--since", help="Only decisions at or after this time (UTC)."),
    after: int = typer.Option(0, "--after", min=0, help="Only decisions after this ID (the page before's last)."),
    limit: int = typer.Option(100, "--limit", min=1, max=LIMIT_MAX, help="Decisions per page."),
    json_out: bool = JSON_OPTION,
    csv_out: bool = CSV_OPTION,
) -> None:
    """Read every case's decisions, oldest first (auditors; no personal data)."""
    page = api_client.run(lambda api: api.audit_decisions(case_id=case, rule=rule, actor=actor,
                                                          since=since.replace(tzinfo=timezone.utc).isoformat() if since else None,
                                                          after=after, limit=limit))
    emit_page(page, "Decisions (oldest first)", DECISION_COLUMNS, [d.model_dump() for d in page.decisions],
              what="decision(s)", none="No decisions match.", json_out=json_out, csv_out=csv_out,
              more=f"; next page: --after {page.next_after}" if len(page.decisions) == limit else "")
