"""Messages from other systems are signals: accepted in any stage, also before the case waits
for them, and a repeated event ID is applied once."""

from __future__ import annotations



from casework import rules
from casework.case import Stage
from tests.support import days, eventually, to_consideration


async def test_left_uk_before_the_nbtc_task_opens_closes_the_case_once_R10_R11(start):
    case = await start()
    await case.left_uk(actor="nbtc.system", event_id="nbtc-2001")  # the case has not reached Stage B yet
    await case.left_uk(actor="nbtc.system", event_id="nbtc-2001")  # the same message again
    assert await case.handle.result() == rules.OUTCOME_LEFT_UK

    row = await case.case_row()
    assert (row["status"], row["outcome"]) == ("closed", rules.OUTCOME_LEFT_UK)
    [nbtc] = await case.rows("SELECT outcome, completed_by, status FROM tasks WHERE case_id = $1 AND kind = 'nbtc_check'")
    assert (nbtc["outcome"], nbtc["completed_by"], nbtc["status"]) == ("left_uk", "nbtc.system", "done")
    received = await case.rows("SELECT actor, detail FROM audit_log WHERE case_id = $1 AND action = 'left the UK'")
    assert [(a["actor"], _without_hash(a["detail"])) for a in received] == [
        ("nbtc.system", {"event_id": "nbtc-2001", "kind": "left-uk"})]
    assert ("PNC Bureau", "ICD.5079") not in await case.messages()


async def test_located_before_the_case_asks_goes_to_stage_c_without_a_marker_R10_R21_R42(start, ts_env):
    """Sent as the case starts: its custody (in prison, release far off) is kept over the
    referral's "unknown", no PNC marker is added, and the 20-day window follows (R42)."""
    release = ((await ts_env.get_current_time()) + days(400)).date()
    case = await start()
    await case.located(actor="police.custody", event_id="custody-1", custody="in_prison", release_date=release)
    await case.task("allocate_case_owner")
    assert (await case.view()).stage is Stage.LOCATED
    nbtc = await case.rows("SELECT outcome, completed_by FROM tasks WHERE case_id = $1 AND kind = 'nbtc_check'")
    assert [(t["outcome"], t["completed_by"]) for t in nbtc] in ([], [("in_uk", "police.custody")])
    await case.complete("allocate_case_owner", "allocated", case_owner="co.smith")
    await case.task("offending_history_check")
    forms = [f for _, f in await case.messages()]
    assert "ICD.5079" not in forms and "ICD5080" not in forms  # no marker added, none to remove
    await to_consideration(case)
    view = await case.view()
    assert view.respond_by - view.notice_served_at == rules.LONG_WINDOW


async def test_located_while_nbtc_checks_resolves_the_nbtc_task_R10(start):
    case = await start()
    nbtc = await case.task("nbtc_check")
    await case.located(actor="police.custody", event_id="custody-2", custody="confirmed_address")
    await case.task("allocate_case_owner")
    [task] = await case.rows("SELECT outcome, completed_by FROM tasks WHERE case_id = $1 AND task_key = $2", nbtc)
    assert (task["outcome"], task["completed_by"]) == ("in_uk", "police.custody")
    assert "ICD.5079" not in [f for _, f in await case.messages()]


async def test_located_while_ice_is_tasked_resolves_the_ice_task_and_a_repeat_is_applied_once_R14_R16(start):
    case = await start()
    await case.complete("nbtc_check", "in_uk")
    ice = await case.task("ice_tasking")
    await case.located(actor="ice.system", event_id="ice-77", custody="detained")
    await case.located(actor="ice.system", event_id="ice-77", custody="confirmed_address")  # repeat: ignored
    await case.task("allocate_case_owner")
    [task] = await case.rows("SELECT outcome, completed_by FROM tasks WHERE case_id = $1 AND task_key = $2", ice)
    assert (task["outcome"], task["completed_by"]) == ("located", "ice.system")
    located = await case.rows("SELECT actor, detail FROM audit_log WHERE case_id = $1 AND action = 'person located'")
    assert [(a["actor"], _without_hash(a["detail"])) for a in located] == [
        ("ice.system", {"event_id": "ice-77", "kind": "located", "custody": "detained"})]

    # A later, different message in Stage C is recorded and changes nothing else.
    await case.located(actor="ice.system", event_id="ice-78")
    await eventually(case, "SELECT count(*) = 2 FROM audit_log WHERE case_id = $1 AND action = 'person located'")
    view = await case.view()
    assert view.stage is Stage.LOCATED and [t.kind for t in view.open_tasks] == ["allocate_case_owner"]


async def test_representations_before_any_notice_do_not_shorten_its_window_R43(start, ts_env):
    case = await start(whereabouts={"status": "confirmed_address"})
    await case.task("allocate_case_owner")
    await case.representations(actor="solicitor.brown", event_id="early-reps")
    await to_consideration(case)
    await ts_env.sleep(days(9))
    assert not any(t.kind == "consideration_decision" for t in (await case.view()).open_tasks)
    await case.representations(actor="solicitor.brown", event_id="early-reps")  # the same letter again: ignored
    await ts_env.sleep(days(2))
    await case.task("consideration_decision")
    [ended] = await case.rows("SELECT detail FROM audit_log WHERE case_id = $1 AND action = 'response window ended'")
    assert ended["detail"] == {"result": "no representations", "window_days": 10}
    assert (await case.audit_actions()).count("representations received") == 1


def _without_hash(detail: dict) -> dict:
    """An event's audit detail without the content hash a repeat is compared by (R16)."""
    assert len(detail.pop("content_sha256")) == 32 and detail.pop("delivery") >= 1
    return detail
