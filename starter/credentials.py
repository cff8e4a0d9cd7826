"""Where ``casework login`` keeps a person's token, and which token a command sends.

``CASEWORK_TOKEN`` wins (a script or a test names its identity); otherwise the token
``casework login`` stored in ``$XDG_CONFIG_HOME/casework/token.json`` (folder 0700, file
0600: it lets whoever reads it act as that person until it expires). The token is never
printed, logged or put in an error message.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from casework import config
from starter.exits import CliError, Exit

TOKEN_FILE = "token.json"
LOGIN_HINT = "run 'casework login' (or set CASEWORK_TOKEN)"


def folder() -> Path:
    return config.CliSettings.read().config_home / "casework"


def token_path() -> Path:
    return folder() / TOKEN_FILE


@dataclass(frozen=True)
class Stored:
    access_token: str
    issuer: str
    expires_at: float | None  # seconds since the epoch, from the issuer's expires_in

    @property
    def expired(self) -> bool:
        return self.expires_at is not None and self.expires_at <= time.time()


def save(access_token: str, issuer: str, expires_in: Any) -> Path:
    """Write the token readable by its owner only; folder and file are made private first."""
    where = folder()
    where.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(where, 0o700)
    expires_at = time.time() + float(expires_in) if isinstance(expires_in, (int, float)) else None
    path = token_path()
    temporary = path.with_suffix(".tmp")
    # O_CREAT with 0600: the token is never, even for a moment, readable by others.
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        json.dump({"access_token": access_token, "issuer": issuer, "expires_at": expires_at}, out)
    os.chmod(temporary, 0o600)
    os.replace(temporary, path)
    return path


def load() -> Stored | None:
    path = token_path()
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text())
        return Stored(str(data["access_token"]), str(data.get("issuer") or ""), data.get("expires_at"))
    except (ValueError, KeyError, TypeError):
        raise CliError(f"{path} is not a token file casework wrote; {LOGIN_HINT}", Exit.NOT_SIGNED_IN) from None


def forget() -> bool:
    """``casework logout``: the stored token is deleted; True if there was one."""
    try:
        token_path().unlink()
    except FileNotFoundError:
        return False
    return True


def bearer() -> str:
    """The token a command sends: CASEWORK_TOKEN, else the stored one (refused if expired)."""
    explicit = config.CliSettings.read().token
    if explicit:
        return explicit
    stored = load()
    if stored is None:
        raise CliError(f"not signed in: {LOGIN_HINT}", Exit.NOT_SIGNED_IN)
    if stored.expired:
        raise CliError(f"not signed in: your sign-in has expired; {LOGIN_HINT}", Exit.NOT_SIGNED_IN)
    return stored.access_token


def unverified_claims(token: str) -> dict[str, Any]:
    """What the token says about its holder, for ``whoami`` only: the API verifies it."""
    import jwt

    try:
        return jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        raise CliError(f"the token is not a JWT; {LOGIN_HINT}", Exit.NOT_SIGNED_IN) from None
