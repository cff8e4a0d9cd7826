"""The development OpenID Connect issuer: tokens for the local stack, never anywhere else.

It serves what the API's verifier (``access.tokens``) and its clients need, no more:

- ``GET /.well-known/openid-configuration`` (OpenID Connect Discovery 1.0, RFC 8414);
- ``GET /jwks`` (RFC 7517), one signing key, or two for a while after ``rotate_keys``;
- ``POST /token`` (RFC 6749 section 3.2): ``client_credentials`` for other systems, with
  scopes (section 4.4), ``authorization_code`` (section 4.1) with PKCE (RFC 7636,
  S256 only, required of every client), and ``refresh_token`` (section 6) for people,
  rotating (access/dev_issuer_state.py);
- ``POST /revoke`` (RFC 7009): a refresh token's sign-in ends (``casework logout``);
- ``GET``/``POST /authorize``: a sign-in page that lists the named people of the identities
  file; choosing one redirects with a single-use code, and ``iss`` (RFC 9207).

Its signing keys and refresh tokens are kept in a state file when given one (``casework
up``: ``issuer-state.json`` in the data folder, 0600), so a restart of the stack signs
nobody out. Access tokens are RFC 9068 JWTs (``typ: at+jwt``), RS256 (or ES256), ``aud`` the API's audience;
a client-credentials token's ``sub`` is the client's ID (section 2.2), which is how the
verifier tells a system from a person. ``casework login`` uses the loopback redirect of
RFC 8252 (``access.login``): a public client, any loopback port.

Why hand-written: the endpoints above are about 300 lines, each checked against its RFC;
Authlib's authorization server has integrations for Flask and Django only, and wiring it
to Starlette plus the client, code and token models it needs is more code than this; the
mock providers on PyPI are Flask applications without client-credentials scopes or key
rotation. What matters for security is the verifier, and that is PyJWT.

Why it cannot run in production (``check_local_stack``): it binds only to a loopback
address, refuses an issuer URL whose host is not loopback (so its tokens name an issuer
no production API trusts), refuses inside Kubernetes, and refuses unless the environment
carries the local-stack marker ``CASEWORK_STACK=local``, which the local stack (`casework
up`) is to set and no deployment file sets. Anyone who reaches its port can be anyone in
the identities file: that is why it must never be reachable from another machine.
"""

from __future__ import annotations

import argparse
import base64
import hmac
import html
import ipaddress
import secrets
import signal
import socket
import sys
import threading
import time
import tomllib
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator
from urllib.parse import parse_qsl, unquote_plus, urlencode, urlsplit

import jwt
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from access import pkce
from access.dev_issuer_state import DEFAULT_REFRESH_SECONDS, IssuerState, RefreshRefused, SigningKey
from access.loopback import LoopbackHostOnly
from casework import config

CODE_SECONDS = 60
#: Scopes a person's token may carry (people's rights come from their roles, not scopes).
PERSON_SCOPES = frozenset({"openid", "casework"})


class DevIssuerRefused(RuntimeError):
    """The development issuer will not run here; the message says why."""


# ------------------------------------------------------------------ identities


@dataclass(frozen=True)
class User:
    id: str
    roles: tuple[str, ...] = ()
    teams: tuple[str, ...] = ()


@dataclass(frozen=True)
class Client:
    id: str
    secret: str | None = None
    roles: tuple[str, ...] = ()
    teams: tuple[str, ...] = ()
    scopes: tuple[str, ...] = ()
    redirect_uris: tuple[str, ...] = ()
    public: bool = False
    #: A registered loopback redirect with no port matches any port (RFC 8252 7.3), as
    #: for a public client: the web inbox's API runs on whatever port the local stack or
    #: a test chose (issue 21).
    loopback_any_port: bool = False


@dataclass(frozen=True)
class Identities:
    users: dict[str, User]
    clients: dict[str, Client]


