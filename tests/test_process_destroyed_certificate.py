"""R03/R61: nothing derived from a non-disclosable certificate survives its destruction, in
the workflow or the CID, so it is never acted on (issue 12, defect 3)."""

from __future__ import annotations

from casework import rules
from casework.referral import DISCLOSABLE_PURPOSE
from tests.support import eventually

POLICE_HOMICIDE = {
    "request_purpose": "Request for criminal proceedings", "issued_on": "2020-01-02",
    "convictions": [{"country": "PL", "offence": "Murder", "category": "homicide", "conviction_date": "2010-05-06"}],
}
IMMIGRATION_ROBBERY = {
    "request_purpose": DISCLOSABLE_PURPOSE,
    "convictions": [{"country": "PL", "offence": "Robbery", "category": "robbery", "conviction_date": "2010-05-06"}],
}


async def test_a_destroyed_certificates_most_serious_offence_opens_no_exclusion_task_R03_R12_R61(start):
    case = await start(certificate=POLICE_HOMICIDE)  # R61: not disclosable; homicide is "most serious" (R12)
    await case.task("await_certificate")
    await eventually(case, "SELECT destroyed_at IS NOT NULL FROM certificates WHERE case_id = $1 AND seq = 1")
    # Its content is gone, and so is everything derived from it.
    first = await case.row("SELECT most_serious, issued_on, content, request_purpose FROM certificates WHERE case_id = $1 AND seq = 1")
    assert dict(first) == {"most_serious": False, "issued_on": None, "content": None, "request_purpose": None}
    assert (await case.case_row())["most_serious"] is False

    await case.certificate(IMMIGRATION_ROBBERY)  # disclosable, and robbery is not most serious
    await case.complete("nbtc_check", "left_uk", actor="nbtc.officer")  # R11
    assert await case.handle.result() == rules.OUTCOME_LEFT_UK
    assert [t["kind"] for t in await case.tasks() if t["kind"] == "exclusion_consideration"] == []  # R12: not acted on
    assert (await case.case_row())["most_serious"] is False
    rows = await case.rows("SELECT seq, disclosable, most_serious FROM certificates WHERE case_id = $1 ORDER BY seq")
    assert [tuple(r) for r in rows] == [(1, False, False), (2, True, False)]


async def test_a_later_non_disclosable_certificate_keeps_nothing_either_R03_R61(start):
    case = await start(certificate=POLICE_HOMICIDE)
    await case.task("await_certificate")
    await case.certificate(POLICE_HOMICIDE)  # certificate 2: non-disclosable again
    await eventually(case, "SELECT destroyed_at IS NOT NULL FROM certificates WHERE case_id = $1 AND seq = 2")
    second = await case.row("SELECT most_serious, issued_on FROM certificates WHERE case_id = $1 AND seq = 2")
    assert (second["most_serious"], second["issued_on"]) == (False, None)
    assert (await case.case_row())["most_serious"] is False
