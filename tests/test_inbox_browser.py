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


async def follow(page: Any, selector: str) -> None:
    """Click what submits a form or follows a link, and wait for the new page (not the old
    one's load state: on a loaded machine the next line would read the page being left)."""
    async with page.expect_navigation(wait_until="load", timeout=60_000):
        await page.click(selector)


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
        await follow(self.page, "#complete")

    async def axe(self) -> list[dict[str, Any]]:
        """axe-core's serious and critical violations on the current page (WCAG 2.2 AA rules).

        One known finding is set aside, on exactly its elements: GOV.UK Frontend keeps
        ``aria-expanded`` on a radio that reveals a conditional question, against the ARIA
        spec, because screen readers announce it and research found it helps
        (alphagov/govuk-frontend#979, its documented known issue)."""
        await self.page.evaluate(AXE.read_text(encoding="utf-8"))
        result = await self.page.evaluate(
            "async () => (await axe.run(document, {runOnly: {type: 'tag', values: "
            "['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice']}})).violations"
            ".map(v => ({id: v.id, impact: v.impact, nodes: v.nodes.map(n => n.target.join(' ')),"
            " known: v.id === 'aria-allowed-attr' && v.nodes.every(n => { const e = document.querySelector(n.target.join(' '));"
            " return e && e.matches('.govuk-radios__input[aria-controls]') && n.failureSummary.includes('aria-expanded')"
            " && !n.failureSummary.replace(/aria-expanded=\"(true|false)\"/g, '').includes('aria-'); })}))")
        return [v for v in result if v["impact"] in ("serious", "critical") and not v["known"]]

    async def sign_out(self) -> None:
        await follow(self.page, "#sign-out")


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
        await finn.go(f"/inbox/tasks?queue=team&case={case.id}")
        await follow(finn.page, f"#task-{nbtc}")
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
        # (The suite shares one CID: "next" within this case's filter, as a person narrows it.)
        await ben.go(f"/inbox/tasks?queue=unassigned&case={case.id}")
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
        await erin.go(f"/inbox/tasks?queue=escalated&case={case.id}")
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
        await hal.go(f"/inbox/tasks?queue=submissions&case={case.id}")
        await follow(hal.page, f"#task-{submission}")
        await hal.complete(submission, "agree", reason="agree: not conducive to pursue")

        # The case owner considers removals (R51); the case closes.
        await ben.complete(await open_task(case, "removals_consideration"), "resides_lawfully", reason="lawful residence")
        await case.handle.result()
        await ben.go(f"/inbox/cases/{case.id}")
        facts = await ben.page.inner_text("#case-facts")
        assert "closed" in facts
        timeline = await ben.page.inner_text("#timeline")
        assert "case closed" in timeline and "scw.erin" in timeline and "director.hal" in timeline
        # Issue 20: the decisions the case took, each as its rule's sentence, no personal data.
        decided = await ben.page.inner_text("#decisions")
        routed = await pool.fetchval("SELECT sentence FROM case_decisions WHERE case_id = $1 AND rule = 'R06'", case.id)
        assert routed and routed in decided and case.referral.name not in decided, decided

        # R60 through the page: purpose and reason, recorded under cw.ben, and said so.
        await follow(ben.page, "#view-personal-data")
        purposes = await ben.page.locator("input[name=purpose]").evaluate_all("els => els.map(e => e.value)")
        assert purposes == ["detention", "deportation"]  # only those a caseworker holds
        await ben.page.check("#purpose-2")
        await ben.page.fill("#reason", "closing review")
        await follow(ben.page, "#show-personal-data")
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


# ---------------------------------------------------------------------------- accessibility