def load_identities(path: str | Path) -> Identities:
    """Read the identities file (deploy/dev-identities.toml); bad entries name the entry."""
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as err:
        raise DevIssuerRefused(f"identities file {path}: {err}") from None

    def names(entry: dict[str, Any], key: str, where: str) -> tuple[str, ...]:
        value = entry.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            raise DevIssuerRefused(f"identities file {path}: {where}.{key} must be a list of names")
        return tuple(value)

    users = {
        uid: User(uid, names(e, "roles", f"users.{uid}"), names(e, "teams", f"users.{uid}"))
        for uid, e in data.get("users", {}).items()
    }
    clients: dict[str, Client] = {}
    for cid, e in data.get("clients", {}).items():
        where = f"clients.{cid}"
        public = bool(e.get("public", False))
        secret = e.get("secret")
        if public == bool(secret):
            raise DevIssuerRefused(f"identities file {path}: {where} needs a secret, or public = true (and no secret)")
        redirects = names(e, "redirect_uris", where)
        if public and not redirects:
            raise DevIssuerRefused(f"identities file {path}: {where} is public, so it signs people in: give redirect_uris")
        clients[cid] = Client(cid, secret, names(e, "roles", where), names(e, "teams", where),
                              names(e, "scopes", where), redirects, public, bool(e.get("loopback_any_port", False)))
    clash = set(users) & set(clients)
    if clash:  # a person whose sub equals a client ID would pass for that system (RFC 9068 2.2)
        raise DevIssuerRefused(f"identities file {path}: {', '.join(sorted(clash))} is both a user and a client")
    return Identities(users, clients)


# ------------------------------------------------------------------ keys


def public_jwk(key: SigningKey) -> dict[str, Any]:
    algorithm = jwt.algorithms.RSAAlgorithm if key.alg == "RS256" else jwt.algorithms.ECAlgorithm
    jwk = algorithm.to_jwk(key.private.public_key(), as_dict=True)
    return {**jwk, "kid": key.kid, "use": "sig", "alg": key.alg}


# ------------------------------------------------------------------ the issuer


def _is_loopback_host(host: str | None) -> bool:
    if not host:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_local_stack(issuer: str, host: str, environ: dict[str, str] | None = None) -> None:
    """Refuse to run anywhere but the local stack (see the module docstring)."""
    where = config.LocalStackSettings.read(environ)
    if not where.is_local:
        raise DevIssuerRefused(
            f"the development issuer runs only on the local stack: {config.STACK_ENV}=local is not set "
            "(use a real OpenID Connect issuer anywhere else; docs/access.md)"
        )
    if where.in_kubernetes:
        raise DevIssuerRefused("the development issuer does not run in Kubernetes; use the cluster's OpenID Connect issuer")
    if not _is_loopback_host(host):
        raise DevIssuerRefused(f"the development issuer binds only to a loopback address, not {host!r}")
    parts = urlsplit(issuer)
    if parts.scheme != "http" or not _is_loopback_host(parts.hostname) or parts.query or parts.fragment:
        raise DevIssuerRefused(f"the development issuer's URL must be http://127.0.0.1:PORT (loopback), not {issuer!r}")


@dataclass
class _Code:
    client_id: str
    redirect_uri: str
    user: str
    scope: str
    challenge: str
    nonce: str | None
    expires: float


def _oauth_error(error: str, description: str, status: int = 400, **headers: str) -> JSONResponse:
    """RFC 6749 section 5.2."""
    return JSONResponse({"error": error, "error_description": description}, status_code=status,
                        headers={"Cache-Control": "no-store", **headers})


def _redirect_matches(registered: str, given: str, public: bool) -> bool:
    """Exact match; for a public (native) client, or one marked ``loopback_any_port``, a
    registered loopback IP literal with no port matches any port (RFC 8252 section 7.3)."""
    if given == registered:
        return True
    r, g = urlsplit(registered), urlsplit(given)
    return (public and r.scheme == g.scheme == "http" and r.port is None and g.port is not None
            and r.hostname in ("127.0.0.1", "::1") and g.hostname == r.hostname
            and g.path == r.path and not g.query and not g.fragment)


