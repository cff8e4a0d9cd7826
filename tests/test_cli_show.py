"""``casework show`` and ``casework cases`` say what the case and the CID say, without --json
(issue 12, defect 8): the release date (R42), the Stage 1 notice's service and response
times (R41-R43), and one "stage entered" per stage entered."""

from __future__ import annotations

from datetime import datetime

from starter.output import when
from tests.cli_support import Casework, cw  # noqa: F401 - cw is a fixture
from tests.support import Case, eventually, referral, to_consideration

PURPOSE = "checking the response window"


async def test_show_and_cases_print_the_release_date_and_stage1_times_and_each_stage_once_R41_R42_R43(
    cw: Casework, dev_env, pool, task_queue
):
    ref = referral(nationalities=["NG"], whereabouts={"status": "in_prison", "release_date": "2031-01-01"})
    case = await Case.start(dev_env.client, pool, task_queue, ref)
    try:
        await to_consideration(case)
        await eventually(case, "SELECT true FROM outbound_messages WHERE case_id = $1 AND message_key = 'stage1-notice'")
        body = (await case.row("SELECT body FROM outbound_messages WHERE case_id = $1 AND message_key = 'stage1-notice'"))["body"]
        served, respond_by = (when(datetime.fromisoformat(body[k])) for k in ("served_at", "respond_by"))

        text, as_json, listing = await cw.each(
            ("show", case.id, "--purpose", PURPOSE),
            ("show", case.id, "--purpose", PURPOSE, "--json"),
            ("cases", "--stage", "E", "--page-size", "500"),
        )
        for ran in (text, as_json, listing):
            assert ran.code == 0, str(ran)
        assert "Expected release date: 2031-01-01 (R42)" in text.out, text.out
        # R42: released long after the window, so 20 days.
        assert f"Stage 1 notice served {served} UTC · respond by {respond_by} UTC (20 days) (R41-R43)" in text.out, text.out
        [row] = [line for line in listing.out.splitlines() if case.id in line]
        assert served in row and respond_by in row, listing.out

        # The timeline: allocating the owner in Stage C is not a second entry into Stage C.
        timeline = as_json.json()["timeline"]
        entered = [e["detail"]["stage"] for e in timeline if e["action"] == "stage entered"]
        assert {"C-located", "D-detention", "E-consideration"} <= set(entered), entered
        assert len(entered) == len(set(entered)), entered  # each stage once
        assert "case owner allocated" in [e["action"] for e in timeline]  # shown as what it was
        lines = [line for line in text.out.splitlines() if "stage entered" in line and "stage=C-located" in line]
        assert len(lines) == 1, text.out
        # The record itself says so: the allocation is named as such, with what changed.
        logged = await case.rows("SELECT action, detail FROM audit_log WHERE case_id = $1 AND event_key LIKE 'stage-%'"
                                 " AND detail->>'stage' = 'C-located' ORDER BY id")
        assert [(a["action"], a["detail"].get("updated")) for a in logged] == [
            ("stage entered", None), ("case owner allocated", ["case_owner"])]
    finally:
        await case.handle.terminate(reason="test finished")


def test_an_audit_log_written_before_the_fix_shows_each_stage_once() -> None:
    """Audit logs are append-only: entries older code wrote twice for one stage are shown once."""
    from cid.read_model import one_entry_per_stage

    log = [{"action": "stage entered", "detail": {"stage": "C-located"}},
           {"action": "task opened", "detail": {}},
           {"action": "stage entered", "detail": {"stage": "C-located"}},  # the owner allocated
           {"action": "stage entered", "detail": {"stage": "D-detention"}},
           {"action": "stage entered", "detail": {"stage": "C-located"}}]  # a real return is kept
    assert [(e["action"], e["detail"].get("stage")) for e in one_entry_per_stage(log)] == [
        ("stage entered", "C-located"), ("task opened", None), ("case updated", None),
        ("stage entered", "D-detention"), ("stage entered", "C-located")]
