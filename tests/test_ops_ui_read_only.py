"""Issue 25, item 7: the local stack's Web UI cannot write (codec_server/ui_gate.py), in a real
browser (Debian's Chromium through Playwright, as tests/test_ops_ui.py) in front of a real
dev server's UI: no Terminate, Cancel, Reset, Signal or Start Workflow to press, a write
sent straight at the UI's API refused with the case untouched, the codec endpoint decode
only and its token nowhere the browser can see."""

from __future__ import annotations

import json
import secrets

import aiohttp
from temporalio.client import WorkflowExecutionStatus

from codec_server.ui_gate import UiGate
from codec_server import start_codec_server
from codec_server.app import CodecServerConfig
from tests.ops_support import free_port, ops_server
from tests.support import Case, referral, running_worker
from tests.test_ops_ui import BROWSER_ARGS, _browser_or_skip

WRITE_BUTTONS = ("Terminate", "Cancel", "Reset", "Send a Signal", "Signal", "Start Workflow", "Request Cancellation")


async def test_the_local_web_ui_offers_no_write_action_and_refuses_one_sent_anyway(pool, task_queue) -> None:
    chromium = _browser_or_skip()
    from playwright.async_api import async_playwright

    inner, outer = free_port(), free_port()
    token = secrets.token_urlsafe(32)
    codec = await start_codec_server("127.0.0.1", 0, config=CodecServerConfig(token=token))
    gate = UiGate(f"http://127.0.0.1:{inner}", codec.url, {"Authorization": f"Bearer {token}"})
    try:
        async with ops_server(ui_port=inner) as env:
            await gate.start(outer)
            client = env.client
            async with running_worker(client, pool, task_queue):
                case = await Case.start(client, pool, task_queue, referral())
                await case.task("nbtc_check")
                base = f"http://127.0.0.1:{outer}"
                async with aiohttp.ClientSession() as http:
                    async with http.get(f"{base}/api/v1/settings") as answer:
                        settings = await answer.json()
                        raw = json.dumps(settings)
                    assert settings["DisableWriteActions"] is True and settings["WorkflowTerminateDisabled"] is True
                    assert settings["Codec"]["Endpoint"] == f"{base}/codec" and token not in raw
                    # A write sent at the UI's API anyway: refused, the case untouched.
                    terminate = f"{base}/api/v1/namespaces/default/workflows/{case.id}/terminate"
                    async with http.post(terminate, json={"reason": "forged"}) as answer:
                        assert answer.status == 403
                    async with http.post(f"{base}/codec/encode", json={"payloads": []}) as answer:
                        assert answer.status == 404  # decode only
                    async with http.post(f"{base}/codec/decode", json={"payloads": []},
                                         headers={"X-Namespace": "default"}) as answer:
                        assert answer.status == 200  # the gate adds the token the browser never sees
                    async with http.get(f"{base}/api/v1/settings", headers={"Host": "rebound.example"}) as answer:
                        assert answer.status == 421
                assert (await case.handle.describe()).status is WorkflowExecutionStatus.RUNNING

                async with async_playwright() as playwright:
                    browser = await playwright.chromium.launch(executable_path=chromium, args=BROWSER_ARGS, headless=True)
                    try:
                        page = await browser.new_page(viewport={"width": 1600, "height": 900})
                        await page.goto(f"{base}/namespaces/default/workflows/{case.id}", wait_until="domcontentloaded",
                                        timeout=15_000)
                        await page.get_by_text(case.id).first.wait_for(state="visible", timeout=15_000)
                        await page.wait_for_timeout(1000)  # the settings are fetched as the page starts
                        for name in WRITE_BUTTONS:
                            for button in await page.get_by_role("button", name=name, exact=True).all():
                                assert await button.is_disabled(), f"the UI offers {name!r}"
                        html = await page.content()
                        assert token not in html
                        await page.goto(f"{base}/namespaces/default/workflows", wait_until="domcontentloaded")
                        for button in await page.get_by_role("button", name="Start Workflow").all():
                            assert await button.is_disabled() or not await button.is_visible()
                    finally:
                        await browser.close()
                await case.handle.terminate(reason="test finished")
    finally:
        await gate.close()
        await codec.close()