class DevIssuer:
    """The issuer's state (keys, pending codes) and its Starlette application."""

    def __init__(self, issuer: str, identities: Identities, *, audience: str = "casework-api", token_seconds: int = 600,
                 algorithm: str = "RS256", state_file: Path | None = None,
                 refresh_seconds: int = DEFAULT_REFRESH_SECONDS):
        if algorithm not in ("RS256", "ES256"):
            raise DevIssuerRefused(f"the development issuer signs with RS256 or ES256, not {algorithm!r}")
        self.algorithm = algorithm
        self.issuer = issuer.rstrip("/")
        self.identities = identities
        self.audience = audience
        self.token_seconds = token_seconds
        #: Signing keys and refresh tokens; kept in ``state_file`` across restarts when given
        #: (``casework up``: the data folder), else in memory (a restart is a key rotation).
        try:
            self.state = IssuerState(state_file, algorithm, refresh_seconds)
        except (OSError, ValueError, KeyError, TypeError) as err:
            raise DevIssuerRefused(f"its state file {state_file} cannot be read ({type(err).__name__}); "
                                   "delete it to start afresh (everyone signs in again)") from None
        self._codes: dict[str, _Code] = {}
        #: How often the JWKS was served (tests check that a verifier refetches only once).
        self.jwks_requests = 0
        self._lock = threading.Lock()
        self.app = Starlette(routes=[
            Route("/.well-known/openid-configuration", self._discovery),
            Route("/jwks", self._jwks),
            Route("/authorize", self._authorize, methods=["GET", "POST"]),
            Route("/token", self._token, methods=["POST"]),
            Route("/revoke", self._revoke, methods=["POST"]),
            Route("/dev/rotate-keys", self._rotate, methods=["POST"]),
        ], middleware=[Middleware(LoopbackHostOnly)])  # DNS rebinding (access/loopback.py)

    # ---- keys

    @property
    def kid(self) -> str:
        return self.state.keys[-1].kid

    def rotate_keys(self) -> str:
        """A new signing key with a new kid; the previous one stays in the JWKS (tokens it
        signed stay valid until they expire); older ones go."""
        return self.state.rotate(self.algorithm)

    def jwks(self) -> dict[str, Any]:
        return {"keys": [public_jwk(k) for k in self.state.keys]}

    def sign(self, claims: dict[str, Any], typ: str = "at+jwt") -> str:
        key = self.state.keys[-1]
        return jwt.encode(claims, key.private, algorithm=key.alg, headers={"kid": key.kid, "typ": typ})

    def access_token(self, sub: str, client: Client, scopes: list[str], roles: tuple[str, ...], teams: tuple[str, ...]) -> str:
        now = int(time.time())
        return self.sign({
            "iss": self.issuer, "sub": sub, "aud": self.audience, "client_id": client.id,
            "iat": now, "nbf": now, "exp": now + self.token_seconds, "jti": uuid.uuid4().hex,
            "scope": " ".join(scopes), "roles": list(roles), "groups": list(teams),
        })

    # ---- endpoints

    async def _discovery(self, request: Request) -> Response:
        i = self.issuer
        return JSONResponse({
            "issuer": i, "authorization_endpoint": f"{i}/authorize", "token_endpoint": f"{i}/token",
            "jwks_uri": f"{i}/jwks", "response_types_supported": ["code"],
            "grant_types_supported": ["authorization_code", "client_credentials", "refresh_token"],
            "revocation_endpoint": f"{i}/revoke", "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
            "subject_types_supported": ["public"], "id_token_signing_alg_values_supported": [self.algorithm],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
            "code_challenge_methods_supported": ["S256"],
            "scopes_supported": sorted(PERSON_SCOPES | {s for c in self.identities.clients.values() for s in c.scopes}),
            "claims_supported": ["sub", "iss", "aud", "exp", "iat", "nbf", "jti", "client_id", "scope", "roles", "groups", "nonce"],
            "authorization_response_iss_parameter_supported": True,
        })

    async def _jwks(self, request: Request) -> Response:
        self.jwks_requests += 1
        return JSONResponse(self.jwks(), headers={"Cache-Control": "max-age=60"})

    async def _rotate(self, request: Request) -> Response:
        refused = self._rotation_refused(request)
        if refused is not None:
            return refused
        return JSONResponse({"kid": self.rotate_keys()})

    def _rotation_refused(self, request: Request) -> Response | None:
        """Issue 25: rotating the keys (which withdraws the key before) takes an operator's
        token from this issuer, and no page of another origin may ask (Origin)."""
        origin = request.headers.get("origin")
        if origin is not None and origin.rstrip("/") != self.issuer:
            return _oauth_error("access_denied", "key rotation is not for pages of another origin", 403)
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        try:
            key = next(k for k in self.state.keys if k.kid == jwt.get_unverified_header(token).get("kid"))
            claims = jwt.decode(token, key.private.public_key(), algorithms=[key.alg], audience=self.audience,
                                issuer=self.issuer)
        except (StopIteration, jwt.InvalidTokenError):
            return _oauth_error("invalid_token", "key rotation takes an operator's bearer token from this issuer", 401,
                                **{"WWW-Authenticate": 'Bearer realm="dev-issuer"'})
        if scheme.lower() != "bearer" or "operator" not in claims.get("roles", []):
            return _oauth_error("insufficient_scope", "key rotation is for operators", 403)
        return None

    def _authorize_client(self, params: dict[str, str]) -> tuple[Client, str] | Response:
        """Checks that must pass before anything is sent to the redirect URI (RFC 6749 4.1.2.1)."""
        client = self.identities.clients.get(params.get("client_id", ""))
        if client is None or not client.redirect_uris:
            return HTMLResponse("<p>Unknown client, or a client that does not sign people in.</p>", status_code=400)
        redirect = params.get("redirect_uri", "")
        any_port = client.public or client.loopback_any_port
        if not any(_redirect_matches(r, redirect, any_port) for r in client.redirect_uris):
            return HTMLResponse("<p>That redirect_uri is not registered for this client.</p>", status_code=400)
        return client, redirect

    def _redirect(self, redirect: str, **values: str | None) -> RedirectResponse:
        query = urlencode({k: v for k, v in values.items() if v is not None})
        return RedirectResponse(f"{redirect}{'&' if '?' in redirect else '?'}{query}", status_code=303)

    async def _authorize(self, request: Request) -> Response:
        if request.method == "GET":
            params = dict(request.query_params)
        else:  # the sign-in page's form (parsed here: no multipart parser needed)
            params = dict(parse_qsl((await request.body()).decode("utf-8", "replace"), keep_blank_values=True))
        checked = self._authorize_client(params)
        if isinstance(checked, Response):
            return checked
        client, redirect = checked
        state = params.get("state")
        if params.get("response_type") != "code":
            return self._redirect(redirect, error="unsupported_response_type", state=state, iss=self.issuer)
        if params.get("code_challenge_method") != "S256" or not pkce.well_formed(params.get("code_challenge")):
            return self._redirect(redirect, error="invalid_request", error_description="PKCE with S256 is required",
                                  state=state, iss=self.issuer)
        if request.method == "GET":
            return self._sign_in_page(params)
        user = self.identities.users.get(params.get("username", ""))
        if user is None:
            return self._redirect(redirect, error="access_denied", error_description="no such person", state=state, iss=self.issuer)
        code = secrets.token_urlsafe(32)
        scope = " ".join(s for s in params.get("scope", "openid").split() if s in PERSON_SCOPES)
        with self._lock:
            self._codes[code] = _Code(client.id, redirect, user.id, scope, params["code_challenge"],
                                      params.get("nonce"), time.monotonic() + CODE_SECONDS)
        return self._redirect(redirect, code=code, state=state, iss=self.issuer)

    def _sign_in_page(self, params: dict[str, str]) -> Response:
        hidden = "".join(
            f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
            for k, v in params.items() if k != "username"
        )
        people = "".join(
            f'<li><button name="username" value="{html.escape(u.id)}">{html.escape(u.id)}</button> '
            f'{html.escape(", ".join(u.roles))}; {html.escape(", ".join(u.teams))}</li>'
            for u in self.identities.users.values()
        )
        return HTMLResponse(
            "<!doctype html><title>Development sign-in</title><h1>Development sign-in (local stack only)</h1>"
            f'<form method="post" action="/authorize">{hidden}<ul>{people}</ul></form>',
            headers={"Cache-Control": "no-store", "X-Frame-Options": "DENY"},
        )

    def _client_auth(self, request: Request, form: dict[str, str]) -> Client | Response:
        """client_secret_basic, client_secret_post, or none for a public client (RFC 6749 2.3)."""
        given_id, given_secret = form.get("client_id"), form.get("client_secret")
        header = request.headers.get("authorization", "")
        if header.lower().startswith("basic "):
            try:
                raw = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8")
            except ValueError:
                return _oauth_error("invalid_client", "malformed Basic credentials", 401, **{"WWW-Authenticate": "Basic"})
            ident, _, secret = raw.partition(":")
            given_id, given_secret = unquote_plus(ident), unquote_plus(secret)
        client = self.identities.clients.get(given_id or "")
        if client is None:
            return _oauth_error("invalid_client", "unknown client", 401, **{"WWW-Authenticate": "Basic"})
        if client.public:
            if given_secret:
                return _oauth_error("invalid_client", "a public client has no secret", 401)
            return client
        if not given_secret or not hmac.compare_digest(given_secret.encode(), (client.secret or "").encode()):
            return _oauth_error("invalid_client", "client authentication failed", 401, **{"WWW-Authenticate": "Basic"})
        return client

    async def _token(self, request: Request) -> Response:
        if not request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
            return _oauth_error("invalid_request", "the token request is application/x-www-form-urlencoded")
        form = dict(parse_qsl((await request.body()).decode("utf-8", "replace"), keep_blank_values=True))
        client = self._client_auth(request, form)
        if isinstance(client, Response):
            return client
        grant = form.get("grant_type")
        if grant == "client_credentials":
            return self._client_credentials(client, form)
        if grant == "authorization_code":
            return self._authorization_code(client, form)
        if grant == "refresh_token":
            return self._refresh(client, form)
        return _oauth_error("unsupported_grant_type", f"grant_type {grant!r} is not supported")

    def _tokens(self, body: dict[str, Any]) -> JSONResponse:
        return JSONResponse({**body, "token_type": "Bearer", "expires_in": self.token_seconds},
                            headers={"Cache-Control": "no-store", "Pragma": "no-cache"})

    def _client_credentials(self, client: Client, form: dict[str, str]) -> Response:
        if client.public or not client.scopes:
            return _oauth_error("unauthorized_client", "this client may not use client_credentials")
        asked = form.get("scope", "").split() or list(client.scopes)
        extra = [s for s in asked if s not in client.scopes]
        if extra:
            return _oauth_error("invalid_scope", f"not granted to this client: {' '.join(extra)}")
        token = self.access_token(client.id, client, asked, client.roles, client.teams)
        return self._tokens({"access_token": token, "scope": " ".join(asked)})

    def _authorization_code(self, client: Client, form: dict[str, str]) -> Response:
        with self._lock:
            pending = self._codes.pop(form.get("code", ""), None)  # single use, even when refused below
        if pending is None or pending.expires < time.monotonic() or pending.client_id != client.id:
            return _oauth_error("invalid_grant", "the code is unknown, used, expired or another client's")
        if form.get("redirect_uri") != pending.redirect_uri:
            return _oauth_error("invalid_grant", "redirect_uri differs from the authorization request's")
        verifier = form.get("code_verifier")
        if not pkce.well_formed(verifier) or not hmac.compare_digest(pkce.s256(verifier or ""), pending.challenge):
            return _oauth_error("invalid_grant", "the PKCE code_verifier does not match the code_challenge")
        user = self.identities.users[pending.user]
        scopes = pending.scope.split()
        body: dict[str, Any] = {"access_token": self.access_token(user.id, client, scopes, user.roles, user.teams),
                                "scope": pending.scope, **self._refresh_token(user.id, client, pending.scope)}
        if "openid" in scopes:
            now = int(time.time())
            id_claims = {"iss": self.issuer, "sub": user.id, "aud": client.id, "iat": now,
                         "exp": now + self.token_seconds, "auth_time": now}
            if pending.nonce:
                id_claims["nonce"] = pending.nonce
            body["id_token"] = self.sign(id_claims, typ="JWT")
        return self._tokens(body)


    # ---- refresh tokens (issue 24 item 3: a sign-in lasts a working day)

    def _refresh_token(self, user: str, client: Client, scope: str) -> dict[str, Any]:
        """A person's sign-in gets a refresh token (RFC 6749 section 6); ``refresh_expires_in``
        (as Keycloak names it) says when the sign-in ends, so the CLI can say it truthfully."""
        token, grant = self.state.issue(user, client.id, scope)
        return {"refresh_token": token, "refresh_expires_in": int(grant.expires - time.time())}

    def _refresh(self, client: Client, form: dict[str, str]) -> Response:
        """RFC 6749 section 6, rotating (docs: access/dev_issuer_state.py)."""
        try:
            token, grant = self.state.use(form.get("refresh_token", ""), client.id)
        except RefreshRefused as refused:
            return _oauth_error("invalid_grant", str(refused))
        user = self.identities.users.get(grant.user)
        if user is None:  # removed from the identities file since
            self.state.revoke(token, client.id)
            return _oauth_error("invalid_grant", "that person is no longer in the identities file")
        asked = form.get("scope", "").split() or grant.scope.split()
        if not set(asked) <= set(grant.scope.split()):
            return _oauth_error("invalid_scope", "a refresh cannot widen the sign-in's scope")
        return self._tokens({"access_token": self.access_token(user.id, client, asked, user.roles, user.teams),
                             "scope": " ".join(asked), "refresh_token": token,
                             "refresh_expires_in": int(grant.expires - time.time())})

    async def _revoke(self, request: Request) -> Response:
        """RFC 7009: 200 whether or not the token was known (section 2.2); the client
        authenticates as at the token endpoint. Access tokens are not tracked: they expire."""
        if not request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
            return _oauth_error("invalid_request", "the revocation request is application/x-www-form-urlencoded")
        form = dict(parse_qsl((await request.body()).decode("utf-8", "replace"), keep_blank_values=True))
        client = self._client_auth(request, form)
        if isinstance(client, Response):
            return client
        self.state.revoke(form.get("token", ""), client.id)
        return Response(status_code=200, headers={"Cache-Control": "no-store"})


