"""``casework login``, ``logout`` and ``whoami``: a person's sign-in for the API.

``login`` runs the authorization-code flow with PKCE and a loopback redirect
(``access/login.py``, RFC 8252) against the issuer (``CASEWORK_OIDC_ISSUER``, else the
local stack's ``oidc_issuer`` in ``stack.json``) as the public client ``casework-cli``,
and keeps the tokens in the user's config folder (``starter/credentials.py``); commands
renew the access token with the refresh token until the sign-in ends. ``logout`` revokes
the refresh token at the issuer (RFC 7009) and deletes the file. ``whoami`` asks the API
(``GET /me``) who the token is and what the policy lets them do.
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

CLIENT_ID = credentials.CLIENT_ID
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


def _who(subject: Any, roles: list[str], teams: list[str]) -> str:
    return f"{subject or '?'} ({', '.join(roles) or 'no roles'}" + (f"; {', '.join(teams)})" if teams else ")")


def _api_source() -> str:
    """Which stack the commands talk to, for people."""
    from starter.stack_file import stack_file_path

    if config.CliSettings.read().api_url:
        return "CASEWORK_API_URL"
    return f"the local stack ({stack_file_path()})"


def login(
    no_browser: bool = typer.Option(False, "--no-browser", help="Only print the sign-in address (e.g. over SSH)."),
    timeout: int = typer.Option(300, "--timeout", help="Seconds to wait for the sign-in (10-1800)."),
) -> None:
    """Sign in for the API: your browser signs you in; your commands stay signed in until
    the issuer ends the sign-in (a working day on the local stack) or 'casework logout'.

    The tokens are kept in $XDG_CONFIG_HOME/casework/token.json (private to you).
    CASEWORK_TOKEN, when set, is used instead.
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
    stored = credentials.from_answer(answer, where)
    path = credentials.save(stored)
    claims = credentials.unverified_claims(stored.access_token)
    renew = "" if stored.refresh_token else " (the issuer gave no refresh token: sign in again then)"
    console.print(f"Signed in as {_who(claims.get('sub'), claims.get('roles') or [], claims.get('groups') or [])} "
                  f"until {_until(stored.signed_in_until)}{renew}; kept in {path}.", markup=False, soft_wrap=True)
    if config.CliSettings.read().token:
        console.print("Note: CASEWORK_TOKEN is set, and commands send it instead; unset it to use this sign-in.",
                      markup=False, soft_wrap=True)


def logout() -> None:
    """Sign out: the issuer revokes your refresh token, and the kept tokens are deleted."""
    from access.login import LoginFailed, revoke

    stored = credentials.load()
    if stored is None:
        console.print("Not signed in: there was no stored token.", markup=False)
    else:
        revoked = ""
        if stored.refresh_token and stored.issuer:
            try:
                revoked = ("the issuer revoked the sign-in; " if revoke(stored.issuer, stored.refresh_token,
                                                                        client_id=CLIENT_ID)
                           else "the issuer has no revocation endpoint; ")
            except LoginFailed as err:
                revoked = f"the sign-in could not be revoked ({err}); "
        credentials.forget()
        console.print(f"Signed out: {revoked}the tokens in {credentials.token_path()} are deleted.",
                      markup=False, soft_wrap=True)
    if config.CliSettings.read().token:
        console.print("Note: CASEWORK_TOKEN is still set in this environment.", markup=False)


def whoami(json_out: bool = typer.Option(False, "--json", help="Print it as JSON.")) -> None:
    """Who your commands act as, as the API sees your token (GET /me): subject, roles,
    teams, what the policy lets you do, and which stack you talk to."""
    from starter.api_client import error_for, run

    explicit = config.CliSettings.read().token
    stored = None if explicit else credentials.current()  # renewed first when due
    if not explicit and stored is None:
        raise CliError(f"not signed in: {credentials.LOGIN_HINT}", Exit.NOT_SIGNED_IN)

    async def ask(api: Any) -> Any:
        answer = await api.request("GET", "/me")
        if not answer.ok:
            raise error_for(answer)
        return answer.body, api.base_url

    me, api_url = run(ask)
    source = "CASEWORK_TOKEN" if explicit else str(credentials.token_path())
    until = None if stored is None else stored.signed_in_until
    if json_out:
        print_json(me | {"api": api_url, "api_from": _api_source(), "token_from": source,
                         "signed_in_until": until})
        return
    may = me.get("may") or {}
    state = f"signed in until {_until(until)}" if stored is not None else "with CASEWORK_TOKEN"
    lines = [
        f"{_who(me.get('subject'), me.get('roles') or [], me.get('teams') or [])}, {state}; token from {source}",
        f"API {api_url} (from {_api_source()}); issuer {me.get('issuer', '?')}",
        f"Sees: {may.get('sees_cases', '?')}",
    ]
    for label, key in (("Sends", "sends"), ("Works tasks", "works_tasks"),
                       ("Personal data for", "personal_data_purposes"), ("Reads feeds", "reads_feeds"),
                       ("Also", "other")):
        if may.get(key):
            lines.append(f"{label}: {', '.join(may[key])}")
    for line in lines:
        console.print(line, markup=False, soft_wrap=True)
