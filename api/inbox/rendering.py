"""Rendering an inbox page: the templates' shared context, and safe return paths."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment

SERVICE_NAME = "ACRO casework"
PREFIX = "/inbox"


def page(request: Request, template: str, *, status: int = 200, **context: Any) -> HTMLResponse:
    """Render one of the inbox's templates with what every page needs."""
    env: Environment = request.app.state.templates
    session = getattr(request.state, "inbox_session", None)
    html = env.get_template(f"inbox/{template}").render(
        cspNonce=getattr(request.state, "csp_nonce", None), assetPath=f"{PREFIX}/assets", prefix=PREFIX,
        serviceName=SERVICE_NAME, session=session, csrf_token=session.csrf_token if session else "",
        path=request.url.path, **context)
    return HTMLResponse(html, status_code=status)


def same_origin_path(value: str | None, default: str) -> str:
    """A path of the inbox to go back to (never another site's URL)."""
    if value and value.startswith(PREFIX + "/") and not urlsplit(value).netloc and "//" not in value:
        return value
    return default
