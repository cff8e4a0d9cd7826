"""Acceptance (issue 15): bad tokens through the real API. Each is 401 with the RFC 6750
challenge, a problem document naming why, and nothing written: no referral held, no case
started, no message applied."""

from __future__ import annotations

from collections.abc import Callable

import asyncpg
import pytest
from temporalio.service import RPCError

from access.dev_issuer import Running
from casework.case import case_id_for
from tests import token_forgery as forge
from tests.api_support import ApiStack
from tests.support import referral_data

FORGED: dict[str, Callable[[ApiStack], str | None]] = {
    "missing": lambda api: None,
    "expired": lambda api: forge.expired(api.issuer, sub="acro", roles=["acro"], scope="referrals:submit"),
    "not yet valid": lambda api: forge.not_yet_valid(api.issuer, sub="acro", roles=["acro"]),
    "wrong issuer": lambda api: api.issuer.issuer.sign(forge.claims(api.issuer, iss="https://login.example.test/other")),
    "wrong audience": lambda api: api.issuer.issuer.sign(forge.claims(api.issuer, aud="another-api")),
    "alg none": lambda api: forge.alg_none(api.issuer),
    "HS256 with the public key": lambda api: forge.hs256_with_public_key(api.issuer),
    "unknown kid": lambda api: forge.unknown_kid(api.issuer),
    "tampered signature": lambda api: forge.tampered_signature(api.tokens.of("acro")),
    # Issue 25: a non-Latin-1 character in the challenge was an unauthenticated 500.
    "kid is a snowman": lambda api: forge.unknown_kid(api.issuer, kid="\u2603"),
    "alg is a snowman": lambda api: forge.with_header(api.issuer, {"alg": "\u2603", "kid": api.issuer.issuer.kid}),
    "kid is long and has a quote": lambda api: forge.unknown_kid(api.issuer, kid='a"\\' * 500),
}


def _acro_like(served: Running) -> dict[str, object]:
    return forge.claims(served, sub="acro", roles=["acro"], groups=None, scope="referrals:submit events:certificate")


@pytest.mark.parametrize("case", list(FORGED))
async def test_a_bad_token_is_401_and_nothing_is_written(api: ApiStack, pool: asyncpg.Pool, case: str) -> None:
    token = FORGED[case](api)
    headers = {} if token is None else {"Authorization": f"Bearer {token}"}
    data = referral_data()
    answer = await api.http.post("/referrals", json=data, headers=headers)
    assert answer.status_code == 401, (case, answer.text)
    assert answer.headers["www-authenticate"].startswith("Bearer realm=")
    if token is not None:
        assert 'error="invalid_token"' in answer.headers["www-authenticate"]
        assert answer.headers["www-authenticate"].isascii() and len(answer.headers["www-authenticate"]) < 300
    assert answer.headers["content-type"] == "application/problem+json" and answer.json()["detail"]
    case_id = case_id_for(data["acro_reference"])
    assert await pool.fetchval("SELECT count(*) FROM intake_referrals WHERE case_id = $1", case_id) == 0
    with pytest.raises(RPCError):  # no case started
        await api.services.cases.describe(case_id)
    # Neither on the other routes: a list, an event.
    assert (await api.http.get("/cases", headers=headers)).status_code == 401
    event = await api.http.post(f"/cases/{case_id}/events/located", json={"event_id": "e"}, headers=headers)
    assert event.status_code == 401


async def test_the_same_claims_properly_signed_are_accepted(api: ApiStack) -> None:
    """The forgeries fail for the forgery alone: the issuer's own signature on such claims passes."""
    token = api.issuer.issuer.sign(_acro_like(api.issuer))
    answer = await api.http.post("/referrals", json=referral_data(), headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 201, answer.text
