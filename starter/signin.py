"""``casework login``, ``logout`` and ``whoami``: a person's token for the API.

``login`` runs the authorization-code flow with PKCE and a loopback redirect
(``access/login.py``, RFC 8252) against the issuer (``CASEWORK_OIDC_ISSUER``, else the
local stack's ``oidc_issuer`` in ``stack.json``) as the public client ``casework-cli``,
and keeps the token in the user's config folder (``starter/credentials.py``).
"""

from __future__ import annotations

import sys
from datetime import datetime, timezone
from typing import Any

import typer

from casework import config
from starter import credentials
from starter.exits import CliError, Exit
from starter.output import console, print_json

CLIENT_ID = "casework-cli"
SCOPE = "openid casework"


def issuer() -> str:
    from starter.stack_file import OIDC_ISSUER, stack_settings

    found = config.CliSettings.read().oidc_issuer or stack_settings().get(OIDC_ISSUER)
    if not found:
        raise CliError("no sign-in issuer: set CASEWORK_OIDC_ISSUER, or start the local stack with 'casework up'",
                       Exit.UNAVAILABLE)
    return found.rstrip("/")


def _until(epoch: Any) -> str:
    if not isinstance(epoch, (int, float)):
        return "an unknown time"
    return datetime.fromtimestamp(epoch, timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def _who(claims: dict[str, Any]) -> str:
    roles = ", ".join(claims.get("roles") or []) or "no roles"
    teams = ", ".join(claims.get("groups") or [])
    return f"{claims.get('sub', '?')} ({roles}" + (f"; {teams})" if teams else ")")


def login(
    no_browser: bool = typer.Option(False, "--no-browser", help="Only print the sign-in address (e.g. over SSH)."),
    timeout: int = typer.Option(300, "--timeout", help="Seconds to wait for the sign-in (10-1800)."),
) -> None:
    """Sign in for the API: your browser signs you in, the token is kept for your commands.

    The token is stored in $XDG_CONFIG_HOME/casework/token.json (private to you) until it
    expires or 'casework logout'. CASEWORK_TOKEN, when set, is used instead.
    """
    from access.login import LoginFailed, login as sign_in

    if not 10 <= timeout <= 1800:
        raise CliError("--timeout is from 10 to 1800 seconds", Exit.BAD_INPUT)
    where = issuer()

    def show(url: str) -> None:
        # stderr: stdout keeps only the result; one line, never wrapped, so it can be copied.
        print(f"Sign in at: {url}", file=sys.stderr, flush=True)
        if not no_browser:
            import webbrowser

            webbrowser.open(url)

    try:
        answer = sign_in(where, client_id=CLIENT_ID, scope=SCOPE, open_browser=show, timeout=timeout)
    except LoginFailed as err:
        raise CliError(f"not signed in: {err}", Exit.NOT_SIGNED_IN) from None
    token = answer.get("access_token")
    if not isinstance(token, str) or not token:
        raise CliError("not signed in: the issuer gave no access token", Exit.NOT_SIGNED_IN)
    path = credentials.save(token, where, answer.get("expires_in"))
    claims = credentials.unverified_claims(token)
    console.print(f"Signed in as {_who(claims)} until {_until(claims.get('exp'))}; token kept in {path}.",
                  markup=False, soft_wrap=True)
    if config.CliSettings.read().token:
        console.print("Note: CASEWORK_TOKEN is set, and commands send it instead; unset it to use this sign-in.",
                      markup=False, soft_wrap=True)


def logout() -> None:
    """Forget the token 'casework login' kept (the issuer's session, if any, is not ended)."""
    if credentials.forget():
        console.print(f"Signed out: the token in {credentials.token_path()} is deleted.", markup=False, soft_wrap=True)
    else:
        console.print("Not signed in: there was no stored token.", markup=False)
    if config.CliSettings.read().token:
        console.print("Note: CASEWORK_TOKEN is still set in this environment.", markup=False)


def whoami(json_out: bool = typer.Option(False, "--json", help="Print it as JSON.")) -> None:
    """Who your commands act as: the token's subject, roles and teams (the API checks the token)."""
    explicit = config.CliSettings.read().token
    if explicit:
        token, source, expires_at = explicit, "CASEWORK_TOKEN", None
    else:
        stored = credentials.load()
        if stored is None:
            raise CliError(f"not signed in: {credentials.LOGIN_HINT}", Exit.NOT_SIGNED_IN)
        token, source, expires_at = stored.access_token, str(credentials.token_path()), stored.expires_at
    claims = credentials.unverified_claims(token)
    exp = claims.get("exp", expires_at)
    expired = isinstance(exp, (int, float)) and exp <= datetime.now(timezone.utc).timestamp()
    if json_out:
        print_json({"subject": claims.get("sub"), "roles": claims.get("roles") or [], "teams": claims.get("groups") or [],
                    "issuer": claims.get("iss"), "client_id": claims.get("client_id"), "expires_at": exp,
                    "expired": expired, "source": source})
    else:
        state = f"expired at {_until(exp)}" if expired else f"until {_until(exp)}"
        console.print(f"{_who(claims)}, {state}; issuer {claims.get('iss', '?')}; token from {source}",
                      markup=False, soft_wrap=True)
    if expired:
        raise CliError(f"not signed in: the token has expired; {credentials.LOGIN_HINT}", Exit.NOT_SIGNED_IN)
