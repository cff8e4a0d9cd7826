"""The API application: problem documents, the routers, and the services its requests share.

``create_app(services)`` serves with services made by the caller (the tests, on their own
stack); ``create_app()`` makes them at start-up from the configuration (``api.services.make_services``);
``casework-api`` runs it (api/server.py).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.types import Receive, Scope, Send

from api import docs_pages, failures, problems
from api.door import Door
from api.security_events import Watch
from api.routes import audit, cases, events, feeds, me, ops, referrals, tasks
from api.inbox.web import create_inbox
from api.services import Services, make_services
from casework.config import InboxSettings

API_VERSION = "1"
DESCRIPTION = """Cases of the ACRO overseas-convictions process, for people and other systems.

Every request carries an OAuth 2.0 bearer token from the configured OpenID Connect issuer;
what each role may do is the policy in docs/access.md. Errors are `application/problem+json`
(RFC 9457), naming the field or the rule (docs/rules.md)."""


class CaseworkApi(FastAPI):
    """FastAPI, keeping an exception's text out of the logs: the app's handler has answered
    500 and logged the exception's type (api/problems.py); Starlette then raises it again
    for the server, and uvicorn would log it whole - with whatever personal data its text
    holds (issue 25, item 10)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        except Exception:  # answered already (500): logged by type only
            if scope["type"] != "http":
                raise


def create_app(
    made: Services | None = None,
    *,
    make: Callable[[], Awaitable[tuple[Services, Callable[[], Awaitable[None]]]]] | None = None,
    inbox: InboxSettings | None = None,
) -> FastAPI:
    """``made``: services the caller owns; otherwise ``make()`` gives services and their closer."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if made is not None:
            app.state.services = made
            yield
            return
        svc, close = await (make or make_services)()
        app.state.services = svc
        try:
            yield
        finally:
            await close()

    app = CaseworkApi(title="acro-casework API", version=API_VERSION, description=DESCRIPTION, lifespan=lifespan,
                      openapi_url="/openapi.json", docs_url=None, redoc_url=None)
    app.state.watch = Watch()
    app.add_middleware(Door)
    problems.install(app)
    docs_pages.install(app)  # /docs (Swagger UI, self-hosted) and /docs/api (the problem types)
    failures.install(app)
    for module in (referrals, events, cases, tasks, feeds, audit, ops, me):
        app.include_router(module.router)

    # The caseworkers' web inbox (docs/inbox.md): same process, same services and policy.
    app.mount("/inbox", create_inbox(lambda: app.state.services, inbox, watch=app.state.watch))

    @app.get("/live", tags=["health"], summary="The process is up (no authentication)")
    async def live() -> dict[str, str]:
        return {"status": "live"}

    @app.get("/metrics", include_in_schema=False)
    async def metrics() -> Response:
        """Prometheus: refusals by reason, and repeated refusals (api/security_events.py)."""
        return Response(generate_latest(app.state.watch.registry), media_type=CONTENT_TYPE_LATEST)

    return app
