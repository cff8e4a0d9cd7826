"""``casework show`` and ``casework cases`` say what the case and the CID say, without --json
(issue 12, defect 8), through the API as a senior caseworker: the release date the referral
gave (R42), the end of the Stage 1 response window as what is next due (R41-R43), in the
list and in the case; and the CID records one "stage entered" per stage entered.

The API's case carries no timeline and no Stage 1 service time (the API's database login
reads no audit log): the timeline's one entry per stage is the read model's, tested below.
"""

from __future__ import annotations

from datetime import datetime

from starter.output import when
from tests.cli_support import Casework, cw_api  # noqa: F401 - cw_api is a fixture
from tests.support import eventually, to_consideration

SENIOR = "scw.erin"  # senior-caseworker: sees every case, reads for deportation
REASON = "checking the response window"


async def test_show_and_cases_print_the_release_date_and_the_stage1_window_R41_R42_R43(cw_api: Casework, start, pool):
    case = await start(nationalities=["NG"], whereabouts={"status": "in_prison", "release_date": "2031-01-01"})
    await to_consideration(case)
    await eventually(case, "SELECT true FROM outbound_messages WHERE case_id = $1 AND message_key = 'stage1-notice'")
    body = (await case.row("SELECT body FROM outbound_messages WHERE case_id = $1 AND message_key = 'stage1-notice'"))["body"]
    respond_by = when(datetime.fromisoformat(body["respond_by"]))

    text, as_json, listing = await cw_api.each(
        ("show", case.id, "--purpose", "deportation", "--reason", REASON),
        ("show", case.id, "--purpose", "deportation", "--reason", REASON, "--json"),
        ("cases", "--stage", "E", "--limit", "200"),
        who=SENIOR,
    )
    for ran in (text, as_json, listing):
        assert ran.code == 0, str(ran)
    assert "Whereabouts at referral: in_prison, release expected 2031-01-01 (R42)" in text.out, text.out
    # Issue 20: show prints the decisions again, R42 with its sentence; the JSON has them too.
    assert "R42: 20 days to respond — serving a sentence; release falls after the window's end" in text.out, text.out
    assert "R41" in [d["rule"] for d in as_json.json()["decisions"]]
    # R42/R43: no task while the window runs; its end is what is next due.
    assert f"next due {respond_by} UTC" in text.out, text.out
    shown = as_json.json()
    assert shown["case"]["stage"] == "E-consideration" and shown["case"]["open_tasks"] == []
    assert when(datetime.fromisoformat(shown["case"]["next_due"])) == respond_by
    assert shown["personal_data"]["referral"]["whereabouts"]["release_date"] == "2031-01-01"
    [row] = [line for line in listing.out.splitlines() if case.id in line]
    assert respond_by in row and "E-consideration" in row, listing.out
    # Both reads recorded under the token's subject, with the reason given (R60).
    reads = await case.rows("SELECT actor, detail FROM audit_log WHERE case_id = $1 AND action = 'personal data read'")
    assert [(r["actor"], r["detail"]["purpose"], r["detail"]["reason"]) for r in reads] == [
        (SENIOR, "deportation", REASON)] * 2

    # The record itself: allocating the owner in Stage C is not a second entry into Stage C.
    logged = await case.rows("SELECT action, detail FROM audit_log WHERE case_id = $1 AND event_key LIKE 'stage-%'"
                             " AND detail->>'stage' = 'C-located' ORDER BY id")
    assert [(a["action"], a["detail"].get("updated")) for a in logged] == [
        ("stage entered", None), ("case owner allocated", ["case_owner"])]
    entered = await case.rows("SELECT detail->>'stage' AS stage FROM audit_log WHERE case_id = $1"
                              " AND action = 'stage entered' ORDER BY id")
    stages = [e["stage"] for e in entered]
    assert {"C-located", "D-detention", "E-consideration"} <= set(stages) and len(stages) == len(set(stages)), stages

