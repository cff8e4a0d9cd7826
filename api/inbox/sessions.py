"""Who is signed in to the inbox: the session, its CSRF token, and sign-in/out.

Sign-in is OpenID Connect's authorization code flow with PKCE (S256) by Authlib's
Starlette client, as the confidential client ``InboxSettings.client_id``, at the issuer
the API's verifier trusts. The access token it brings back is verified by that same
verifier (``access.tokens``): the session holds the principal the token named (subject,
roles, teams), never a name the browser sent.

The browser's cookie is Starlette's signed session cookie (HttpOnly, SameSite=Lax,
Secure where TLS, path /inbox): it carries a random session token and, during sign-in,
Authlib's state, code verifier and nonce. The session itself is a row of the CID
(migration 0018): the idle and absolute timeouts are checked there on every request, and
signing out ends the row, so a cookie replayed after sign-out is refused.
"""

from __future__ import annotations

import hmac
import secrets
from datetime import timedelta
from urllib.parse import parse_qsl

from fastapi import Request

from access.principal import Kind, Principal
from casework.config import InboxSettings
from api.services import Services
from cid import inbox_sessions

COOKIE = "casework_inbox"
CSRF_FIELD = "csrf_token"


class SignInNeeded(Exception):
    """No live session: GET pages send the person to sign in; a POST is refused."""


class CsrfRefused(Exception):
    """A form without this session's CSRF token: 403, nothing done."""


def idle(settings: InboxSettings) -> timedelta:
    return timedelta(minutes=settings.idle_minutes)


def absolute(settings: InboxSettings) -> timedelta:
    return timedelta(hours=settings.absolute_hours)


def principal_of(session: inbox_sessions.Session) -> Principal:
    return Principal(subject=session.subject, kind=Kind.PERSON, roles=frozenset(session.roles),
                     teams=frozenset(session.teams), issuer=session.issuer)


async def current(request: Request, svc: Services, settings: InboxSettings) -> inbox_sessions.Session:
    """The live session of this request's cookie; SignInNeeded when there is none."""
    cached = getattr(request.state, "inbox_session", None)
    if cached is not None:
        return cached
    token = request.session.get("sid")
    if not isinstance(token, str):
        raise SignInNeeded()
    async with svc.pool.acquire() as conn:
        found = await inbox_sessions.live_session(conn, token, idle=idle(settings), absolute=absolute(settings))
    if found is None:
        request.session.pop("sid", None)
        raise SignInNeeded()
    request.state.inbox_session = found
    request.state.principal = principal_of(found)  # as api.auth sets it: security events name the subject
    return found


async def open_for(request: Request, svc: Services, who: Principal) -> None:
    """A new session for the verified ``who`` (a new token: no fixation of an old one)."""
    token = secrets.token_urlsafe(32)
    session = inbox_sessions.Session(who.subject, tuple(sorted(who.roles)), tuple(sorted(who.teams)), who.issuer,
                                     secrets.token_urlsafe(32))
    async with svc.pool.acquire() as conn:
        await inbox_sessions.open_session(conn, token, session)
        # Sessions past the absolute timeout can no longer be used: each sign-in clears them.
        await inbox_sessions.forget_old_sessions(conn, absolute(request.app.state.settings))
    request.session.clear()
    request.session["sid"] = token


async def end(request: Request, svc: Services) -> None:
    token = request.session.get("sid")
    if isinstance(token, str):
        async with svc.pool.acquire() as conn:
            await inbox_sessions.end_session(conn, token)
    request.session.clear()


async def form_of(request: Request, session: inbox_sessions.Session) -> list[tuple[str, str]]:
    """The posted form's fields (application/x-www-form-urlencoded), after its CSRF token
    was checked against the session's (CsrfRefused otherwise)."""
    body = (await request.body()).decode("utf-8", "replace")
    fields = parse_qsl(body, keep_blank_values=True)
    given = next((v for k, v in fields if k == CSRF_FIELD), "")
    if not given or not hmac.compare_digest(given.encode(), session.csrf_token.encode()):
        raise CsrfRefused()
    return [(k, v) for k, v in fields if k != CSRF_FIELD]
