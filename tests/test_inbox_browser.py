"""The web inbox in a real browser (issue 21): Debian's Chromium driven by Playwright
(never ``playwright install``), on the real stack of tests/api_support.py (development
issuer, API service with the inbox, worker on the time-skipping server, PostgreSQL).

One browser for the module; each person signs in, in a context of their own, through the
issuer's sign-in page. axe-core (npm, pinned in package-lock.json) is evaluated in the
page. Screenshots of the main pages are written to docs/inbox/ (docs/inbox.md).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from casework.settings import ProcessSettings
from tests.api_support import ApiStack
from tests.support import Case, referral, running_worker, through_stage_c
from tests.test_ops_ui import BROWSER_ARGS, _browser_or_skip

ROOT = Path(__file__).resolve().parent.parent
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
SHOTS = ROOT / "docs" / "inbox"
#: The ICE tasking and the police contact fall due at once on this module's own worker: the
#: police contact escalates to a senior caseworker (R28's inputs, taken over when overdue).
FAST = ProcessSettings(deadline_days={"police_contact": 0})


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Any]:
    chromium = _browser_or_skip()
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=chromium, args=BROWSER_ARGS, headless=True)
        yield launched
        await launched.close()


@pytest.fixture(scope="module")
async def fast_queue(ts_env, worker_pool: asyncpg.Pool) -> AsyncIterator[str]:
    name = f"inbox-fast-{uuid.uuid4().hex[:8]}"
    async with running_worker(ts_env.client, worker_pool, name, FAST):
        yield name


class Person:
    """A person at their browser: a context of their own (cookies), every URL it asked for."""

    def __init__(self, api: ApiStack, context: Any, page: Any, name: str):
        self.api, self.context, self.page, self.name = api, context, page, name
        self.urls: list[str] = []
        context.on("request", lambda request: self.urls.append(request.url))

    async def go(self, path: str) -> Any:
        return await self.page.goto(self.api.url + path, wait_until="load")

    async def complete(self, task_id: int, outcome: str, **fields: str) -> None:
        """Open the task from the team's queue and complete it: the outcome's radio, then its
        fields (``yes``/``no`` for a yes-or-no question)."""
        await self.go(f"/inbox/tasks/{task_id}")
        await self.page.check(f"#outcome-{outcome}")
        for name, value in fields.items():
            field = f"#{outcome}-{name}"
            if value in ("yes", "no"):
                await self.page.check(field if value == "yes" else f"{field}-2")
            else:
                await self.page.fill(field, value)
        await self.page.click("#complete")
        await self.page.wait_for_load_state("load")

    async def axe(self) -> list[dict[str, Any]]:
        """axe-core's serious and critical violations on the current page (WCAG 2.2 AA rules)."""
        await self.page.evaluate(AXE.read_text(encoding="utf-8"))
        result = await self.page.evaluate(
            "async () => (await axe.run(document, {runOnly: {type: 'tag', values: "
            "['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice']}})).violations"
            ".map(v => ({id: v.id, impact: v.impact, nodes: v.nodes.map(n => n.target.join(' '))}))")
        return [v for v in result if v["impact"] in ("serious", "critical")]

    async def sign_out(self) -> None:
        await self.page.click("#sign-out")
        await self.page.wait_for_load_state("load")


async def signed_in(browser: Any, api: ApiStack, user: str) -> Person:
    """A new context whose person signs in through the issuer's sign-in page."""
    context = await browser.new_context(viewport={"width": 1280, "height": 1000})
    page = await context.new_page()
    person = Person(api, context, page, user)
    await person.go("/inbox/tasks")
    assert page.url.startswith(api.issuer.url + "/authorize"), page.url
    await page.click(f"button[name=username][value='{user}']")
    await page.wait_for_url(f"{api.url}/inbox/tasks", wait_until="load")
    assert f"Signed in as {user}" in await page.inner_text("header")
    return person


async def open_task(case: Case, kind: str) -> int:
    await case.task(kind)
    return int(await case.pool.fetchval(
        "SELECT id FROM tasks WHERE case_id = $1 AND kind = $2 AND status = 'open' ORDER BY id DESC LIMIT 1", case.id, kind))


def no_personal_data(urls: list[str], case: Case) -> None:
    ref = case.referral
    for url in urls:
        for secret in (ref.name, ref.date_of_birth.isoformat(), ref.name.replace(" ", "+"), ref.name.replace(" ", "%20")):
            assert secret not in url, url


# ---------------------------------------------------------------------------- the walk