# ------------------------------------------------------------------ running it


def loopback_socket(host: str = "127.0.0.1", port: int = 0) -> socket.socket:
    if not _is_loopback_host(host):
        raise DevIssuerRefused(f"the development issuer binds only to a loopback address, not {host!r}")
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    return sock


@dataclass
class Running:
    issuer: DevIssuer
    url: str
    _server: Any = field(repr=False)
    _thread: threading.Thread | None = field(default=None, repr=False)

    def alive(self) -> bool:
        """Whether it still serves (``casework up`` watches it)."""
        return self._thread is None or (self._thread.is_alive() and not self._server.should_exit)


@contextmanager
def running(identities: Identities, *, host: str = "127.0.0.1", port: int = 0, audience: str = "casework-api",
            token_seconds: int = 600, algorithm: str = "RS256", environ: dict[str, str] | None = None,
            state_file: Path | None = None, refresh_seconds: int = DEFAULT_REFRESH_SECONDS) -> Iterator[Running]:
    """Serve the issuer over real HTTP on a loopback port (0: any free one) in a thread,
    for as long as the ``with`` block lasts (the tests; `casework up` may too)."""
    import uvicorn

    sock = loopback_socket(host, port)
    bound = sock.getsockname()[1]
    url = f"http://{'[' + host + ']' if ':' in host else host}:{bound}"
    try:
        check_local_stack(url, host, environ)
    except DevIssuerRefused:
        sock.close()
        raise
    try:
        issuer = DevIssuer(url, identities, audience=audience, token_seconds=token_seconds, algorithm=algorithm,
                           state_file=state_file, refresh_seconds=refresh_seconds)
    except DevIssuerRefused:
        sock.close()
        raise
    server = uvicorn.Server(uvicorn.Config(issuer.app, log_level="warning", lifespan="off", access_log=False))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="dev-issuer", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.02)
    try:
        if not server.started:
            raise DevIssuerRefused("the development issuer did not start")
        yield Running(issuer, url, server, thread)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


