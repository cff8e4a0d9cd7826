"""Temporal connection settings and the one data converter every client, worker,
test environment and replayer uses: pydantic payloads, encrypted (``casework.codec``)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict
from temporalio.client import Client
from temporalio.service import TLSConfig
from temporalio.contrib.pydantic import PydanticPayloadConverter, pydantic_data_converter
from temporalio.runtime import Runtime
from temporalio.converter import DataConverter, DefaultFailureConverterWithEncodedAttributes

from casework.codec import EncryptionCodec, KeyRing, RefusedPayloadConverter, keyring_from_environment

TASK_QUEUE = "acro-casework"


class TlsSettingsError(RuntimeError):
    """TEMPORAL_TLS_* settings that cannot work (a RuntimeError: the CLI and the worker
    print it as one line and exit 5, as for an unreachable server)."""


class TemporalSettings(BaseSettings):
    """The standard ``TEMPORAL_*`` environment, plus our task queue."""

    model_config = SettingsConfigDict(env_prefix="TEMPORAL_", extra="ignore")

    address: str = "localhost:7233"
    namespace: str = "default"
    task_queue: str = Field(default=TASK_QUEUE)
    api_key: str | None = None
    tls: bool = False
    # mTLS (a self-hosted cluster, or Temporal Cloud without an API key): the standard
    # TEMPORAL_TLS_* names that the temporal CLI and other SDKs read too.
    tls_client_cert_path: Path | None = None
    tls_client_key_path: Path | None = None
    tls_server_ca_cert_path: Path | None = None
    tls_server_name: str | None = None

    def tls_config(self) -> TLSConfig | bool:
        """What ``Client.connect(tls=...)`` takes: False (plain), True (TLS with the system
        roots: Temporal Cloud with an API key), or a TLSConfig with the files' contents."""
        files = (self.tls_client_cert_path, self.tls_client_key_path, self.tls_server_ca_cert_path)
        if not any(files) and not self.tls_server_name:
            return self.tls or bool(self.api_key)
        if bool(self.tls_client_cert_path) != bool(self.tls_client_key_path):
            raise TlsSettingsError(
                "TEMPORAL_TLS_CLIENT_CERT_PATH and TEMPORAL_TLS_CLIENT_KEY_PATH go together: set both or neither"
            )

        def read(path: Path | None) -> bytes | None:
            return None if path is None else Path(path).read_bytes()

        return TLSConfig(
            client_cert=read(self.tls_client_cert_path),
            client_private_key=read(self.tls_client_key_path),
            server_root_ca_cert=read(self.tls_server_ca_cert_path),
            domain=self.tls_server_name,
        )


class CaseworkPayloadConverter(PydanticPayloadConverter):
    """Pydantic JSON, and the refusal of payloads that came unencrypted (casework.codec)."""

    def __init__(self) -> None:
        super().__init__()
        self._set_converters(*self.converters.values(), RefusedPayloadConverter())


def data_converter(keyring: KeyRing | None = None, *, accept_plaintext: bool | None = None) -> DataConverter:
    """Pydantic payloads sealed by the encryption codec, with the keys configured in the
    environment (or ``keyring``, for rotation and replay tools). Failure messages and
    stack traces are sealed too: a database error may quote a value. Unencrypted payloads
    are refused unless ``accept_plaintext`` (None: ``CASEWORK_CODEC_ACCEPT_PLAINTEXT``).

    Raises ``CodecKeysMissing`` when no key is configured (docs/privacy.md)."""
    return dataclasses.replace(
        pydantic_data_converter,
        payload_converter_class=CaseworkPayloadConverter,
        payload_codec=EncryptionCodec(keyring or keyring_from_environment(), accept_plaintext),
        failure_converter_class=DefaultFailureConverterWithEncodedAttributes,
    )


async def connect(settings: TemporalSettings | None = None, runtime: Runtime | None = None) -> Client:
    settings = settings or TemporalSettings()
    return await Client.connect(
        settings.address,
        namespace=settings.namespace,
        api_key=settings.api_key,
        tls=settings.tls_config(),
        data_converter=data_converter(),
        runtime=runtime,
    )
