"""Encryption of every Temporal payload, and where its keys come from.

Personal data is kept out of workflow history by design (referrals and certificates
are held in the CID and passed by reference). This codec is defence in depth: what
does pass through history - task details typed by caseworkers, failure messages - is
AES-256-GCM ciphertext on the Temporal server, readable only where a key is held.

A payload becomes ``encoding: binary/encrypted`` with the ID of the key that sealed it in
``encryption-key-id``; its data is a 12-byte random nonce followed by the ciphertext of
the whole original payload (metadata included). The key ID is bound in as associated
data, so a payload cannot be passed off as sealed by another key.

Keys, each with an ID (the first encrypts, every one decrypts - that is rotation):

1. ``CASEWORK_CODEC_KEYS="k2:<base64 32 bytes>,k1:<base64 32 bytes>"``
2. ``CASEWORK_CODEC_KEY_FILE=/path/keys.json`` holding
   ``{"keys": [{"id": "k2", "key": "<base64>"}, {"id": "k1", "key": "<base64>"}]}``
3. ``CASEWORK_CODEC_TEST_KEY=1``: a throwaway key made for this process and exported
   into ``CASEWORK_CODEC_KEYS`` so child processes share it (tests only: histories
   written with it are unreadable once the process tree ends)
4. the local stack's key file ``<the data folder>/codec-keys.json``,
   made by :func:`ensure_local_keys` when ``casework up`` first starts

With none of these, :func:`keyring_from_environment` refuses (``CodecKeysMissing``):
nothing may write unencrypted history by accident. See docs/privacy.md.

Decoding refuses what is not encrypted: AES-GCM authenticates, so once encryption is on
only holders of a key can talk to a case. A payload without ``binary/encrypted`` (a
client without the key, the ``temporal`` CLI or the Web UI sending a signal) is turned
into a *refused* payload that no converter accepts (``RefusedPayloadConverter``): the
workflow fails a start with it, drops a signal with it and rejects an update with it,
each with a log line naming the cause. Histories recorded before encryption was switched
on are read as they are only with ``CASEWORK_CODEC_ACCEPT_PLAINTEXT=1``.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import os
import re
import secrets
from collections.abc import Mapping, MutableMapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from temporalio.api.common.v1 import Payload
from temporalio.converter import EncodingPayloadConverter, PayloadCodec
from temporalio.exceptions import ApplicationError

from casework import config

ENCODING = b"binary/encrypted"
KEY_ID_METADATA = "encryption-key-id"
NONCE_BYTES = 12
KEY_BYTES = 32  # AES-256

# The variables' names, as the code that imports them from here knows them (casework.config reads them).
KEYS_ENV = config.CodecSettings.variable("keys")
KEY_FILE_ENV = config.CodecSettings.variable("key_file")
TEST_KEY_ENV = config.CodecSettings.variable("test_key")
TOKEN_ENV = config.CodecSettings.variable("token")
ACCEPT_PLAINTEXT_ENV = config.CodecSettings.variable("accept_plaintext")
#: What an unencrypted payload becomes on decode when plaintext is not accepted: its data
#: is the whole original payload (kept for forensics: the codec server shows it so).
REFUSED_ENCODING = b"binary/unencrypted-refused"
REFUSAL_TYPE = "UnencryptedPayloadRefused"
REFUSAL = (
    "refused a payload that is not encrypted (encoding '{encoding}'): only holders of the "
    "payload key may start, signal or update a case. Histories recorded before encryption "
    f"was switched on: see {ACCEPT_PLAINTEXT_ENV} in docs/privacy.md"
)
LOCAL_KEY_FILE = "codec-keys.json"

_KEY_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")

log = logging.getLogger("casework.codec")


class CodecKeysMissing(RuntimeError):
    """No key is configured: refuse rather than write plaintext history."""


class CodecKeyError(ValueError):
    """A key configuration that cannot be used; the message says what is wrong (never the key)."""


class UndecryptablePayload(ValueError):
    """A payload sealed by a key that is not configured, or altered since."""


@dataclass(frozen=True)
class CodecKey:
    key_id: str
    secret: bytes = field(repr=False)

    def __post_init__(self) -> None:
        if not _KEY_ID.match(self.key_id):
            raise CodecKeyError(f"key ID '{self.key_id}' must be 1-64 letters, digits, '.', '_' or '-'")
        if len(self.secret) != KEY_BYTES:
            raise CodecKeyError(f"key '{self.key_id}' must be {KEY_BYTES} bytes (base64 of 32 random bytes), not {len(self.secret)}")

    @classmethod
    def from_base64(cls, key_id: str, text: str) -> "CodecKey":
        try:
            secret = base64.b64decode(text.strip(), validate=True)
        except (binascii.Error, ValueError):
            raise CodecKeyError(f"key '{key_id}' is not valid base64") from None
        return cls(key_id, secret)

    @classmethod
    def generate(cls, key_id: str) -> "CodecKey":
        return cls(key_id, AESGCM.generate_key(bit_length=KEY_BYTES * 8))

    def to_base64(self) -> str:
        return base64.b64encode(self.secret).decode()


class KeyRing:
    """The configured keys: the first encrypts, every one decrypts."""

    def __init__(self, keys: Sequence[CodecKey], source: str = "given") -> None:
        if not keys:
            raise CodecKeyError("no key given")
        ids = [k.key_id for k in keys]
        if len(set(ids)) != len(ids):
            raise CodecKeyError(f"a key ID is listed twice: {', '.join(ids)}")
        self.keys = tuple(keys)
        self.source = source
        self._by_id = {k.key_id: k for k in keys}

    @property
    def encrypting(self) -> CodecKey:
        return self.keys[0]

    @property
    def ids(self) -> list[str]:
        return [k.key_id for k in self.keys]

    def get(self, key_id: str) -> CodecKey | None:
        return self._by_id.get(key_id)

    def describe(self) -> str:
        """For logs: which keys, from where - never key material."""
        return f"encrypting with '{self.encrypting.key_id}', decrypting {', '.join(self.ids)} (from {self.source})"

    def to_env(self) -> str:
        return ",".join(f"{k.key_id}:{k.to_base64()}" for k in self.keys)

    def to_json(self) -> dict:
        return {"keys": [{"id": k.key_id, "key": k.to_base64()} for k in self.keys]}

    def __repr__(self) -> str:
        return f"KeyRing({self.describe()})"


def parse_keys(text: str, source: str = KEYS_ENV) -> KeyRing:
    """``"k2:<base64>,k1:<base64>"``: the first encrypts."""
    keys = []
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        key_id, sep, material = item.partition(":")
        if not sep:
            raise CodecKeyError(f"{source}: each key is ID:BASE64, e.g. k2:<base64 of 32 bytes>")
        keys.append(CodecKey.from_base64(key_id.strip(), material))
    if not keys:
        raise CodecKeyError(f"{source} is set but holds no key")
    return KeyRing(keys, source)


def load_key_file(path: str | os.PathLike[str]) -> KeyRing:
    """``{"keys": [{"id": "k2", "key": "<base64>"}, ...]}``: the first encrypts."""
    try:
        data = json.loads(Path(path).read_text())
        items = data["keys"]
        keys = [CodecKey.from_base64(str(item["id"]), str(item["key"])) for item in items]
    except OSError as err:
        raise CodecKeyError(f"key file {path} cannot be read: {err.strerror}") from None
    except (ValueError, KeyError, TypeError) as err:
        if isinstance(err, CodecKeyError):
            raise CodecKeyError(f"key file {path}: {err}") from None
        raise CodecKeyError(f'key file {path} is not {{"keys": [{{"id": ..., "key": ...}}]}}') from None
    return KeyRing(keys, f"key file {path}")


def write_key_file(path: Path, keyring: KeyRing) -> None:
    """Write a key file readable by its owner only (0600), created so from the start."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        json.dump(keyring.to_json(), out, indent=1)
    os.chmod(path, 0o600)


