"""Tokens from the development issuer by the real flows, for the local stack's own tools
(the tests, the benchmark): client credentials for systems, authorization code with PKCE
for people, the person picked on the issuer's sign-in page as a browser would."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlsplit

import httpx

from access.dev_issuer import Identities
from access.pkce import s256

#: The confidential client people sign in through (deploy/dev-identities.toml).
WEB_CLIENT = "casework-web"
WEB_REDIRECT = "http://127.0.0.1:8088/callback"


@dataclass
class Tokens:
    """Real tokens from the issuer at ``issuer_url``, cached per identity and scope."""

    issuer_url: str
    identities: Identities
    _cache: dict[tuple[str, str | None], str] = field(default_factory=dict)

    def system(self, client: str, scope: str | None = None) -> str:
        """Client credentials: ``scope`` space-separated, or all the client's scopes."""
        key = (client, scope)
        if key not in self._cache:
            secret = self.identities.clients[client].secret or ""
            data = {"grant_type": "client_credentials"} | ({"scope": scope} if scope else {})
            answer = httpx.post(f"{self.issuer_url}/token", data=data, auth=(client, secret))
            answer.raise_for_status()
            self._cache[key] = answer.json()["access_token"]
        return self._cache[key]

    def person(self, user: str) -> str:
        """Authorization code with PKCE through the web client."""
        key = (user, None)
        if key not in self._cache:
            verifier = secrets.token_urlsafe(48)
            params = {"response_type": "code", "client_id": WEB_CLIENT, "redirect_uri": WEB_REDIRECT,
                      "scope": "openid casework", "state": secrets.token_hex(8), "code_challenge": s256(verifier),
                      "code_challenge_method": "S256", "username": user}
            answer = httpx.post(f"{self.issuer_url}/authorize", data=params)
            if answer.status_code != 303:
                raise RuntimeError(f"the development issuer did not sign {user} in: {answer.status_code}")
            code = parse_qs(urlsplit(answer.headers["location"]).query)["code"][0]
            secret = self.identities.clients[WEB_CLIENT].secret or ""
            token = httpx.post(f"{self.issuer_url}/token", auth=(WEB_CLIENT, secret), data={
                "grant_type": "authorization_code", "code": code, "redirect_uri": WEB_REDIRECT, "code_verifier": verifier})
            token.raise_for_status()
            self._cache[key] = token.json()["access_token"]
        return self._cache[key]

    def of(self, who: str, scope: str | None = None) -> str:
        """A person's token for a user name, a system's for a client name."""
        return self.system(who, scope) if who in self.identities.clients else self.person(who)
