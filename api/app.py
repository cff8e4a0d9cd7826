"""The API application: problem documents, the routers, and the services its requests share.

``create_app(services)`` serves with services made by the caller (the tests, on their own
stack); ``create_app()`` makes them at start-up from the configuration (api/service.py).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI

from access.settings import InboxSettings
from api import failures, problems
from api.inbox.web import create_inbox
from api.routes import cases, events, feeds, referrals, tasks
from api.services import Services

API_VERSION = "1"
DESCRIPTION = """Cases of the ACRO overseas-convictions process, for people and other systems.

Every request carries an OAuth 2.0 bearer token from the configured OpenID Connect issuer;
what each role may do is the policy in docs/access.md. Errors are `application/problem+json`
(RFC 9457), naming the field or the rule (docs/rules.md)."""


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
        from api.service import make_services

        svc, close = await (make or make_services)()
        app.state.services = svc
        try:
            yield
        finally:
            await close()

    app = FastAPI(title="acro-casework API", version=API_VERSION, description=DESCRIPTION, lifespan=lifespan,
                  openapi_url="/openapi.json", docs_url="/docs", redoc_url=None)
    problems.install(app)
    failures.install(app)
    for module in (referrals, events, cases, tasks, feeds):
        app.include_router(module.router)

    # The caseworkers' web inbox (docs/inbox.md): same process, same services and policy.
    app.mount("/inbox", create_inbox(lambda: app.state.services, inbox))

    @app.get("/live", tags=["health"], summary="The process is up (no authentication)")
    async def live() -> dict[str, str]:
        return {"status": "live"}

    return app
