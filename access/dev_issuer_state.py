"""What the development issuer keeps across restarts, in the local stack's data folder:
its signing keys (so a restart of ``casework up`` does not invalidate every sign-in) and
its refresh tokens (so a sign-in lasts a working day: issue 24 item 3).

Refresh tokens follow the OAuth 2.0 Security Best Current Practice (RFC 9700 section
4.14): opaque, stored only as SHA-256 hashes, rotated at every use (the used one is kept,
marked, until the sign-in ends), a used one presented again revokes its whole family (a
stolen copy and the real one cannot both go on), an absolute lifetime from the sign-in,
and revocable (RFC 7009, ``casework logout``).

The file is written whole, 0600, on every change: a few hundred bytes per sign-in.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import threading
import time
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

#: A sign-in lasts a working day: 10 hours from the sign-in, whatever the refreshes.
DEFAULT_REFRESH_SECONDS = 10 * 3600


@dataclass
class SigningKey:
    kid: str
    alg: str
    private: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey

    @classmethod
    def new(cls, alg: str) -> "SigningKey":
        private = (rsa.generate_private_key(public_exponent=65537, key_size=2048) if alg == "RS256"
                   else ec.generate_private_key(ec.SECP256R1()))
        return cls(f"dev-{uuid.uuid4().hex[:12]}", alg, private)

    def to_json(self) -> dict[str, str]:
        pem = self.private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                         serialization.NoEncryption())
        return {"kid": self.kid, "alg": self.alg, "pem": pem.decode("ascii")}

    @classmethod
    def from_json(cls, data: dict[str, str]) -> "SigningKey":
        private = serialization.load_pem_private_key(data["pem"].encode("ascii"), password=None)
        if not isinstance(private, (rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey)):
            raise ValueError(f"key {data.get('kid')}: not an RSA or EC private key")
        return cls(data["kid"], data["alg"], private)


@dataclass
class RefreshGrant:
    """What one refresh token stands for."""

    user: str
    client_id: str
    scope: str
    family: str  # one sign-in: every rotation of its refresh token
    expires: float  # epoch seconds: the sign-in's end, not extended by refreshing
    used: bool = False


class RefreshRefused(Exception):
    """The refresh token is unknown, used, expired, revoked or another client's."""


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class IssuerState:
    """Signing keys and refresh tokens, in memory and (given ``path``) in a file."""

    def __init__(self, path: Path | None, algorithm: str, refresh_seconds: int = DEFAULT_REFRESH_SECONDS):
        self.path = path
        self.refresh_seconds = refresh_seconds
        self._lock = threading.Lock()
        self.keys: list[SigningKey] = []
        self._grants: dict[str, RefreshGrant] = {}
        if path is not None and path.is_file():
            self._load(path, algorithm)
        if not self.keys:
            self.keys = [SigningKey.new(algorithm)]
            self._save()

    # ---- the file

    def _load(self, path: Path, algorithm: str) -> None:
        data = json.loads(path.read_text(encoding="utf-8"))
        keys = [SigningKey.from_json(k) for k in data.get("keys", [])]
        self.keys = [k for k in keys if k.alg == algorithm]  # another algorithm asked for: new keys
        now = time.time()
        self._grants = {h: RefreshGrant(**g) for h, g in data.get("refresh_tokens", {}).items() if g["expires"] > now}

    def _save(self) -> None:
        if self.path is None:
            return
        content = {"keys": [k.to_json() for k in self.keys],
                   "refresh_tokens": {h: asdict(g) for h, g in self._grants.items()}}
        tmp = self.path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            json.dump(content, out)
        tmp.replace(self.path)

    # ---- keys

    def rotate(self, algorithm: str) -> str:
        """A new signing key; the previous one stays (tokens it signed verify until they expire)."""
        with self._lock:
            self.keys = [self.keys[-1], SigningKey.new(algorithm)]
            self._save()
            return self.keys[-1].kid

    # ---- refresh tokens

    def issue(self, user: str, client_id: str, scope: str, family: str | None = None,
              expires: float | None = None) -> tuple[str, RefreshGrant]:
        token = secrets.token_urlsafe(32)
        grant = RefreshGrant(user, client_id, scope, family or uuid.uuid4().hex,
                             expires if expires is not None else time.time() + self.refresh_seconds)
        with self._lock:
            self._grants[_digest(token)] = grant
            self._save()
        return token, grant

    def use(self, token: str, client_id: str) -> tuple[str, RefreshGrant]:
        """Rotate: the token is spent and a new one of the same sign-in returned."""
        with self._lock:
            grant = self._grants.get(_digest(token))
            if grant is None or grant.client_id != client_id:
                raise RefreshRefused("the refresh token is unknown, revoked or another client's")
            if grant.expires <= time.time():
                raise RefreshRefused("the sign-in has ended (the refresh token expired): sign in again")
            if grant.used:  # presented twice: a copy is in other hands; end the whole sign-in
                self._drop_family(grant.family)
                self._save()
                raise RefreshRefused("the refresh token was already used: the sign-in is revoked")
            grant.used = True
        return self.issue(grant.user, client_id, grant.scope, grant.family, grant.expires)

    def revoke(self, token: str, client_id: str) -> bool:
        """RFC 7009: the sign-in the token belongs to ends. False if it was not known."""
        with self._lock:
            grant = self._grants.get(_digest(token))
            if grant is None or grant.client_id != client_id:
                return False
            self._drop_family(grant.family)
            self._save()
            return True

    def _drop_family(self, family: str) -> None:
        for digest in [h for h, g in self._grants.items() if g.family == family]:
            del self._grants[digest]

    def grant_count(self) -> int:
        return len(self._grants)

