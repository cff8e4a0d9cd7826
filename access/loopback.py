"""Servers of the local stack answer only requests addressed to this machine by name
(issue 25, item 10: DNS rebinding).

A web page on any site can have a browser send requests to 127.0.0.1 by a DNS name that
resolves there (rebinding): the browser then treats the answers as the page's own, and the
development issuer (which hands out tokens for a system that can close any case) or the
local API would answer. They are not addressed by a loopback name then: the ``Host``
header says the attacker's name. ``LoopbackHostOnly`` refuses those (421).
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Receive, Scope, Send


def is_loopback_host(host: str | None) -> bool:
    """``localhost``, or a loopback address (``127.x``, ``[::1]``)."""
    if not host:
        return False
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def host_of(header: str) -> str | None:
    """The name in a ``Host`` header, without its port (``[::1]:8090`` -> ``::1``)."""
    try:
        return urlsplit(f"//{header}").hostname
    except ValueError:
        return None


class LoopbackHostOnly:
    """ASGI middleware: 421 for a request whose ``Host`` is not a loopback name."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            headers = dict(scope.get("headers") or [])
            host = headers.get(b"host", b"").decode("latin-1")
            if not is_loopback_host(host_of(host)):
                answer = PlainTextResponse("this server answers requests to 127.0.0.1 or localhost only", status_code=421)
                await answer(scope, receive, send)
                return
        await self.app(scope, receive, send)
