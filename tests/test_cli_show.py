"""``casework show`` and ``casework cases`` say what the case and the CID say, without --json
(issue 12, defect 8), through the API as a senior caseworker: the release date the referral
gave (R42), the end of the Stage 1 response window as what is next due (R41-R43), in the
list and in the case; and the CID records one "stage entered" per stage entered.

The API's case carries no timeline and no Stage 1 service time (the API's database login
reads no audit log): the timeline's one entry per stage is the read model's, tested below.
"""

from __future__ import annotations

from datetime import datetime

from starter.exits import Exit
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
    # ... then the timeline (GET /cases/{id}/timeline): audit rows and decisions, each with who.
    timeline = text.out[text.out.index("Timeline (oldest first)"):]
    assert "stage entered E-consideration" in timeline and "R42: 20 days to respond" in timeline, timeline
    entries = as_json.json()["timeline"]
    assert {e["kind"] for e in entries} == {"audit", "decision"} and all(e["actor"] for e in entries)
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



async def test_audit_lists_decisions_by_case_and_rule_for_auditors_only(cw_api: Casework, start) -> None:
    """Issue 20: ``casework audit`` reads GET /audit/decisions (auditors), as a listing, CSV or JSON."""
    case = await start(name="Ilse Marquardt", nationalities=["NG"])
    await eventually(case, "SELECT true FROM case_decisions WHERE case_id = $1 AND rule = 'R06'")
    text, as_csv, as_json, by_rule = await cw_api.each(
        ("audit", "--case", case.id, "--limit", "200"),
        ("audit", "--case", case.id, "--csv"),
        ("audit", "--case", case.id, "--rule", "R06", "--json"),
        ("audit", "--rule", "R06", "--since", "2000-01-01T00:00:00", "--limit", "200", "--json"), who="audit.jo")
    for ran in (text, as_csv, as_json, by_rule):
        assert ran.code == 0, str(ran)
    assert "R06: " in text.out and "Marquardt" not in text.out + as_csv.out + as_json.out, text.out
    assert as_csv.out.splitlines()[0].startswith("id,case_id,decided_at,rule,sentence,actor"), as_csv.out
    [r06] = as_json.json()["decisions"]
    assert (r06["case_id"], r06["rule"]) == (case.id, "R06") and r06["sentence"].startswith("R06: ")
    assert case.id in {d["case_id"] for d in by_rule.json()["decisions"]}
    denied = await cw_api("audit", "--case", case.id, who=SENIOR)  # not an auditor: refused by the policy
    assert denied.code == Exit.NOT_ALLOWED and "read_audit" in denied.one_error_line(), str(denied)
