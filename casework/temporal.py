"""Temporal connection settings and the one data converter every client, worker,
test environment and replayer uses (the encryption codec will wrap it here)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import DataConverter

TASK_QUEUE = "acro-casework"


class TemporalSettings(BaseSettings):
    """The standard ``TEMPORAL_*`` environment, plus our task queue."""

    model_config = SettingsConfigDict(env_prefix="TEMPORAL_", extra="ignore")

    address: str = "localhost:7233"
    namespace: str = "default"
    task_queue: str = Field(default=TASK_QUEUE)
    api_key: str | None = None
    tls: bool = False


def data_converter() -> DataConverter:
    return pydantic_data_converter


async def connect(settings: TemporalSettings | None = None) -> Client:
    settings = settings or TemporalSettings()
    return await Client.connect(
        settings.address,
        namespace=settings.namespace,
        api_key=settings.api_key,
        tls=settings.tls or bool(settings.api_key),
        data_converter=data_converter(),
    )
