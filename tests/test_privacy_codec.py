"""The payload codec and its keys, without servers: sealing, rotation, tampering, configuration."""

from __future__ import annotations

import base64
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from temporalio.api.common.v1 import Payload
from temporalio.api.failure.v1 import Failure
from temporalio.exceptions import ApplicationError

from casework import codec
from casework.case import CaseInput
from casework.codec import (
    CodecKey,
    CodecKeyError,
    CodecKeysMissing,
    EncryptionCodec,
    KeyRing,
    UndecryptablePayload,
    ensure_local_keys,
    keyring_from_environment,
    parse_keys,
    sealed_key_id,
)
from casework.temporal import data_converter

SECRET_TEXT = b"Zofia Wisniewska, born 1961-07-14, convicted of arson in Gdansk"


def plain(data: bytes = SECRET_TEXT) -> Payload:
    return Payload(metadata={"encoding": b"json/plain"}, data=data)


def ring(*ids: str) -> KeyRing:
    return KeyRing([CodecKey(i, bytes([n + 1]) * 32) for n, i in enumerate(ids)])


async def test_sealed_payload_carries_no_plaintext_and_opens_again():
    sealer = EncryptionCodec(ring("k1"))
    [sealed] = await sealer.encode([plain()])
    assert sealed.metadata["encoding"] == b"binary/encrypted"
    assert sealed_key_id(sealed) == "k1"
    assert b"Wisniewska" not in sealed.SerializeToString()
    assert b"json/plain" not in sealed.SerializeToString()  # the inner metadata is sealed too
    [opened] = await sealer.decode([sealed])
    assert opened == plain()


async def test_same_payload_sealed_twice_differs():
    sealer = EncryptionCodec(ring("k1"))
    first, second = await sealer.encode([plain(), plain()])
    assert first.data != second.data  # a fresh nonce each time


async def test_rotation_new_key_seals_old_keys_still_open():
    old, new = EncryptionCodec(ring("k1")), EncryptionCodec(KeyRing([CodecKey("k2", b"\x09" * 32), CodecKey("k1", b"\x01" * 32)]))
    [by_old] = await old.encode([plain()])
    assert (await new.decode([by_old]))[0] == plain()
    [by_new] = await new.encode([plain()])
    assert sealed_key_id(by_new) == "k2"
    with pytest.raises(UndecryptablePayload, match="'k2', which is not configured"):
        await old.decode([by_new])


async def test_altered_payload_or_relabelled_key_is_refused():
    both = EncryptionCodec(ring("k1", "k2"))
    [sealed] = await both.encode([plain()])
    tampered = Payload(metadata=dict(sealed.metadata), data=sealed.data[:-1] + bytes([sealed.data[-1] ^ 1]))
    with pytest.raises(UndecryptablePayload, match="fails authentication"):
        await both.decode([tampered])
    relabelled = Payload(metadata={**dict(sealed.metadata), "encryption-key-id": b"k2"}, data=sealed.data)
    with pytest.raises(UndecryptablePayload):
        await both.decode([relabelled])


async def test_unencrypted_payload_is_refused_by_default(monkeypatch: pytest.MonkeyPatch):
    """AES-GCM authenticates: what a client without the key wrote decodes to a refused
    payload, which every converter of ours refuses with a message naming the cause."""
    monkeypatch.delenv(codec.ACCEPT_PLAINTEXT_ENV, raising=False)
    [opened] = await EncryptionCodec(ring("k1")).decode([plain()])
    assert opened.metadata["encoding"] == codec.REFUSED_ENCODING
    assert opened.metadata["refused-encoding"] == b"json/plain"
    assert Payload.FromString(opened.data) == plain()  # kept whole, for whoever investigates
    # Decoding again (the codec server after the SDK) keeps it refused, not "accepted".
    assert (await EncryptionCodec(ring("k1")).decode([opened]))[0] == opened
    with pytest.raises(ApplicationError, match="not encrypted .encoding 'json/plain'.: only holders") as refused:
        data_converter(ring("k1")).payload_converter.from_payloads([opened], [CaseInput])
    assert refused.value.type == codec.REFUSAL_TYPE and refused.value.non_retryable