async def test_every_page_type_passes_axe_and_a_broken_label_is_caught(browser, api: ApiStack, start) -> None:
    """WCAG 2.2 AA by axe-core on each page type: no serious or critical violation. The
    screenshots of docs/inbox/ are taken on the way."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    case = await start(whereabouts={"status": "confirmed_address"})
    allocation = await open_task(case, "allocate_case_owner")
    ben = await signed_in(browser, api, "cw.ben")
    erin = await signed_in(browser, api, "scw.erin")
    try:
        pages: dict[str, list[dict[str, Any]]] = {}
        await ben.go(f"/inbox/tasks?queue=team&case={case.id}")
        pages["queue"] = await ben.axe()
        await ben.page.screenshot(path=str(SHOTS / "queue.png"), full_page=True)
        await ben.go(f"/inbox/tasks/{allocation}")
        pages["task"] = await ben.axe()
        await ben.page.check("#outcome-allocated")
        await ben.page.fill("#allocated-case_owner", "not a staff id!")
        await follow(ben.page, "#complete")
        await ben.page.wait_for_selector(".govuk-error-summary", timeout=30_000)  # the answer's page, however loaded the machine
        pages["task with an error"] = await ben.axe()
        await ben.page.screenshot(path=str(SHOTS / "task-with-error.png"), full_page=True)
        await ben.go(f"/inbox/cases/{case.id}")
        pages["case"] = await ben.axe()
        await ben.page.screenshot(path=str(SHOTS / "case.png"), full_page=True)
        await follow(ben.page, "#view-personal-data")
        pages["personal data form"] = await ben.axe()
        await ben.page.check("#purpose")
        await ben.page.fill("#reason", "accessibility check")
        await follow(ben.page, "#show-personal-data")
        pages["personal data"] = await ben.axe()
        await ben.go("/inbox/dashboard")  # not a senior caseworker: refused, as a page
        pages["refused"] = await ben.axe()
        await erin.go("/inbox/dashboard")
        pages["dashboard"] = await erin.axe()
        await erin.page.screenshot(path=str(SHOTS / "dashboard.png"), full_page=True)
        await erin.go("/inbox/tasks?queue=escalated")
        pages["escalated (bulk reassign)"] = await erin.axe()
        await erin.sign_out()
        pages["signed out"] = await erin.axe()
        assert {name: found for name, found in pages.items() if found} == {}

        # 400% zoom (WCAG 1.4.10): at 320 CSS pixels wide no page scrolls sideways (a wide
        # table scrolls within its own region).
        await ben.page.set_viewport_size({"width": 320, "height": 640})
        for path in (f"/inbox/tasks?queue=team&case={case.id}", f"/inbox/tasks/{allocation}", f"/inbox/cases/{case.id}"):
            await ben.go(path)
            assert await ben.page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1"), path

        # The check fails when a page breaks: a field without its label.
        await ben.go("/inbox/tasks?queue=team")
        await ben.page.evaluate("document.querySelector(\"label[for='case']\").remove()")
        assert "label" in [v["id"] for v in await ben.axe()]
    finally:
        await ben.context.close()
        await erin.context.close()


async def test_keyboard_only_claim_complete_and_sign_out(browser, api: ApiStack, start) -> None:
    """Without the mouse: sign in on the issuer's page, claim a task from the queue, open it,
    complete it, sign out. Each control reached by Tab shows its focus."""
    case = await start()
    task_id = await open_task(case, "nbtc_check")
    context = await browser.new_context(viewport={"width": 1280, "height": 1000})
    page = await context.new_page()

    async def tab_to(selector: str, limit: int = 150) -> None:
        for _ in range(limit):
            await page.keyboard.press("Tab")
            if await page.evaluate("s => document.activeElement && document.activeElement.matches(s)", selector):
                style = await page.evaluate("() => { const s = getComputedStyle(document.activeElement);"
                                            " return [s.outlineStyle, s.boxShadow, s.backgroundColor]; }")
                assert style[0] != "none" or style[1] != "none" or style[2] != "rgba(0, 0, 0, 0)", (selector, style)
                return
        raise AssertionError(f"Tab never reached {selector}")

    try:
        queue = f"{api.url}/inbox/tasks?queue=team&case={case.id}"
        await page.goto(queue)
        await tab_to("button[value='nbtc.finn']")
        await page.keyboard.press("Enter")
        await page.wait_for_url(queue)
        await tab_to(f"#claim-{task_id}")
        async with page.expect_navigation(wait_until="load"):
            await page.keyboard.press("Enter")
        assert "You have claimed task" in await page.inner_text(".govuk-notification-banner")
        await tab_to(f"#task-{task_id}")
        await page.keyboard.press("Enter")
        await page.wait_for_url(f"{api.url}/inbox/tasks/{task_id}")
        await tab_to("input[name=outcome]")
        await page.keyboard.press("Space")
        await tab_to("#complete")
        await page.keyboard.press("Enter")
        await page.wait_for_url(f"{api.url}/inbox/cases/{case.id}")
        assert await case.pool.fetchval("SELECT completed_by FROM tasks WHERE id = $1", task_id) == "nbtc.finn"
        await tab_to("#sign-out")
        async with page.expect_navigation(wait_until="load"):
            await page.keyboard.press("Enter")
        assert await page.inner_text("h1") == "You have signed out"
    finally:
        await context.close()


# ---------------------------------------------------------------------------- refusals in the page


async def test_refusals_are_shown_in_the_page_linked_to_the_field_with_the_form_kept(browser, api: ApiStack, start,
                                                                                     pool) -> None:
    # R30/R61: no detention on convictions that are not disclosable or not available.
    r30 = await start(whereabouts={"status": "confirmed_address"})
    await through_stage_c(r30, owner="cw.ben", history="not_available")
    detention = await open_task(r30, "detention_decision")
    # A task a colleague completes meanwhile, and one a colleague claims first.
    meanwhile = await start(whereabouts={"status": "confirmed_address"})
    allocation = await open_task(meanwhile, "allocate_case_owner")
    contested = await start(whereabouts={"status": "confirmed_address"})
    contested_task = await open_task(contested, "allocate_case_owner")

    ben = await signed_in(browser, api, "cw.ben")
    try:
        await ben.complete(detention, "detain")
        summary = ben.page.locator(".govuk-error-summary")
        assert "R30/R61: refused" in await summary.inner_text()
        assert await summary.locator("a").first.get_attribute("href") == "#outcome-detain"
        assert await ben.page.is_checked("#outcome-detain")  # the form as typed
        assert await pool.fetchval("SELECT status FROM tasks WHERE id = $1", detention) == "open"

        await ben.go(f"/inbox/tasks/{allocation}")
        await ben.page.check("#outcome-allocated")
        await ben.page.fill("#allocated-case_owner", "cw.ben")
        done = await api.call("POST", f"/tasks/{allocation}/completion", "cw.eve",
                              json={"outcome": "allocated", "details": {"case_owner": "cw.eve"}})
        assert done.status_code == 200, done.text
        await follow(ben.page, "#complete")
        text = await ben.page.locator(".govuk-error-summary").inner_text()
        assert "already done" in text
        assert await pool.fetchval("SELECT completed_by FROM tasks WHERE id = $1", allocation) == "cw.eve"

        await ben.go(f"/inbox/tasks?queue=unassigned&case={contested.id}")
        assert await ben.page.is_visible(f"#claim-{contested_task}")
        won = await api.call("POST", f"/tasks/{contested_task}/claim", "cw.eve")
        assert won.status_code == 200, won.text
        await follow(ben.page, f"#claim-{contested_task}")
        summary = ben.page.locator(".govuk-error-summary")
        assert "claimed already" in await summary.inner_text()
        assert await summary.locator("a").first.get_attribute("href") == f"#task-{contested_task}"
        assert await pool.fetchval("SELECT assignee FROM tasks WHERE id = $1", contested_task) == "cw.eve"

        # What the policy does not let a person see answers as the API does.
        cara = await signed_in(browser, api, "cw.cara")
        try:
            assert (await cara.go(f"/inbox/cases/{contested.id}")).status == 404
            as_api = (await api.call("GET", f"/tasks/{contested_task}", "cw.cara")).status_code
            assert as_api in (403, 404) and (await cara.go(f"/inbox/tasks/{contested_task}")).status == as_api
            assert (await cara.go("/inbox/dashboard")).status == 403
            assert (await cara.go("/inbox/tasks?queue=escalated")).status == 403
        finally:
            await cara.context.close()
    finally:
        await ben.context.close()


async def test_the_pages_work_without_javascript(browser, api: ApiStack, start, pool) -> None:
    """Progressive enhancement only: with JavaScript off, sign in, claim a task, answer an
    outcome's conditional question (shown without the reveal) and complete it."""
    case = await start(whereabouts={"status": "confirmed_address"})
    allocation = await open_task(case, "allocate_case_owner")
    context = await browser.new_context(java_script_enabled=False)
    page = await context.new_page()
    try:
        await page.goto(f"{api.url}/inbox/tasks?queue=unassigned&case={case.id}")
        await page.click("button[name=username][value='cw.ben']")
        await page.wait_for_url(f"{api.url}/inbox/tasks?queue=unassigned&case={case.id}")
        assert "js-enabled" not in (await page.get_attribute("body", "class") or "")
        await follow(page, f"#claim-{allocation}")
        await page.goto(f"{api.url}/inbox/tasks/{allocation}")
        assert await page.is_visible("#allocated-case_owner")  # the conditional question, not hidden
        await page.check("#outcome-allocated")
        await page.fill("#allocated-case_owner", "cw.ben")
        await page.click("#complete")
        await page.wait_for_url(f"{api.url}/inbox/cases/{case.id}")
    finally:
        await context.close()
    assert (await pool.fetchrow("SELECT completed_by, outcome FROM tasks WHERE id = $1", allocation))["completed_by"] == "cw.ben"
