"""The Temporal Web UI in a real browser finds the overdue case with the saved query.

Headless Chromium from Debian (``/usr/bin/chromium``), driven by Playwright; no browser
is ever downloaded (``playwright install`` is never run). A dev server of its own serves
the UI. The screenshot is kept in ``test-artifacts/ui-overdue.png`` (gitignored).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from urllib.parse import quote

import pytest

from casework.settings import ProcessSettings
from tests.ops_support import free_port, listed, ops_server
from tests.support import Case, referral, running_worker

CHROMIUM = os.environ.get("CASEWORK_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
BROWSER_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--no-first-run"]
#: A saved query of docs/operations.md, "Saved queries".
OVERDUE_QUERY = "Overdue=true"


def _browser_or_skip() -> str:
    if Path(CHROMIUM).is_file():
        return CHROMIUM
    if os.environ.get("CI"):
        pytest.fail(f"CI must run the browser test: {CHROMIUM} is missing (.ci/run installs Debian's chromium)")
    pytest.skip(f"no Chromium at {CHROMIUM}: apt-get install chromium (CI installs it and runs this test)")


async def test_web_ui_lists_the_overdue_case_and_not_the_one_on_time(pool, task_queue):
    """The Web UI page ``/namespaces/default/workflows?query=Overdue=true`` lists the case
    whose NBTC check (R10) missed its deadline, and not the case still on time."""
    chromium = _browser_or_skip()
    from playwright.async_api import async_playwright

    ui_port = free_port()
    fast = ProcessSettings(deadline_days={"nbtc_check": 0})  # due at once: escalated about 1 s later
    async with ops_server(ui_port=ui_port) as env:
        client = env.client
        async with running_worker(client, pool, task_queue, fast), running_worker(client, pool, task_queue + "-on-time"):
            late = await Case.start(client, pool, task_queue, referral())
            on_time = await Case.start(client, pool, task_queue + "-on-time", referral())
            await on_time.task("nbtc_check")
            await late.wait_for(lambda v: v.overdue, timeout=10)
            await listed(client, "Overdue = true", late.id)

            url = f"http://127.0.0.1:{ui_port}/namespaces/default/workflows?query={quote(OVERDUE_QUERY)}"
            async with async_playwright() as playwright:
                browser = await playwright.chromium.launch(executable_path=chromium, args=BROWSER_ARGS, headless=True)
                try:
                    page = await browser.new_page(viewport={"width": 1600, "height": 900})
                    await page.goto(url, wait_until="domcontentloaded", timeout=15_000)
                    await page.get_by_text(late.id).first.wait_for(state="visible", timeout=15_000)
                    listed_text = await page.locator("body").inner_text()
                    ARTIFACTS.mkdir(exist_ok=True)
                    await page.screenshot(path=str(ARTIFACTS / "ui-overdue.png"), full_page=True)
                finally:
                    await browser.close()
            for case in (late, on_time):
                await case.handle.terminate(reason="test finished")

    assert late.id in listed_text
    assert on_time.id not in listed_text
    assert (ARTIFACTS / "ui-overdue.png").stat().st_size > 10_000