async def test_unencrypted_payload_is_read_as_it_is_only_when_accepted_explicitly(monkeypatch: pytest.MonkeyPatch):
    # Histories written before encryption was switched on: readable by the documented setting.
    assert (await EncryptionCodec(ring("k1"), accept_plaintext=True).decode([plain()]))[0] == plain()
    monkeypatch.setenv(codec.ACCEPT_PLAINTEXT_ENV, "1")
    assert (await EncryptionCodec(ring("k1")).decode([plain()]))[0] == plain()
    for off in ("0", "", "no"):
        monkeypatch.setenv(codec.ACCEPT_PLAINTEXT_ENV, off)
        assert not EncryptionCodec(ring("k1")).accept_plaintext
    monkeypatch.setenv(codec.ACCEPT_PLAINTEXT_ENV, "maybe")
    with pytest.raises(CodecKeyError, match="CASEWORK_CODEC_ACCEPT_PLAINTEXT: "):
        EncryptionCodec(ring("k1"))


def test_keys_from_text_first_encrypts():
    k2, k1 = base64.b64encode(b"\x02" * 32).decode(), base64.b64encode(b"\x01" * 32).decode()
    keys = parse_keys(f"k2:{k2}, k1:{k1}")
    assert keys.encrypting.key_id == "k2" and keys.ids == ["k2", "k1"]


@pytest.mark.parametrize("text, problem", [
    ("k1", "ID:BASE64"),
    ("k1:!!notbase64", "not valid base64"),
    (f"k1:{base64.b64encode(b'short').decode()}", "must be 32 bytes"),
    (f"k1:{base64.b64encode(bytes(32)).decode()},k1:{base64.b64encode(bytes(32)).decode()}", "listed twice"),
    (f"bad id:{base64.b64encode(bytes(32)).decode()}", "key ID"),
    (" , ", "holds no key"),
])
def test_bad_key_configuration_is_refused_without_showing_key_material(text, problem):
    with pytest.raises(CodecKeyError, match=problem) as refused:
        parse_keys(text)
    assert base64.b64encode(bytes(32)).decode() not in str(refused.value)


def test_key_material_never_in_repr():
    keys = ring("k1")
    assert "\\x01" not in repr(keys) and "\\x01" not in repr(keys.keys[0])
    assert keys.keys[0].to_base64() not in repr(keys)


def test_configuration_order_and_refusal_without_keys(tmp_path: Path):
    key_file = tmp_path / "keys.json"
    codec.write_key_file(key_file, ring("from-file"))
    local_dir = tmp_path / "data"
    codec.write_key_file(codec.local_key_file(local_dir), ring("from-local"))
    env_keys = ring("from-env").to_env()

    assert keyring_from_environment({"CASEWORK_CODEC_KEYS": env_keys, "CASEWORK_CODEC_KEY_FILE": str(key_file)}).ids == ["from-env"]
    assert keyring_from_environment({"CASEWORK_CODEC_KEY_FILE": str(key_file), "CASEWORK_DATA_DIR": str(local_dir)}).ids == ["from-file"]
    environ = {"CASEWORK_CODEC_TEST_KEY": "1", "CASEWORK_DATA_DIR": str(local_dir)}
    throwaway = keyring_from_environment(environ)
    assert throwaway.encrypting.key_id.startswith("test-")
    # Exported, so that a child process (a CLI run by a test) seals with the same key.
    assert parse_keys(environ["CASEWORK_CODEC_KEYS"]).ids == throwaway.ids
    assert keyring_from_environment({"CASEWORK_DATA_DIR": str(local_dir)}).ids == ["from-local"]
    with pytest.raises(CodecKeysMissing, match="CASEWORK_CODEC_KEYS"):
        keyring_from_environment({"CASEWORK_DATA_DIR": str(tmp_path / "empty")})


def test_local_keys_made_once_owner_only_and_set_for_the_process(tmp_path: Path, monkeypatch):
    for name in ("CASEWORK_CODEC_KEYS", "CASEWORK_CODEC_KEY_FILE", "CASEWORK_CODEC_TEST_KEY", "CASEWORK_CODEC_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    ensure_local_keys(tmp_path)
    key_file = tmp_path / "codec-keys.json"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "codec-token").stat().st_mode) == 0o600
    assert os.environ["CASEWORK_CODEC_KEY_FILE"] == str(key_file.resolve())
    first_key, token = keyring_from_environment().keys[0], os.environ["CASEWORK_CODEC_TOKEN"]
    assert len(token) >= 32
    monkeypatch.delenv("CASEWORK_CODEC_KEY_FILE")
    monkeypatch.delenv("CASEWORK_CODEC_TOKEN")
    ensure_local_keys(tmp_path)  # a restart keeps the key: old histories stay readable
    assert keyring_from_environment().keys[0] == first_key
    assert os.environ["CASEWORK_CODEC_TOKEN"] == token


