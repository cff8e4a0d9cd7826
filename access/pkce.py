"""PKCE (RFC 7636): the S256 code challenge, shared by the issuer and `casework login`."""

from __future__ import annotations

import base64
import hashlib

#: RFC 7636 section 4.1: the unreserved characters a verifier is made of.
VERIFIER_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")


def s256(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode("ascii")).digest()).rstrip(b"=").decode("ascii")


def well_formed(value: str | None) -> bool:
    """A verifier or S256 challenge: 43 to 128 unreserved characters."""
    return value is not None and 43 <= len(value) <= 128 and set(value) <= VERIFIER_CHARS
