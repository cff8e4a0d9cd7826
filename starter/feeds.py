"""``casework feed RECIPIENT``: a recipient's outbound messages (``GET /feeds/{recipient}``),
oldest first, as who is signed in: the notices a case owner serves (R41/R46) on their own
cases, a system's feed whole. Reading changes nothing; the recipient acknowledges through
the API (docs/api.md, "Feeds")."""

from __future__ import annotations

from enum import Enum

import typer

from access.policy import FEED_SLUGS
from starter import api_client
from starter.output import Column, console, emit, print_json, when
from starter.views import CSV_OPTION, JSON_OPTION, LIMIT_MAX

#: The feeds, by the names their URLs give them; typer checks the argument against them.
FeedName = Enum("FeedName", {slug: slug for slug in FEED_SLUGS}, type=str)
MESSAGE_COLUMNS = (
    Column("message_id", "Message", id=True), Column("case_id", "Case", id=True), Column("form", "Form"),
    Column("sent_at", "Sent (UTC)", when), Column("acknowledged_by", "Acknowledged by"),
    Column("body", "Body", lambda body: "; ".join(f"{k}: {v}" for k, v in body.items())),
)


def feed(
    recipient: FeedName = typer.Argument(..., metavar="RECIPIENT", help="The feed (its name in /feeds/RECIPIENT)."),
    after: int = typer.Option(0, "--after", min=0, help="Only messages after this message ID (the page before's last)."),
    acknowledged: bool = typer.Option(False, "--acknowledged", help="Acknowledged messages too."),
    limit: int = typer.Option(50, "--limit", min=1, max=LIMIT_MAX, help="Messages per page."),
    json_out: bool = JSON_OPTION,
    csv_out: bool = CSV_OPTION,
) -> None:
    """List a recipient's outbound messages, oldest first (no personal data)."""
    page = api_client.run(lambda api: api.feed(recipient.value, after=after, include_acknowledged=acknowledged,
                                               limit=limit))
    if json_out:
        return print_json(page)
    rows = [m.model_dump() for m in page.messages]
    if csv_out or rows:
        emit(f"Feed {page.recipient} (oldest first)", MESSAGE_COLUMNS, rows, csv_out=csv_out)
    if not csv_out:
        more = f"; more with --after {page.next_after}" if page.more else ""
        console.print(f"{len(rows)} message(s){more}" if rows else "No messages.", markup=False, soft_wrap=True)