def test_explicit_keys_win_over_a_local_key(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("CASEWORK_CODEC_KEYS", ring("ops-k1").to_env())
    monkeypatch.delenv("CASEWORK_CODEC_KEY_FILE", raising=False)
    ensure_local_keys(tmp_path)
    assert not (tmp_path / "codec-keys.json").exists()
    assert keyring_from_environment().ids == ["ops-k1"]


async def test_the_converter_seals_models_and_failure_messages():
    converter = data_converter(ring("k1"))
    [payload] = await converter.encode([CaseInput(acro_reference="16/999999Z")])
    assert sealed_key_id(payload) == "k1" and b"16/999999Z" not in payload.SerializeToString()
    assert (await converter.decode([payload], [CaseInput]))[0].acro_reference == "16/999999Z"
    failure = Failure()
    await converter.encode_failure(ApplicationError("duplicate key (name)=(Zofia Wisniewska)"), failure)
    assert b"Wisniewska" not in failure.SerializeToString()
    assert "Wisniewska" in str(await converter.decode_failure(failure))


def test_the_worker_refuses_to_start_without_keys(tmp_path: Path, database_url: str):
    env = {k: v for k, v in os.environ.items() if not k.startswith("CASEWORK_CODEC")}
    env.update(DATABASE_URL=database_url, CASEWORK_DATA_DIR=str(tmp_path), TEMPORAL_ADDRESS="127.0.0.1:1")
    done = subprocess.run(
        [sys.executable, "-m", "worker.service"], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60,
    )
    assert done.returncode == 5, done.stderr
    assert "no payload encryption key" in done.stderr


async def test_codec_server_never_serves_open_and_takes_the_ui_origin(tmp_path: Path):
    import aiohttp

    from codec_server import start_codec_server
    from codec_server.app import CodecServerConfig, CodecServerConfigError

    with pytest.raises(CodecServerConfigError, match="CASEWORK_CODEC_TOKEN"):
        CodecServerConfig.from_environment({})
    env = {k: v for k, v in os.environ.items() if k != "CASEWORK_CODEC_TOKEN"}
    refused = subprocess.run([sys.executable, "-c", "from starter.cli import main; main()", "codec-server", "--port", "0"],
                             env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert refused.returncode == 2 and "CASEWORK_CODEC_TOKEN" in refused.stderr

    server = await start_codec_server("127.0.0.1", 0, config=CodecServerConfig(token="t" * 32),
                                      keyring=ring("k1"), origins=["http://localhost:8399/"])
    try:
        async with aiohttp.ClientSession() as http:
            ask = {"Access-Control-Request-Method": "POST"}
            async with http.options(f"{server.ui_endpoint}/decode", headers={"Origin": "http://localhost:8399", **ask}) as r:
                assert r.status == 204 and r.headers["Access-Control-Allow-Origin"] == "http://localhost:8399"
            async with http.options(f"{server.url}/decode", headers={"Origin": "http://localhost:8233", **ask}) as r:
                assert r.status == 403
            async with http.post(f"{server.url}/decode", data="not json", headers={"Authorization": "Bearer " + "t" * 32}) as r:
                assert r.status == 400
    finally:
        await server.close()


@pytest.mark.parametrize(("setting", "message"), [
    ({"CASEWORK_CODEC_ACCEPT_PLAINTEXT": "maybe"}, "CASEWORK_CODEC_ACCEPT_PLAINTEXT: Input should be a valid boolean, unable to interpret input (not 'maybe')"),
    ({"CASEWORK_CODEC_KEYS": "k1:not-base64"}, "key 'k1' is not valid base64"),
])
def test_the_worker_refuses_a_codec_setting_that_cannot_work_in_one_line(tmp_path: Path, database_url: str, setting, message):
    env = {k: v for k, v in os.environ.items() if not k.startswith("CASEWORK_CODEC")}
    env.update(DATABASE_URL=database_url, CASEWORK_DATA_DIR=str(tmp_path), TEMPORAL_ADDRESS="127.0.0.1:1",
               CASEWORK_CODEC_TEST_KEY="1", CASEWORK_METRICS_ADDRESS="", CASEWORK_HEALTH_ADDRESS="", **setting)
    done = subprocess.run(
        [sys.executable, "-m", "worker.service"], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60,
    )
    assert done.returncode == 5, done.stderr
    assert "Traceback" not in done.stderr and f"casework-worker: cannot start: {message}" in done.stderr