def local_key_file(data_dir: str | os.PathLike[str] | None = None) -> Path:
    return Path(data_dir or config.LocalStackSettings.read().data_dir) / LOCAL_KEY_FILE


def _settings(environ: Mapping[str, str] | None = None) -> config.CodecSettings:
    """The codec's settings; a bad one is a CodecKeyError (the worker and the CLI say it in one line)."""
    try:
        return config.CodecSettings.read(environ)
    except config.SettingsError as err:
        raise CodecKeyError(str(err)) from None


def _explicit(environ: MutableMapping[str, str] | None) -> KeyRing | None:
    """``environ``: None for this process's environment."""
    settings = _settings(environ)
    if settings.keys:
        return parse_keys(settings.keys)
    if settings.key_file:
        return load_key_file(settings.key_file)
    if settings.test_key:
        # Exported so that subprocesses (the CLI run by a test) seal with the same key.
        keyring = KeyRing([CodecKey.generate(f"test-{secrets.token_hex(4)}")], f"{TEST_KEY_ENV} (throwaway)")
        config.export(KEYS_ENV, keyring.to_env(), environ)
        return keyring
    return None


def keyring_from_environment(environ: MutableMapping[str, str] | None = None) -> KeyRing:
    """The keys configured for this process (see the module docstring for the order)."""
    keyring = _explicit(environ)
    if keyring is not None:
        return keyring
    local = local_key_file(config.LocalStackSettings.read(environ).data_dir)
    if local.is_file():
        return load_key_file(local)
    raise CodecKeysMissing(
        f"no payload encryption key: set {KEYS_ENV} (ID:BASE64,...) or {KEY_FILE_ENV}, "
        "or start the local stack with 'casework up' (see docs/privacy.md)"
    )


