"""Where ``casework login`` keeps a person's sign-in, and which token a command sends.

``CASEWORK_TOKEN`` wins (a script or a test names its identity); otherwise the sign-in
``casework login`` stored in ``$XDG_CONFIG_HOME/casework/token.json`` (folder 0700, file
0600: it lets whoever reads it act as that person): the access token, and the refresh
token that renews it (RFC 6749 section 6) until the sign-in ends, a working day on the
development issuer. A command renews the access token quietly before it expires. No
token is ever printed, logged or put in an error message.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Mapping

from casework import config
from starter.exits import CliError, Exit

TOKEN_FILE = "token.json"
LOGIN_HINT = "run 'casework login' (or set CASEWORK_TOKEN)"
#: Renew this long before the access token expires (a command must not start with a token
#: that expires on its way), or at the last fifth of a shorter token's life.
RENEW_SECONDS = 60
#: The public client the CLI signs in as (deploy/dev-identities.toml).
CLIENT_ID = "casework-cli"


def folder() -> Path:
    return config.CliSettings.read().config_home / "casework"


def token_path() -> Path:
    return folder() / TOKEN_FILE


@dataclass(frozen=True)
class Stored:
    access_token: str
    issuer: str
    expires_at: float | None  # seconds since the epoch, from the issuer's expires_in
    refresh_token: str | None = None
    #: When the sign-in ends (the refresh token's lifetime, if the issuer says it).
    session_expires_at: float | None = None
    #: The access token's lifetime in seconds (expires_in), for when to renew it.
    lifetime: float | None = None

    @property
    def expired(self) -> bool:
        return self.expires_at is not None and self.expires_at <= time.time()

    def due_for_renewal(self, now: float | None = None) -> bool:
        if self.expires_at is None:
            return False
        margin = min(RENEW_SECONDS, self.lifetime / 5) if self.lifetime else RENEW_SECONDS
        return self.expires_at - margin <= (now or time.time())

    @property
    def signed_in_until(self) -> float | None:
        """Until when commands work without signing in again: the sign-in's end when it
        can be renewed, else the access token's expiry."""
        if self.refresh_token:
            return self.session_expires_at
        return self.expires_at


def _after(seconds: Any) -> float | None:
    return time.time() + float(seconds) if isinstance(seconds, (int, float)) and not isinstance(seconds, bool) else None


def from_answer(answer: Mapping[str, Any], issuer: str, previous: Stored | None = None) -> Stored:
    """A token endpoint's answer (RFC 6749 section 5.1) as what is kept; an issuer that does
    not rotate refresh tokens answers without one, and the previous one is kept."""
    token = answer.get("access_token")
    if not isinstance(token, str) or not token:
        raise CliError("not signed in: the issuer gave no access token", Exit.NOT_SIGNED_IN)
    refresh = answer.get("refresh_token") or (previous.refresh_token if previous else None)
    session = _after(answer.get("refresh_expires_in"))
    if session is None and previous is not None and refresh == previous.refresh_token:
        session = previous.session_expires_at
    lifetime = answer.get("expires_in")
    return Stored(token, issuer, _after(lifetime), refresh if isinstance(refresh, str) else None, session,
                  float(lifetime) if isinstance(lifetime, (int, float)) else None)


def save(stored: Stored) -> Path:
    """Write the sign-in readable by its owner only; folder and file are made private first."""
    where = folder()
    where.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(where, 0o700)
    path = token_path()
    temporary = path.with_suffix(".tmp")
    # O_CREAT with 0600: the token is never, even for a moment, readable by others.
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        json.dump(asdict(stored), out)
    os.chmod(temporary, 0o600)
    os.replace(temporary, path)
    return path


def load() -> Stored | None:
    path = token_path()
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text())
        return Stored(str(data["access_token"]), str(data.get("issuer") or ""), data.get("expires_at"),
                      data.get("refresh_token"), data.get("session_expires_at"), data.get("lifetime"))
    except (ValueError, KeyError, TypeError):
        raise CliError(f"{path} is not a token file casework wrote; {LOGIN_HINT}", Exit.NOT_SIGNED_IN) from None


def forget() -> bool:
    """The stored sign-in is deleted; True if there was one."""
    try:
        token_path().unlink()
    except FileNotFoundError:
        return False
    return True


def renewed(stored: Stored) -> Stored:
    """The sign-in with a fresh access token, by the refresh-token grant; kept on disk."""
    from access.login import LoginFailed, refresh

    assert stored.refresh_token
    try:
        answer = refresh(stored.issuer, stored.refresh_token, client_id=CLIENT_ID)
    except LoginFailed as err:
        raise CliError(f"not signed in: your sign-in could not be renewed: {err}; {LOGIN_HINT}",
                       Exit.NOT_SIGNED_IN) from None
    fresh = from_answer(answer, stored.issuer, stored)
    save(fresh)
    return fresh


def current() -> Stored | None:
    """The stored sign-in, renewed first if its access token is (nearly) expired."""
    stored = load()
    if stored is None:
        return None
    if stored.due_for_renewal() and stored.refresh_token and stored.issuer:
        return renewed(stored)
    return stored


def bearer() -> str:
    """The token a command sends: CASEWORK_TOKEN, else the stored one (renewed when due;
    refused if it has expired and cannot be renewed)."""
    explicit = config.CliSettings.read().token
    if explicit:
        return explicit
    stored = current()
    if stored is None:
        raise CliError(f"not signed in: {LOGIN_HINT}", Exit.NOT_SIGNED_IN)
    if stored.expired:
        raise CliError(f"not signed in: your sign-in has expired; {LOGIN_HINT}", Exit.NOT_SIGNED_IN)
    return stored.access_token


def unverified_claims(token: str) -> dict[str, Any]:
    """What the token says about its holder, for the line after signing in only: the API
    verifies it (``casework whoami`` asks the API)."""
    import jwt

    try:
        return jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        raise CliError(f"the token is not a JWT; {LOGIN_HINT}", Exit.NOT_SIGNED_IN) from None