def main(argv: list[str] | None = None) -> int:
    """``casework-dev-issuer`` / ``python -m access.dev_issuer``."""
    defaults = config.DevIssuerSettings.read()
    parser = argparse.ArgumentParser(prog="casework-dev-issuer", description=(
        "The development OpenID Connect issuer for the local stack (docs/access.md). "
        f"Needs {config.STACK_ENV}=local; binds to loopback only."))
    parser.add_argument("--host", default=defaults.host, help="a loopback address (default %(default)s)")
    parser.add_argument("--port", type=int, default=defaults.port, help="default %(default)s")
    parser.add_argument("--identities", default=defaults.identities, help="people, teams and clients (default %(default)s)")
    parser.add_argument("--audience", default=defaults.audience, help="the API's audience (default %(default)s)")
    args = parser.parse_args(argv)
    try:
        identities = load_identities(args.identities)
        with running(identities, host=args.host, port=args.port, audience=args.audience,
                     token_seconds=defaults.token_seconds) as served:
            # SIGTERM (docker stop, `casework up` ending) stops the server as Ctrl-C does.
            signal.signal(signal.SIGTERM, lambda *_: setattr(served._server, "should_exit", True))
            print(f"development issuer at {served.url} (CASEWORK_OIDC_ISSUER={served.url}); "
                  f"{len(identities.users)} people, {len(identities.clients)} clients; Ctrl-C stops it", flush=True)
            while served._server.started and not served._server.should_exit:
                time.sleep(0.5)
    except DevIssuerRefused as refused:
        print(f"casework-dev-issuer: {refused}", file=sys.stderr)
        return 5
    except OSError as err:
        print(f"casework-dev-issuer: cannot listen on {args.host}:{args.port} ({err.strerror})", file=sys.stderr)
        return 5
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
