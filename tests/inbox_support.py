"""The web inbox for tests: signing a person in through the development issuer's sign-in
page over plain HTTP (httpx, cookies kept), reading a page's CSRF token, and the
security headers every inbox page carries."""

from __future__ import annotations

import contextlib
import re
from collections.abc import AsyncIterator
from urllib.parse import parse_qsl, urlsplit

import httpx

from tests.api_support import ApiStack

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@contextlib.asynccontextmanager
async def signed_in(api: ApiStack, user: str) -> AsyncIterator[httpx.AsyncClient]:
    http = await sign_in(api, user)
    try:
        yield http
    finally:
        await http.aclose()


async def sign_in(api: ApiStack, user: str) -> httpx.AsyncClient:
    """A client signed in to the inbox as ``user``: the inbox sends it to the issuer, whose
    sign-in page posts the chosen person back (as the page's button does)."""
    http = httpx.AsyncClient(base_url=api.url, timeout=60)
    start = await http.get("/inbox/tasks")
    assert start.status_code == 303 and start.headers["location"] == "/inbox/sign-in", start.text
    to_issuer = await http.get("/inbox/sign-in")
    assert to_issuer.status_code == 302, to_issuer.text
    authorize = to_issuer.headers["location"]
    assert authorize.startswith(api.issuer.url + "/authorize")
    params = dict(parse_qsl(urlsplit(authorize).query))
    assert params["code_challenge_method"] == "S256" and params["client_id"] == "casework-inbox"
    async with httpx.AsyncClient() as browser:
        page = await browser.get(authorize)
        assert page.status_code == 200 and user in page.text
        chosen = await browser.post(f"{api.issuer.url}/authorize", data=params | {"username": user})
    assert chosen.status_code == 303, chosen.text
    back = await http.get(chosen.headers["location"])
    assert back.status_code == 303 and back.headers["location"] == "/inbox/tasks", back.text
    return http


def csrf_of(html: str) -> str:
    found = CSRF.search(html)
    assert found, "no CSRF token in the page"
    return found.group(1)


def assert_secure_headers(response: httpx.Response) -> None:
    """The headers of every inbox page (docs/inbox.md, "Security")."""
    h = response.headers
    csp = h["content-security-policy"]
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert "frame-ancestors 'none'" in csp and "default-src 'self'" in csp and "script-src 'self' 'nonce-" in csp
    nonce = re.search(r"'nonce-([^']+)'", csp).group(1)  # type: ignore[union-attr]
    # GOV.UK Frontend's one inline script carries this response's nonce; nothing else is inline.
    inline = re.findall(r"<script(?![^>]*\bsrc=)([^>]*)>", response.text)
    assert inline and all(f'nonce="{nonce}"' in attrs for attrs in inline), inline
    assert h["x-content-type-options"] == "nosniff"
    assert h["referrer-policy"] == "no-referrer"
    assert h["cache-control"] == "no-store"
