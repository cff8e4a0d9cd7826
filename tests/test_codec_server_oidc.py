"""The codec server in the cluster takes each person's own bearer token (issue 15, item 5;
docs/privacy.md, "The codec server"): verified against the same issuer as the API
(``access.tokens``), allowed by the one policy (``decode_history``: operators), no shared
token anywhere, decode only. Real tokens from the development issuer over real HTTP.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator

import aiohttp
import pytest
from google.protobuf.json_format import MessageToDict, ParseDict
from temporalio.api.common.v1 import Payload, Payloads

from access.dev_issuer import load_identities, running
from casework.config import AccessSettings
from casework.codec import codec_from_environment
from codec_server import start_codec_server
from codec_server.app import CodecServerConfig, CodecServerConfigError
from tests.api_support import IDENTITIES, LOCAL, Tokens

GENUINE = b'{"task_key": "nbtc_check-1", "outcome": "in_uk"}'


@pytest.fixture(scope="module")
def issuer() -> Iterator[Tokens]:
    identities = load_identities(IDENTITIES)
    with running(identities, environ=LOCAL) as served:
        yield Tokens(served.url, identities)


@pytest.fixture
async def codec(issuer: Tokens) -> AsyncIterator[str]:
    server = await start_codec_server("127.0.0.1", 0, config=CodecServerConfig(oidc=AccessSettings.read(issuer=issuer.issuer_url)))
    try:
        yield server.url
    finally:
        await server.close()


async def _sealed() -> dict:
    [sealed] = await codec_from_environment().encode([Payload(metadata={"encoding": b"json/plain"}, data=GENUINE)])
    return MessageToDict(Payloads(payloads=[sealed]))


async def _post(url: str, token: str | None, body: dict | None = None) -> tuple[int, dict, dict]:
    headers = {"X-Namespace": "default"} | ({"Authorization": f"Bearer {token}"} if token is not None else {})
    async with aiohttp.ClientSession() as http:
        async with http.post(url, json=body if body is not None else await _sealed(), headers=headers) as r:
            return r.status, await r.json(content_type=None) if r.content_type == "application/json" else {}, dict(r.headers)


async def test_an_operator_decodes_with_their_own_token_and_the_log_names_them(
    issuer: Tokens, codec: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="casework.codec_server")
    status, answer, _ = await _post(f"{codec}/decode", issuer.person("ops.ivy"))
    assert status == 200
    [opened] = ParseDict(answer, Payloads()).payloads
    assert opened.data == GENUINE
    assert any("by ops.ivy" in r.getMessage() for r in caplog.records)
    token = issuer.person("ops.ivy")
    assert not any(token in r.getMessage() for r in caplog.records), "a token is never logged"


@pytest.mark.parametrize("who", ["audit.jo", "director.hal", "scw.erin", "cw.ben", "acro", "pnc-bureau"])
async def test_everyone_else_is_refused_403_by_the_policy_and_sees_nothing(issuer: Tokens, codec: str, who: str) -> None:
    """Auditors too (docs/access.md): they read the audit and R60 logs, not the workflow's
    inputs; systems work through the API."""
    status, answer, _ = await _post(f"{codec}/decode", issuer.of(who))
    assert status == 403 and answer == {"error": "decode_history: only operators decode case histories (the codec server)"}


async def test_no_token_a_shared_token_or_a_bad_token_is_401(issuer: Tokens, codec: str) -> None:
    good = issuer.person("ops.ivy")
    head, payload, signature = good.split(".")
    tampered = ".".join([head, payload, signature[:-4] + ("AAAA" if signature[-4:] != "AAAA" else "BBBB")])
    for token, reason in ((None, "no bearer token"), ("t" * 40, "not a JWS"), (tampered, "signature does not verify")):
        status, answer, headers = await _post(f"{codec}/decode", token)
        assert status == 401 and reason in answer["error"], (token, answer)
        assert headers["WWW-Authenticate"].startswith('Bearer realm="casework"')
        assert "payloads" not in answer
    with running(load_identities(IDENTITIES), environ=LOCAL) as other:  # another issuer's operator
        status, answer, _ = await _post(f"{codec}/decode", Tokens(other.url, load_identities(IDENTITIES)).person("ops.ivy"))
    assert status == 401 and "no signing key" in answer["error"]  # its keys are not our issuer's


async def test_a_token_for_another_audience_is_401(issuer: Tokens) -> None:
    """The codec server may have an audience of its own (CASEWORK_CODEC_OIDC_AUDIENCE): an
    API token is not a codec token then."""
    config = CodecServerConfig(oidc=AccessSettings.read(issuer=issuer.issuer_url, audience="casework-codec"))
    server = await start_codec_server("127.0.0.1", 0, config=config)
    try:
        status, answer, _ = await _post(f"{server.url}/decode", issuer.person("ops.ivy"))
    finally:
        await server.close()
    assert status == 401 and "audience" in answer["error"]


async def test_no_token_in_a_path_and_no_encoding_for_anyone(issuer: Tokens, codec: str) -> None:
    """The path form served a UI without login; sealing would let whoever may decode write a
    message a worker takes as genuine."""
    status, _, _ = await _post(f"{codec}/ui/{'t' * 40}/decode", issuer.person("ops.ivy"))
    assert status == 404
    plain = MessageToDict(Payloads(payloads=[Payload(metadata={"encoding": b"json/plain"}, data=GENUINE)]))
    status, answer, _ = await _post(f"{codec}/encode", issuer.person("ops.ivy"), plain)
    assert status == 403 and "only decodes" in answer["error"]


def test_the_mode_is_configured_explicitly_and_never_both(issuer: Tokens, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(CodecServerConfigError, match="unset CASEWORK_CODEC_TOKEN"):
        CodecServerConfig(token="t" * 32, oidc=AccessSettings.read(issuer=issuer.issuer_url))
    with pytest.raises(CodecServerConfigError, match="CASEWORK_CODEC_AUTH: .*'token' or 'oidc'"):
        CodecServerConfig.from_environment({"CASEWORK_CODEC_AUTH": "none"})
    monkeypatch.delenv("CASEWORK_OIDC_ISSUER", raising=False)
    with pytest.raises(CodecServerConfigError, match="CASEWORK_CODEC_AUTH=oidc: CASEWORK_OIDC_ISSUER"):
        CodecServerConfig.from_environment({"CASEWORK_CODEC_AUTH": "oidc"})
    monkeypatch.setenv("CASEWORK_OIDC_ISSUER", issuer.issuer_url)
    config = CodecServerConfig.from_environment({"CASEWORK_CODEC_AUTH": "oidc", "CASEWORK_CODEC_OIDC_AUDIENCE": "casework-codec"})
    assert config.token is None and config.oidc is not None
    assert (config.oidc.issuer, config.oidc.audience) == (issuer.issuer_url, "casework-codec")
