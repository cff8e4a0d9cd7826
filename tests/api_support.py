"""The API on a real stack for tests: the development issuer over HTTP, the API on
uvicorn on a loopback port (the API's own database login), a worker on the given
Temporal server. Tokens come from the issuer by the real flows: client credentials for
systems, authorization code with PKCE for people."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import uvicorn
from temporalio.client import Client

from access.directory import load_directory
from access.dev_issuer import Identities, Running, load_identities, running
from access.pkce import s256
from access.settings import AccessSettings
from access.tokens import TokenVerifier
from api.app import create_app
from api.services import Services
from cid.db import API_LOGIN, create_pool, login_as
from workflows.client import CaseClient

IDENTITIES = Path(__file__).resolve().parent.parent / "deploy" / "dev-identities.toml"
LOCAL = {"CASEWORK_STACK": "local"}
WEB_CLIENT = "casework-web"
WEB_REDIRECT = "http://127.0.0.1:8088/callback"


@dataclass
class Tokens:
    """Real tokens from the development issuer, cached per identity."""

    issuer: Running
    identities: Identities
    _cache: dict[tuple[str, str | None], str] = field(default_factory=dict)

    def system(self, client: str, scope: str | None = None) -> str:
        """Client credentials: ``scope`` space-separated, or all the client's scopes."""
        key = (client, scope)
        if key not in self._cache:
            secret = self.identities.clients[client].secret
            data = {"grant_type": "client_credentials"} | ({"scope": scope} if scope else {})
            answer = httpx.post(f"{self.issuer.url}/token", data=data, auth=(client, secret or ""))
            answer.raise_for_status()
            self._cache[key] = answer.json()["access_token"]
        return self._cache[key]

    def person(self, user: str) -> str:
        """Authorization code with PKCE through the web client, ``user`` picked on the sign-in page."""
        key = (user, None)
        if key not in self._cache:
            verifier = secrets.token_urlsafe(48)
            params = {"response_type": "code", "client_id": WEB_CLIENT, "redirect_uri": WEB_REDIRECT,
                      "scope": "openid casework", "state": secrets.token_hex(8), "code_challenge": s256(verifier),
                      "code_challenge_method": "S256", "username": user}
            answer = httpx.post(f"{self.issuer.url}/authorize", data=params)
            assert answer.status_code == 303, answer.text
            code = parse_qs(urlsplit(answer.headers["location"]).query)["code"][0]
            secret = self.identities.clients[WEB_CLIENT].secret or ""
            token = httpx.post(f"{self.issuer.url}/token", auth=(WEB_CLIENT, secret), data={
                "grant_type": "authorization_code", "code": code, "redirect_uri": WEB_REDIRECT, "code_verifier": verifier})
            token.raise_for_status()
            self._cache[key] = token.json()["access_token"]
        return self._cache[key]

    def of(self, who: str, scope: str | None = None) -> str:
        """A person's token for a user name, a system's for a client name."""
        return self.system(who, scope) if who in self.identities.clients else self.person(who)


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
        services = Services(verifier, pool, CaseClient(temporal, pool=pool, task_queue=task_queue),
                            load_directory(IDENTITIES))
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        server = uvicorn.Server(uvicorn.Config(create_app(services), log_level="warning", access_log=False))
        serve = asyncio.create_task(server.serve(sockets=[sock]))
        try:
            while not server.started:
                if serve.done():
                    serve.result()
                await asyncio.sleep(0.02)
            async with httpx.AsyncClient(base_url=url, timeout=60) as http:
                yield ApiStack(url, issuer, Tokens(issuer, identities), services, http)
        finally:
            server.should_exit = True
            await serve
            sock.close()
            await pool.close()
