"""The web inbox's application: mounted at /inbox in the API's process (api/app.py), so it
sits behind the API's middleware and calls the same routes' code and the same policy
(docs/design.md, "The web inbox").

This module holds what every page shares: templates (GOV.UK Frontend's Jinja port under
the "govuk_frontend_jinja" prefix, ours under "inbox"), the assets from node_modules,
the security headers with a per-request CSP nonce, the session cookie, sign-in and
sign-out, and the error pages. The pages are in api/inbox/pages.py.
"""

from __future__ import annotations

import logging
import secrets
import time
import warnings
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Any

import authlib.deprecate  # noqa: F401 - sets its own "always" filter first, so the one below wins

with warnings.catch_warnings():
    # Authlib 1.9 warns on import that its httpx integration will move to httpx2; the
    # Starlette client is what this module uses, and it still runs on httpx.
    warnings.simplefilter("ignore")
    from authlib.integrations.starlette_client import OAuth, OAuthError
from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from jinja2 import Environment, PackageLoader, PrefixLoader, select_autoescape
from starlette.middleware.sessions import SessionMiddleware
from starlette.staticfiles import StaticFiles

from access.tokens import IssuerUnavailable, TokenRefused
from api.inbox import pages, sessions
from api.inbox.rendering import PREFIX, SERVICE_NAME, page
from api.problems import Problem
from api.security_events import Refused, Watch, watch_of
from api.services import Services
from casework.config import InboxSettings, LocalStackSettings

log = logging.getLogger("casework.inbox")
#: One line per request (method, path, status): the tests read it to show that no URL
#: carries personal data.
access_log = logging.getLogger("casework.inbox.access")

ROOT = Path(__file__).resolve().parents[2]
#: GOV.UK Frontend's compiled files, installed by the setup from package-lock.json
#: (``InboxSettings.assets_dir`` elsewhere).
FRONTEND = ROOT / "node_modules" / "govuk-frontend" / "dist" / "govuk"
OWN_STATIC = Path(__file__).resolve().parent / "static"


def templates() -> Environment:
    env = Environment(
        loader=PrefixLoader({
            "govuk_frontend_jinja": PackageLoader("govuk_frontend_jinja", "templates"),
            "inbox": PackageLoader("api.inbox", "templates/inbox"),
        }),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True, lstrip_blocks=True,
        # Templates change only with a release: no file check on every render (each page
        # imports a dozen of GOV.UK Frontend's macro files).
        auto_reload=False,
    )
    return env


@lru_cache(maxsize=1)
def _stylesheet(frontend: Path) -> bytes:
    """GOV.UK Frontend's CSS with its font and image URLs under /inbox/assets (the
    compiled file names /assets/; the inbox serves everything under its own prefix)."""
    css = (frontend / "govuk-frontend.min.css").read_text(encoding="utf-8")
    return css.replace("url(/assets/", f"url({PREFIX}/assets/").encode()


def _csp(nonce: str) -> str:
    """No inline script but GOV.UK Frontend's one line (by nonce), no inline style, no
    framing; forms post only here."""
    return ("default-src 'self'; script-src 'self' 'nonce-" + nonce + "'; style-src 'self'; img-src 'self' data:; "
            "font-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; "
            "object-src 'none'")


SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
}


def assets_missing(frontend: Path) -> FastAPI:
    """Without GOV.UK Frontend's assets the inbox only says so (503); the API still serves."""
    missing = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    reason = (f"the web inbox's assets are not installed ({frontend}): run the setup (./run.sh: npm ci) "
              "or set CASEWORK_INBOX_ASSETS_DIR")
    log.warning(reason)

    @missing.get("/{rest:path}", include_in_schema=False)
    async def unavailable(rest: str) -> Response:
        return Response(reason + "\n", status_code=503, media_type="text/plain")

    return missing


