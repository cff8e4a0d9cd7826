"""Tokens as an attacker (or a clock) would make them, against a running development
issuer (tests/test_access_tokens.py for the verifier, tests/test_api_tokens.py through the
API). Forged ones are signed by the issuer's own key, so only the claim under test is wrong,
or by no key, or by a key the issuer never published."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from access.dev_issuer import Running


def claims(served: Running, **changes: object) -> dict[str, object]:
    """A caseworker's access token's claims; a change of None removes the claim."""
    now = int(time.time())
    base: dict[str, object] = {"iss": served.url, "sub": "cw.ben", "aud": "casework-api", "client_id": "casework-web",
                               "iat": now, "nbf": now, "exp": now + 300, "roles": ["caseworker"], "groups": ["CC EEA Team"]}
    return {k: v for k, v in (base | changes).items() if v is not None}


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def expired(served: Running, **changes: object) -> str:
    now = int(time.time())
    return served.issuer.sign(claims(served, iat=now - 900, nbf=now - 900, exp=now - 120, **changes))


def not_yet_valid(served: Running, **changes: object) -> str:
    later = int(time.time()) + 3600
    return served.issuer.sign(claims(served, nbf=later, exp=later + 300, **changes))


def alg_none(served: Running, **changes: object) -> str:
    return jwt.encode(claims(served, **changes), None, algorithm="none", headers={"kid": served.issuer.kid})


def hs256_with_public_key(served: Running, **changes: object) -> str:
    """The key-confusion attack: the issuer's published public key used as an HMAC secret."""
    jwk = served.issuer.jwks()["keys"][-1]
    public_pem = jwt.algorithms.RSAAlgorithm.from_jwk(jwk).public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    head = b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": jwk["kid"]}).encode())
    body = b64(json.dumps(claims(served, **changes)).encode())
    signature = b64(hmac.new(public_pem, f"{head}.{body}".encode(), hashlib.sha256).digest())
    return f"{head}.{body}.{signature}"


def unknown_kid(served: Running, kid: str = "not-published", **changes: object) -> str:
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return jwt.encode(claims(served, **changes), stranger, algorithm="RS256", headers={"kid": kid})


def tampered_signature(token: str) -> str:
    head, body, sig = token.split(".")
    middle = len(sig) // 2
    return f"{head}.{body}.{sig[:middle]}{'A' if sig[middle] != 'A' else 'B'}{sig[middle + 1:]}"


def with_header(served: Running, header: dict[str, object], **changes: object) -> str:
    """A token whose header says what the caller likes (``alg``, ``kid``), with no valid signature."""
    head = b64(json.dumps(header, ensure_ascii=False).encode())
    body = b64(json.dumps(claims(served, **changes)).encode())
    return f"{head}.{body}.{b64(b'not a signature')}"
