"""``casework login`` for people at a terminal: the authorization-code flow with PKCE and
a loopback redirect (RFC 8252, OAuth 2.0 for native apps); then the refresh-token grant
(RFC 6749 section 6) that keeps a sign-in going, and revocation (RFC 7009) at sign-out.
Standard OAuth 2.0 throughout, so a production issuer works the same way as the
development one.

Why the loopback redirect and not the device-code flow (RFC 8628): it is the same
authorization-code + PKCE flow a browser-based client uses, so the issuer has one way for
people to sign in, and every corporate issuer supports it; the code never leaves the machine (it
comes back to 127.0.0.1 on a port chosen now); and it is not open to device-code
phishing, where a person is talked into typing someone else's code. The cost: the browser
must run on the machine where `casework login` runs (over SSH, forward the port).
"""

from __future__ import annotations

import secrets
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any, Callable
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx

from access.pkce import s256


class LoginFailed(RuntimeError):
    """Sign-in did not complete; the message says why (never the code or a token)."""


@dataclass
class _Callback:
    params: dict[str, str] | None = None


def _handler(box: _Callback, done: threading.Event) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            parts = urlsplit(self.path)
            if parts.path != "/callback":
                self.send_error(404)
                return
            box.params = {k: v[0] for k, v in parse_qs(parts.query).items()}
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.end_headers()
            self.wfile.write(b"Signed in: you can close this window and go back to the terminal.\n")
            done.set()

        def log_message(self, *args: Any) -> None:  # the query holds the code: never logged
            pass

    return Handler


def discover(http: httpx.Client, issuer: str) -> dict[str, Any]:
    """OpenID Connect Discovery: the issuer's endpoints; its ``issuer`` must be ours."""
    try:
        config = http.get(issuer.rstrip("/") + "/.well-known/openid-configuration").raise_for_status().json()
    except (httpx.HTTPError, ValueError) as err:
        raise LoginFailed(f"the issuer {issuer} could not be reached ({type(err).__name__})") from None
    if not isinstance(config, dict) or config.get("issuer") != issuer.rstrip("/"):
        raise LoginFailed("the issuer's discovery document names another issuer")
    return config


def _oauth_error(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return f"HTTP {response.status_code}"
    if not isinstance(body, dict):
        return f"HTTP {response.status_code}"
    return " ".join(str(part) for part in (body.get("error"), body.get("error_description")) if part) or f"HTTP {response.status_code}"


def refresh(issuer: str, refresh_token: str, *, client_id: str = "casework-cli") -> dict[str, Any]:
    """The refresh-token grant (RFC 6749 section 6) as a public client: a new access token
    (and, from a rotating issuer, a new refresh token). ``LoginFailed`` when the issuer
    refuses (the sign-in ended, was revoked, or the token was used already)."""
    with httpx.Client(timeout=10) as http:
        config = discover(http, issuer)
        try:
            response = http.post(config["token_endpoint"], data={
                "grant_type": "refresh_token", "refresh_token": refresh_token, "client_id": client_id})
        except httpx.HTTPError as err:
            raise LoginFailed(f"the issuer {issuer} could not be reached ({type(err).__name__})") from None
        if response.status_code != 200:
            raise LoginFailed(f"the issuer refused to renew the sign-in ({_oauth_error(response)})")
        return response.json()


def revoke(issuer: str, refresh_token: str, *, client_id: str = "casework-cli") -> bool:
    """RFC 7009 at the issuer's ``revocation_endpoint``; False when it has none."""
    with httpx.Client(timeout=10) as http:
        config = discover(http, issuer)
        endpoint = config.get("revocation_endpoint")
        if not endpoint:
            return False
        try:
            response = http.post(endpoint, data={"token": refresh_token, "token_type_hint": "refresh_token",
                                                 "client_id": client_id})
        except httpx.HTTPError as err:
            raise LoginFailed(f"the issuer {issuer} could not be reached ({type(err).__name__})") from None
        if response.status_code != 200:
            raise LoginFailed(f"the issuer refused the revocation ({_oauth_error(response)})")
        return True


def login(issuer: str, *, client_id: str = "casework-cli", scope: str = "openid casework",
          open_browser: Callable[[str], Any] | None = None, timeout: float = 300) -> dict[str, Any]:
    """Sign a person in through ``issuer``; returns the token response (access_token, ...).

    ``open_browser`` gets the authorization URL (default: ``webbrowser.open``, with the URL
    printed for a person to open by hand)."""
    if open_browser is None:
        import webbrowser

        def open_browser(url: str) -> None:
            print(f"Sign in at: {url}", flush=True)
            webbrowser.open(url)

    with httpx.Client(timeout=10) as http:
        config = discover(http, issuer)
        verifier = secrets.token_urlsafe(64)
        state = secrets.token_urlsafe(16)
        box, done = _Callback(), threading.Event()
        server = HTTPServer(("127.0.0.1", 0), _handler(box, done))
        redirect_uri = f"http://127.0.0.1:{server.server_address[1]}/callback"
        thread = threading.Thread(target=server.serve_forever, name="login-callback", daemon=True)
        thread.start()
        try:
            open_browser(config["authorization_endpoint"] + "?" + urlencode({
                "response_type": "code", "client_id": client_id, "redirect_uri": redirect_uri, "scope": scope,
                "state": state, "code_challenge": s256(verifier), "code_challenge_method": "S256",
            }))
            if not done.wait(timeout):
                raise LoginFailed(f"no sign-in within {timeout:.0f} seconds")
        finally:
            server.shutdown()
            server.server_close()
        got = box.params or {}
        if got.get("state") != state:
            raise LoginFailed("the sign-in answer does not belong to this login (state differs)")
        if "iss" in got and got["iss"] != config["issuer"]:  # RFC 9207: a mix-up attack
            raise LoginFailed("the sign-in answer came from another issuer")
        if "error" in got:
            raise LoginFailed(f"sign-in refused: {got['error']} {got.get('error_description', '')}".strip())
        response = http.post(config["token_endpoint"], data={
            "grant_type": "authorization_code", "code": got.get("code", ""), "redirect_uri": redirect_uri,
            "client_id": client_id, "code_verifier": verifier,
        })
        if response.status_code != 200:
            raise LoginFailed(f"the issuer refused the code ({_oauth_error(response)})")
        return response.json()