def ensure_local_keys(data_dir: str | os.PathLike[str]) -> None:
    """The local stack's key and codec-server token, made on first start, kept in
    ``data_dir/codec-keys.json`` (mode 0600), and set in this process's environment.

    Explicitly configured keys win: then no file is made. A token already set in
    ``CASEWORK_CODEC_TOKEN`` is kept.
    """
    path = local_key_file(data_dir)
    explicit = _explicit(None) is not None
    if not explicit:
        if not path.is_file():
            write_key_file(path, KeyRing([CodecKey.generate(f"local-{secrets.token_hex(4)}")], "local"))
        load_key_file(path)  # refuse a damaged file now, not at the first payload
        config.export(KEY_FILE_ENV, str(path.resolve()))
    token_path = path.with_name("codec-token")
    if not _settings().token:
        if not token_path.is_file():
            fd = os.open(token_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as out:
                out.write(secrets.token_urlsafe(32))
        config.export(TOKEN_ENV, token_path.read_text().strip())


def accept_plaintext_from_environment(environ: Mapping[str, str] | None = None) -> bool:
    """``CASEWORK_CODEC_ACCEPT_PLAINTEXT``: 1/true/yes, or off (the default)."""
    return _settings(environ).accept_plaintext


class EncryptionCodec(PayloadCodec):
    """AES-256-GCM over whole payloads, sealed with the key ring's first key.

    ``accept_plaintext``: read unencrypted payloads as they are (None: from
    ``CASEWORK_CODEC_ACCEPT_PLAINTEXT``); otherwise they decode to a refused payload.
    """

    def __init__(self, keyring: KeyRing, accept_plaintext: bool | None = None) -> None:
        self.keyring = keyring
        self.accept_plaintext = accept_plaintext_from_environment() if accept_plaintext is None else accept_plaintext
        self._ciphers = {k.key_id: AESGCM(k.secret) for k in keyring.keys}

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self.seal(p) for p in payloads]

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self.open(p) for p in payloads]

    def seal(self, payload: Payload) -> Payload:
        key = self.keyring.encrypting
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._ciphers[key.key_id].encrypt(nonce, payload.SerializeToString(), key.key_id.encode())
        return Payload(
            metadata={"encoding": ENCODING, KEY_ID_METADATA: key.key_id.encode()},
            data=nonce + sealed,
        )

    def open(self, payload: Payload) -> Payload:
        encoding = payload.metadata.get("encoding")
        if encoding != ENCODING:
            if self.accept_plaintext or encoding == REFUSED_ENCODING:
                return payload  # accepted (from before encryption), or refused already
            # Not raised: a decode error fails the whole workflow task, over and over, and
            # one forged signal would wedge the case. A refused payload is refused alone.
            log.warning("refused a payload that is not encrypted (encoding '%s'): written by a client "
                        "without the payload key (docs/privacy.md)", _shown(encoding or b""))
            return refused(payload)
        key_id = payload.metadata.get(KEY_ID_METADATA, b"").decode(errors="replace")
        cipher = self._ciphers.get(key_id)
        if cipher is None:
            raise UndecryptablePayload(
                f"payload sealed with key '{key_id}', which is not configured "
                f"(configured: {', '.join(self.keyring.ids)}); keep retired keys for decryption"
            )
        try:
            plain = cipher.decrypt(payload.data[:NONCE_BYTES], payload.data[NONCE_BYTES:], key_id.encode())
        except InvalidTag:
            raise UndecryptablePayload(f"payload sealed with key '{key_id}' fails authentication (altered, or another key of that ID)") from None
        return Payload.FromString(plain)


