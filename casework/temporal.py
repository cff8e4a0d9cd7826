"""Temporal connection settings and the one data converter every client, worker,
test environment and replayer uses: pydantic payloads, encrypted (``casework.codec``)."""

from __future__ import annotations

import dataclasses

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.runtime import Runtime
from temporalio.converter import DataConverter, DefaultFailureConverterWithEncodedAttributes

from casework.codec import EncryptionCodec, KeyRing, keyring_from_environment

TASK_QUEUE = "acro-casework"


class TemporalSettings(BaseSettings):
    """The standard ``TEMPORAL_*`` environment, plus our task queue."""

    model_config = SettingsConfigDict(env_prefix="TEMPORAL_", extra="ignore")

    address: str = "localhost:7233"
    namespace: str = "default"
    task_queue: str = Field(default=TASK_QUEUE)
    api_key: str | None = None
    tls: bool = False


def data_converter(keyring: KeyRing | None = None) -> DataConverter:
    """Pydantic payloads sealed by the encryption codec, with the keys configured in the
    environment (or ``keyring``, for rotation and replay tools). Failure messages and
    stack traces are sealed too: a database error may quote a value.

    Raises ``CodecKeysMissing`` when no key is configured (docs/privacy.md)."""
    return dataclasses.replace(
        pydantic_data_converter,
        payload_codec=EncryptionCodec(keyring or keyring_from_environment()),
        failure_converter_class=DefaultFailureConverterWithEncodedAttributes,
    )


async def connect(settings: TemporalSettings | None = None, runtime: Runtime | None = None) -> Client:
    settings = settings or TemporalSettings()
    return await Client.connect(
        settings.address,
        namespace=settings.namespace,
        api_key=settings.api_key,
        tls=settings.tls or bool(settings.api_key),
        data_converter=data_converter(),
        runtime=runtime,
    )