async def test_a_case_walked_from_referral_to_closure_through_the_inbox(browser, api: ApiStack, ts_env, pool,
                                                                        fast_queue: str, caplog) -> None:
    """NBTC, the ICE system (API), the case owner, a senior caseworker after an escalation,
    the Director on the not-pursued path (R50), then the case owner closes it (R51)."""
    caplog.set_level(logging.INFO, logger="casework.inbox.access")
    case = await Case.start(ts_env.client, pool, fast_queue, referral(nationalities=["PL"]))
    people: list[Person] = []
    try:
        # NBTC: the person is in the UK (R10).
        finn = await signed_in(browser, api, "nbtc.finn")
        people.append(finn)
        nbtc = await open_task(case, "nbtc_check")
        await finn.go("/inbox/tasks?queue=team")
        await finn.page.click(f"#task-{nbtc}")
        assert await finn.page.inner_text("h1") == "NBTC check: has the person left the UK?"
        await finn.complete(nbtc, "in_uk")
        assert "completed: in uk" in await finn.page.inner_text(".govuk-notification-banner")

        # ICE's system finds the person, through the API (R16 -> R20).
        await open_task(case, "ice_tasking")
        located = await api.call("POST", f"/cases/{case.id}/events/located", "ice-system",
                                 json={"event_id": uuid.uuid4().hex})
        assert located.status_code in (200, 202), located.text

        # The routed team: "Work on next task" claims the allocation and opens it (R20).
        ben = await signed_in(browser, api, "cw.ben")
        people.append(ben)
        allocation = await open_task(case, "allocate_case_owner")
        await ben.go("/inbox/tasks?queue=unassigned")
        await ben.page.click("#work-on-next")
        await ben.page.wait_for_url(f"{api.url}/inbox/tasks/{allocation}")
        assert await pool.fetchval("SELECT assignee FROM tasks WHERE id = $1", allocation) == "cw.ben"
        await ben.complete(allocation, "allocated", case_owner="cw.ben")
        await ben.complete(await open_task(case, "offending_history_check"), "full_history_on_pnc")

        # The police contact falls due at once and escalates: a senior caseworker takes it.
        police = await open_task(case, "police_contact")
        await case.wait_for(lambda v: v.overdue)
        erin = await signed_in(browser, api, "scw.erin")
        people.append(erin)
        await erin.go("/inbox/tasks?queue=escalated")
        assert await erin.page.is_visible(f"#task-{police}")
        assert "Overdue" in await erin.page.inner_text(f"tr[data-task='{police}']")
        await erin.complete(police, "no_pending_prosecution")
        assert await pool.fetchval("SELECT completed_by FROM tasks WHERE id = $1", police) == "scw.erin"

        await ben.complete(await open_task(case, "detention_decision"), "not_detained", reason="managed in the community")
        await ben.complete(await open_task(case, "pursuit_decision"), "pursue", foreign_convictions="robbery, 4 years",
                           uk_convictions="none", outstanding_law_enforcement="none")
        await case.wait_for(lambda v: v.notice_served_at is not None)
        sent = await api.call("POST", f"/cases/{case.id}/events/representations", "cw.ben", json={"event_id": uuid.uuid4().hex})
        assert sent.status_code in (200, 202), sent.text
        await ben.complete(await open_task(case, "consideration_decision"), "not_pursue", reason="Article 8 outweighs")

        # The Director decides on the submission (R50).
        hal = await signed_in(browser, api, "director.hal")
        people.append(hal)
        submission = await open_task(case, "director_decision")
        await hal.go("/inbox/tasks?queue=submissions")
        await hal.page.click(f"#task-{submission}")
        await hal.complete(submission, "agree", reason="agree: not conducive to pursue")

        # The case owner considers removals (R51); the case closes.
        await ben.complete(await open_task(case, "removals_consideration"), "resides_lawfully", reason="lawful residence")
        await case.handle.result()
        await ben.go(f"/inbox/cases/{case.id}")
        facts = await ben.page.inner_text("#case-facts")
        assert "closed" in facts
        timeline = await ben.page.inner_text("#timeline")
        assert "case closed" in timeline and "scw.erin" in timeline and "director.hal" in timeline

        # R60 through the page: purpose and reason, recorded under cw.ben, and said so.
        await ben.page.click("#view-personal-data")
        purposes = await ben.page.locator("input[name=purpose]").evaluate_all("els => els.map(e => e.value)")
        assert purposes == ["detention", "deportation"]  # only those a caseworker holds
        await ben.page.check("#purpose-2")
        await ben.page.fill("#reason", "closing review")
        await ben.page.click("#show-personal-data")
        assert "was recorded under cw.ben" in await ben.page.inner_text("#recorded")
        assert case.referral.name in await ben.page.inner_text("#subject")
        assert await pool.fetchval("SELECT count(*) FROM audit_log WHERE case_id = $1 AND action = 'personal data read'"
                                   " AND actor = 'cw.ben' AND detail->>'purpose' = 'deportation'", case.id) == 1
    finally:
        for person in people:
            await person.context.close()
    assert (await case.case_row())["status"] == "closed"
    # No personal data in any URL the browsers asked for, nor in the server's access log.
    logged = [r.getMessage() for r in caplog.records if r.name == "casework.inbox.access"]
    assert logged
    no_personal_data([u for p in people for u in p.urls] + logged, case)