def create_inbox(services: Callable[[], Services], settings: InboxSettings | None = None,
                 watch: Watch | None = None) -> FastAPI:
    """The inbox app; ``services()`` gives the API's services (made by its lifespan);
    ``watch``: the API's refusal metrics and limits (api/security_events.py), shared."""
    s = settings or InboxSettings.read()
    frontend = Path(s.assets_dir) if s.assets_dir else FRONTEND
    if not (frontend / "govuk-frontend.min.css").is_file():
        return assets_missing(frontend)
    env = templates()
    inbox = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    inbox.state.settings = s
    inbox.state.templates = env
    inbox.state.services_of = services
    inbox.state.watch = watch or Watch()
    oauth = OAuth()
    inbox.state.oauth = oauth
    secure = s.secure_cookies if s.secure_cookies is not None else not LocalStackSettings.read().is_local

    @inbox.middleware("http")
    async def headers(request: Request, call_next: Any) -> Response:
        # The API's services, where the API's own helpers look for them (security events).
        inbox.state.services = services()
        request.state.csp_nonce = secrets.token_urlsafe(16)
        started = time.perf_counter()
        response = await call_next(request)
        # The page's time in the server (the benchmark reads it: python -m bench.inbox).
        timing = f"app;dur={(time.perf_counter() - started) * 1e3:.1f}"
        if hasattr(request.state, "cid_ms"):  # a queue page: its counts and listing
            timing += f", cid;dur={request.state.cid_ms:.1f}"
        response.headers["Server-Timing"] = timing
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        if response.headers.get("content-type", "").startswith("text/html"):
            response.headers["Content-Security-Policy"] = _csp(request.state.csp_nonce)
            # Every page may show a case's or a person's details: never kept by a cache.
            response.headers["Cache-Control"] = "no-store"
        access_log.info("%s %s%s %s", request.method, request.url.path,
                        f"?{request.url.query}" if request.url.query else "", response.status_code)
        return response

    # Added last, so it runs first: the session is there for the headers' handler's pages.
    inbox.add_middleware(SessionMiddleware, secret_key=s.session_key or secrets.token_urlsafe(32),
                         session_cookie=sessions.COOKIE, max_age=s.absolute_hours * 3600, path=PREFIX,
                         same_site="lax", https_only=secure)

    @inbox.get("/static/govuk-frontend.min.css", include_in_schema=False)
    async def stylesheet() -> Response:
        return Response(_stylesheet(frontend), media_type="text/css", headers={"Cache-Control": "public, max-age=3600"})

    inbox.mount("/static/govuk", StaticFiles(directory=frontend, check_dir=True), name="govuk")
    inbox.mount("/static/own", StaticFiles(directory=OWN_STATIC), name="own")
    inbox.mount("/assets", StaticFiles(directory=frontend / "assets"), name="assets")

    def client() -> Any:
        existing = oauth.create_client("casework")
        if existing is not None:
            return existing
        issuer = services().verifier.settings.issuer.rstrip("/")
        return oauth.register(
            name="casework", client_id=s.client_id, client_secret=s.client_secret,
            server_metadata_url=f"{issuer}/.well-known/openid-configuration",
            client_kwargs={"scope": "openid casework", "code_challenge_method": "S256"},
        )

    @inbox.get("/sign-in", include_in_schema=False)
    async def sign_in(request: Request) -> Response:
        redirect_uri = str(request.url_for("signed_in"))
        return await client().authorize_redirect(request, redirect_uri)

    @inbox.get("/auth/callback", name="signed_in", include_in_schema=False)
    async def callback(request: Request) -> Response:
        svc = services()
        try:
            token = await client().authorize_access_token(request)
            who = await svc.verifier.verify_header_async(f"Bearer {token['access_token']}")
        except (OAuthError, TokenRefused, KeyError) as err:
            log.warning("inbox sign-in refused: %s", getattr(err, "error", None) or type(err).__name__)
            return page(request, "message.html", status=400, title="Sign-in failed",
                        message="The sign-in did not complete. Sign in again.", sign_in=True)
        except IssuerUnavailable:
            return page(request, "message.html", status=503, title="Sign-in is unavailable",
                        message="The sign-in service did not answer. Try again in a few minutes.", sign_in=True)
        if who.is_system:
            return page(request, "message.html", status=403, title="People only",
                        message="The inbox is for people; a system's credentials cannot sign in.", sign_in=True)
        back = request.session.get("next")
        await sessions.open_for(request, svc, who)
        return RedirectResponse(back if isinstance(back, str) and back.startswith(PREFIX + "/") else f"{PREFIX}/tasks",
                                status_code=303)

    @inbox.post("/sign-out", include_in_schema=False)
    async def sign_out(request: Request) -> Response:
        session = await sessions.current(request, services(), s)
        await sessions.form_of(request, session)
        await sessions.end(request, services())
        request.state.inbox_session = None
        return page(request, "message.html", title="You have signed out",
                    message="You have signed out of ACRO casework.", sign_in=True, signed_out=True)

    @inbox.exception_handler(sessions.SignInNeeded)
    async def needs_sign_in(request: Request, _: Exception) -> Response:
        if request.method == "GET":
            request.session["next"] = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            return RedirectResponse(f"{PREFIX}/sign-in", status_code=303)
        return page(request, "message.html", status=401, title="Sign in to continue",
                    message="Your session has ended. Sign in again; nothing was changed.", sign_in=True)

    @inbox.exception_handler(sessions.CsrfRefused)
    async def csrf_refused(request: Request, _: Exception) -> Response:
        log.warning("inbox form without its CSRF token refused: %s %s", request.method, request.url.path)
        return page(request, "message.html", status=403, title="The form could not be sent",
                    message="The form was not sent from this service's page (its security token was missing or "
                            "wrong). Nothing was changed. Go back, reload the page and try again.")

    @inbox.exception_handler(Problem)
    async def problem(request: Request, err: Problem) -> Response:
        doc = err.document
        if err.status in (401, 403, 429):  # a security event, as the API records its refusals
            refused = err.refused or Refused(f"{request.method} {request.url.path}", request.url.path, doc.type.rsplit("/", 1)[-1])
            await watch_of(request).record(request, err.status, refused, doc.detail or doc.title)
        titles = {403: "You cannot see this page", 404: "Page not found", 409: "This has changed",
                  422: "There is a problem", 503: "Sorry, the service is unavailable"}
        return page(request, "message.html", status=err.status, title=titles.get(err.status, doc.title),
                    message=doc.detail or doc.title)

    pages.install(inbox)
    return inbox
