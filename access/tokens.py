"""Bearer-token verification: an OAuth 2.0 access token (a JWT signed by the OpenID
Connect issuer) in, a ``Principal`` out, or ``TokenRefused`` with the reason.

Checked, in this order: a bearer token is present; its header names an allowed algorithm
(RS256 or ES256: never ``none``, never HS*, so a public key can never be used as an HMAC
secret) and a ``kid``; the key with that ``kid`` is in the issuer's JWKS (an unknown kid
refetches the JWKS once, at most once per cooldown, then is refused) and is of the
algorithm's type; the signature verifies; ``iss`` is the issuer, ``aud`` holds the
audience, ``exp``/``nbf``/``iat`` hold with a small leeway; the subject is a usable actor
name. PyJWT does the cryptography and the claim checks (``PyJWKClient`` the JWKS cache).
"""

from __future__ import annotations

import asyncio
import json
import threading
import urllib.request
from datetime import datetime, timezone
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from pydantic import TypeAdapter, ValidationError

from access.principal import Kind, Principal
from casework.config import AccessSettings
from casework.case import Actor

_ACTOR = TypeAdapter(Actor)


class TokenRefused(Exception):
    """The request is not authenticated (the API answers 401). ``code`` is a stable word
    for tests and metrics; ``reason`` a sentence for the caller; neither holds the token."""

    def __init__(self, code: str, reason: str):
        super().__init__(reason)
        self.code = code
        self.reason = reason

    @property
    def www_authenticate(self) -> str:
        """The RFC 6750 challenge: no error code when no token was sent (section 3.1)."""
        if self.code == "missing":
            return 'Bearer realm="casework"'
        # RFC 6750 section 3: error_description is printable ASCII without '"' and '\\'; a
        # header is Latin-1 at most (a "☃" in a kid was an unauthenticated 500, issue 25).
        reason = "".join(c if " " <= c <= "~" and c not in '"\\' else "?" for c in self.reason)
        return f'Bearer realm="casework", error="invalid_token", error_description="{reason}"'


class IssuerUnavailable(TokenRefused):
    """The issuer's keys could not be fetched: not the caller's fault (503, retry)."""


def discover_jwks_url(issuer: str, timeout: float) -> str:
    """OpenID Connect Discovery 1.0: the ``jwks_uri`` of the issuer's configuration, whose
    ``issuer`` must be exactly ours (section 4.3)."""
    url = issuer.rstrip("/") + "/.well-known/openid-configuration"
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 (http(s) only: checked in settings)
            document = json.load(response)
    except (OSError, ValueError) as err:
        raise IssuerUnavailable("issuer_unavailable", f"the issuer's discovery document could not be read ({type(err).__name__})") from None
    if document.get("issuer") != issuer:
        raise IssuerUnavailable("issuer_unavailable", "the discovery document names another issuer")
    jwks_uri = document.get("jwks_uri")
    if not isinstance(jwks_uri, str) or not jwks_uri.startswith(("https://", "http://")):
        raise IssuerUnavailable("issuer_unavailable", "the discovery document has no http(s) jwks_uri")
    return jwks_uri


def _claim(claims: dict[str, Any], path: str) -> Any:
    value: Any = claims
    for part in path.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def _names(value: Any) -> frozenset[str]:
    """A claim holding names: a list of strings, or one space-separated string (``scope``)."""
    if value is None:
        return frozenset()
    if isinstance(value, str):
        return frozenset(value.split())
    if isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
        return frozenset(value)
    raise TokenRefused("bad_claims", "a role, team or scope claim is neither a list of names nor a string")


def _key_fits(alg: str, key: Any) -> bool:
    if alg == "RS256":
        return isinstance(key, rsa.RSAPublicKey) and key.key_size >= 2048
    if alg == "ES256":
        return isinstance(key, ec.EllipticCurvePublicKey) and isinstance(key.curve, ec.SECP256R1)
    return False


def _shown(value: object) -> str:
    """A value the caller put in its token, as a refusal may quote it: short."""
    text = repr(value)
    return text if len(text) <= 42 else text[:40] + "…"


def _bearer(authorization: str | None) -> str:
    if not authorization or not authorization.strip():
        raise TokenRefused("missing", "no bearer token: send 'Authorization: Bearer <token>'")
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise TokenRefused("missing", "the Authorization header is not 'Bearer <token>'")
    return token.strip()


