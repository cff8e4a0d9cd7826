"""The API on a real stack for tests: the development issuer over HTTP, the API on
uvicorn on a loopback port (the API's own database login), a worker on the given
Temporal server. Tokens come from the issuer by the real flows: client credentials for
systems, authorization code with PKCE for people."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import uvicorn
from temporalio.client import Client

from access.dev_tokens import Tokens
from access.directory import load_directory
from access.dev_issuer import Running, load_identities, running
from casework.config import AccessSettings, InboxSettings
from access.tokens import TokenVerifier
from api.app import create_app
from api.serving import uvicorn_options
from api.services import Services
from cid.db import API_LOGIN, create_pool, login_as
from workflows.client import CaseClient
from tests.support import until

IDENTITIES = Path(__file__).resolve().parent.parent / "deploy" / "dev-identities.toml"
LOCAL = {"CASEWORK_STACK": "local"}


@dataclass
class ApiStack:
    url: str
    issuer: Running
    tokens: Tokens
    services: Services
    http: httpx.AsyncClient

    def headers(self, who: str | None, scope: str | None = None) -> dict[str, str]:
        return {} if who is None else {"Authorization": f"Bearer {self.tokens.of(who, scope)}"}

    async def call(self, method: str, path: str, who: str | None, *, scope: str | None = None, **kwargs) -> httpx.Response:
        headers = self.headers(who, scope) | kwargs.pop("headers", {})
        return await self.http.request(method, path, headers=headers, **kwargs)


@contextlib.asynccontextmanager
async def serving_api(temporal: Client, task_queue: str, database_url: str) -> AsyncIterator[ApiStack]:
    identities = load_identities(IDENTITIES)
    with running(identities, environ=LOCAL) as issuer:
        pool = await create_pool(login_as(database_url, API_LOGIN), max_size=10)
        verifier = TokenVerifier(AccessSettings(issuer=issuer.url, audience="casework-api"))
        services = Services(verifier, pool, CaseClient(temporal, task_queue=task_queue),
                            load_directory(IDENTITIES))
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        # The web inbox over plain http on loopback: cookies without Secure (docs/inbox.md).
        app = create_app(services, inbox=InboxSettings(secure_cookies=False))
        server = uvicorn.Server(uvicorn.Config(app, log_level="warning", **uvicorn_options()))
        serve = asyncio.create_task(server.serve(sockets=[sock]))
        try:
            async def started() -> bool:
                if serve.done():
                    serve.result()  # it ended: raise what ended it
                return server.started

            await until(started, "the API to start", every=0.02)
            async with httpx.AsyncClient(base_url=url, timeout=60) as http:
                yield ApiStack(url, issuer, Tokens(issuer.url, identities), services, http)
        finally:
            server.should_exit = True
            await serve
            sock.close()
            await pool.close()
