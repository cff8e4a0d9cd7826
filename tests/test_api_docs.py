"""The API documents itself without the internet (issue 24 items 7 and 8): Swagger UI at
``/docs`` from the API's own assets, rendered in real Chromium with every request to
127.0.0.1; each problem ``type`` resolves to a section of ``/docs/api``; every problem kind
the API raises is documented there; one problem type for field errors; an unknown event
kind on POST is a 422 naming ``path.kind``, as on GET."""

from __future__ import annotations

import ast
from pathlib import Path
from urllib.parse import urlsplit

from api.problem_types import INVALID_REQUEST, PROBLEM_TYPES
from tests.api_support import ApiStack
from tests.test_ops_ui import BROWSER_ARGS, _browser_or_skip

ROOT = Path(__file__).resolve().parent.parent
PROBLEM = "application/problem+json"


def _kinds_raised() -> dict[str, str]:
    """Every ``kind=`` given to a ``Problem(...)`` in api/, as a literal or a name of
    api/problem_types.py: kind -> where."""
    import api.problem_types as types

    found: dict[str, str] = {}
    for path in (ROOT / "api").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "Problem":
                for keyword in node.keywords:
                    if keyword.arg != "kind":
                        continue
                    values = [keyword.value.body, keyword.value.orelse] if isinstance(keyword.value, ast.IfExp) else [keyword.value]
                    for value in values:
                        if isinstance(value, ast.Constant):
                            found[value.value] = f"{path.relative_to(ROOT)}:{node.lineno}"
                        elif isinstance(value, ast.Name) and isinstance(getattr(types, value.id, None), str):
                            found[getattr(types, value.id)] = f"{path.relative_to(ROOT)}:{node.lineno}"
    return found


def test_every_problem_kind_the_api_raises_is_documented() -> None:
    from api.door import BadJson, BodyTooLarge

    raised = _kinds_raised() | {BadJson.kind: "api/door.py", BodyTooLarge.kind: "api/door.py"}
    assert len(raised) >= 20 and "token-refused" in raised
    missing = {k: where for k, where in raised.items() if k not in PROBLEM_TYPES}
    assert not missing, f"add these to api/problem_types.py (the page /docs/api explains each): {missing}"
    # Field errors have one type: the older per-endpoint ones are gone.
    assert not {"invalid-event", "invalid-referral", "invalid-certificate"} & set(raised)


async def test_problem_types_resolve_to_the_page_the_api_serves(api: ApiStack) -> None:
    refused = await api.call("GET", "/me", None)
    assert refused.status_code == 401
    link = urlsplit(refused.json()["type"])
    assert (link.path, link.fragment) == ("/docs/api", "token-refused")
    page = await api.http.get(link.path)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    for kind in PROBLEM_TYPES:
        assert f'id="{kind}"' in page.text, kind


async def test_an_unknown_event_kind_is_422_naming_path_kind_on_post_as_on_get(api: ApiStack) -> None:
    for method, path in (("POST", "/cases/acro-case-X/events/bogus"), ("GET", "/cases/acro-case-X/events/bogus/e1")):
        answer = await api.call(method, path, "acro", json={} if method == "POST" else None)
        assert answer.status_code == 422 and answer.headers["content-type"] == PROBLEM, (method, answer.text)
        assert answer.json()["errors"][0]["field"] == "path.kind", (method, answer.text)
        assert answer.json()["type"] == f"/docs/api#{INVALID_REQUEST}"


async def test_field_errors_on_one_endpoint_have_one_type(api: ApiStack, start) -> None:
    """The certificate route checks the body's shape (FastAPI) and then the certificate
    (casework.certificate): both are field errors of one type."""
    case = await start()
    path = f"/cases/{case.id}/events/certificate"
    shape = await api.call("POST", path, "acro", json={"event_id": "e1"})
    content = await api.call("POST", path, "acro", json={"event_id": "e1", "certificate": {
        "request_purpose": "Request for administrative purpose immigration/deportation", "issued_on": "2999-01-01",
        "convictions": [{"country": "PL", "offence": "Theft", "category": "theft", "conviction_date": "2008-02-05"}]}})
    types = {shape.json().get("type"), content.json().get("type")}
    assert {shape.status_code, content.status_code} == {422}, (shape.text, content.text)
    assert shape.json()["errors"][0]["field"] == "body.certificate"
    assert content.json()["errors"][0]["field"] == "body.certificate.issued_on", content.text
    assert types == {f"/docs/api#{INVALID_REQUEST}"}, types


async def test_swagger_ui_renders_from_the_api_itself_with_no_request_leaving_the_machine(api: ApiStack) -> None:
    chromium = _browser_or_skip()
    from playwright.async_api import async_playwright

    hosts: list[str] = []
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=chromium, args=BROWSER_ARGS, headless=True)
        try:
            page = await browser.new_page()
            page.on("request", lambda request: hosts.append(urlsplit(request.url).hostname or request.url))
            await page.goto(f"{api.url}/docs")
            await page.wait_for_selector(".opblock-summary-path", timeout=30_000)  # the operations are listed
            paths = await page.locator(".opblock-summary-path").all_inner_texts()
            assert any("/tasks/{task_id}/completion" in p for p in paths), paths
            assert await page.locator(".errors-wrapper").count() == 0  # Swagger UI read the OpenAPI 3.1 document
        finally:
            await browser.close()
    assert hosts and set(hosts) == {"127.0.0.1"}, hosts