class TokenVerifier:
    """Verifies bearer tokens for one issuer and audience. Thread-safe; one per process:
    it holds the JWKS cache (``PyJWKClient``)."""

    def __init__(self, settings: AccessSettings):
        self.settings = settings
        self._jwks: jwt.PyJWKClient | None = None
        self._lock = threading.Lock()

    def _client(self) -> jwt.PyJWKClient:
        with self._lock:
            if self._jwks is not None:
                return self._jwks
            s = self.settings
            url = s.jwks_url or discover_jwks_url(s.issuer, s.http_timeout_seconds)
            self._jwks = jwt.PyJWKClient(
                url, cache_keys=False, cache_jwk_set=True, lifespan=s.jwks_lifespan_seconds,
                timeout=s.http_timeout_seconds, cooldown_duration=s.jwks_cooldown_seconds,
            )
            return self._jwks

    def verify_header(self, authorization: str | None) -> Principal:
        """The value of an ``Authorization`` header (RFC 6750 section 2.1)."""
        return self.verify(_bearer(authorization))

    async def verify_header_async(self, authorization: str | None) -> Principal:
        """As ``verify_header``, for an event loop: verified inline when the key is in the
        cached JWKS (the usual case), in a thread when the JWKS must be fetched."""
        token = _bearer(authorization)
        try:
            kid = jwt.get_unverified_header(token).get("kid")
        except jwt.DecodeError:
            kid = None
        if isinstance(kid, str) and self._cached_key(kid) is not None:
            return self.verify(token)
        return await asyncio.to_thread(self.verify, token)

    def _cached_key(self, kid: str) -> Any | None:
        client = self._jwks
        cache = client.jwk_set_cache if client is not None else None
        jwk_set = cache.get() if cache is not None else None
        if jwk_set is None:
            return None
        return next((k.key for k in jwk_set.keys if k.key_id == kid and k.public_key_use in ("sig", None)), None)

    def verify(self, token: str) -> Principal:
        s = self.settings
        if not token:
            raise TokenRefused("missing", "no bearer token: send 'Authorization: Bearer <token>'")
        try:
            header = jwt.get_unverified_header(token)
        except jwt.DecodeError:
            raise TokenRefused("malformed", "the token is not a JWS compact serialisation") from None
        alg = header.get("alg")
        if alg not in s.algorithms:
            raise TokenRefused("algorithm", f"the token's algorithm {_shown(alg)} is not allowed; allowed: {', '.join(s.algorithms)}")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise TokenRefused("unknown_key", "the token names no signing key (kid)")
        key = self._signing_key(kid)
        if not _key_fits(alg, key):
            raise TokenRefused("algorithm", f"the key {_shown(kid)} is not a key for {alg}")
        try:
            claims = jwt.decode(
                token, key, algorithms=[alg], audience=s.audience, issuer=s.issuer,
                leeway=s.leeway_seconds,
                options={"require": ["exp", "iat", "iss", "aud"]},
            )
        except jwt.ExpiredSignatureError:
            raise TokenRefused("expired", "the token has expired (exp)") from None
        except jwt.ImmatureSignatureError:
            raise TokenRefused("not_yet_valid", "the token is not valid yet (nbf/iat in the future)") from None
        except jwt.InvalidIssuerError:
            raise TokenRefused("issuer", f"the token was not issued by {s.issuer}") from None
        except jwt.InvalidAudienceError:
            raise TokenRefused("audience", f"the token is not for audience {s.audience!r}") from None
        except jwt.InvalidSignatureError:
            raise TokenRefused("signature", "the token's signature does not verify") from None
        except jwt.MissingRequiredClaimError as err:
            raise TokenRefused("bad_claims", f"the token has no {err.claim!r} claim") from None
        except jwt.InvalidTokenError as err:
            raise TokenRefused("malformed", f"the token is not valid ({type(err).__name__})") from None
        return self.principal(claims)

    def _signing_key(self, kid: str) -> Any:
        try:
            return self._client().get_signing_key(kid).key
        except jwt.PyJWKClientConnectionError:
            raise IssuerUnavailable("issuer_unavailable", "the issuer's signing keys could not be fetched") from None
        except jwt.PyJWKClientError:
            raise TokenRefused("unknown_key", f"no signing key {_shown(kid)} in the issuer's JWKS") from None
        except jwt.PyJWKError:
            raise IssuerUnavailable("issuer_unavailable", "the issuer's JWKS holds no usable key") from None

    def principal(self, claims: dict[str, Any]) -> Principal:
        """Map verified claims to a Principal with the configured claim names."""
        s = self.settings
        subject = _claim(claims, s.subject_claim)
        try:
            subject = _ACTOR.validate_python(subject)
        except ValidationError:
            raise TokenRefused("bad_claims", f"the token's subject ({s.subject_claim}) is not a usable actor name (2-64 of A-Z a-z 0-9 . _ @ : -)") from None
        client_id = _claim(claims, s.client_id_claim)
        kind = Kind.SYSTEM if isinstance(client_id, str) and client_id == claims.get("sub") else Kind.PERSON
        kept = {name: claims[name] for name in ("sub", "iss", "aud", "exp", "iat", "jti", "azp") if name in claims}
        for path in (s.roles_claim, s.teams_claim, s.scopes_claim, s.client_id_claim, s.subject_claim):
            value = _claim(claims, path)
            if value is not None:
                kept[path] = value
        exp = claims.get("exp")
        return Principal(
            subject=subject, kind=kind,
            roles=_names(_claim(claims, s.roles_claim)), teams=_names(_claim(claims, s.teams_claim)),
            scopes=_names(_claim(claims, s.scopes_claim)), issuer=claims["iss"],
            client_id=client_id if isinstance(client_id, str) else None,
            expires_at=datetime.fromtimestamp(exp, timezone.utc) if isinstance(exp, (int, float)) else None,
            claims=kept,
        )