def _shown(encoding: bytes) -> str:
    """An encoding named by whoever sent the payload: short and printable only, for logs."""
    return "".join(c for c in encoding.decode(errors="replace")[:40] if c.isprintable())


def refused(payload: Payload) -> Payload:
    """The refused form of an unencrypted payload: no converter but ours reads its
    encoding, and ours raises (``RefusedPayloadConverter``)."""
    encoding = payload.metadata.get("encoding", b"<none>")
    return Payload(
        metadata={"encoding": REFUSED_ENCODING, "refused-encoding": encoding},
        data=payload.SerializeToString(),
    )


class RefusedPayloadConverter(EncodingPayloadConverter):
    """Reads a refused payload by raising a non-retryable ``ApplicationError`` that names
    the cause. In a workflow this fails a start (nothing runs, nothing is written), drops a
    signal and rejects an update, each logged by the SDK with this message."""

    @property
    def encoding(self) -> str:
        return REFUSED_ENCODING.decode()

    def to_payload(self, value: object) -> Payload | None:
        return None  # never used to write

    def from_payload(self, payload: Payload, type_hint: type | None = None) -> object:
        encoding = _shown(payload.metadata.get("refused-encoding", b""))
        raise ApplicationError(REFUSAL.format(encoding=encoding), type=REFUSAL_TYPE, non_retryable=True)


def sealed_key_id(payload: Payload) -> str | None:
    """The ID of the key that sealed ``payload``, or None when it is not encrypted."""
    if payload.metadata.get("encoding") != ENCODING:
        return None
    return payload.metadata.get(KEY_ID_METADATA, b"").decode()


def codec_from_environment(environ: Mapping[str, str] | None = None) -> EncryptionCodec:
    return EncryptionCodec(keyring_from_environment(environ), accept_plaintext_from_environment(environ))  # type: ignore[arg-type]


def prepare_test_key() -> None:
    """Under the test flag (``CASEWORK_CODEC_TEST_KEY``), make the throwaway key now and
    export it, so that every process the tests start - a worker, ``casework up``, a CLI
    command - inherits the same key through the environment. tests/conftest.py calls it
    before any test."""
    settings = _settings()
    if not (settings.keys or settings.key_file):
        _explicit(None)  # makes and exports the throwaway key only under the test flag
