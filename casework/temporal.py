"""Temporal connection settings (the SDK's environment configuration) and the one data converter every client, worker,
test environment and replayer uses: pydantic payloads, encrypted (``casework.codec``)."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from typing import Any

from temporalio.client import Client
from temporalio.envconfig import ClientConfigProfile
from temporalio.contrib.pydantic import PydanticPayloadConverter, pydantic_data_converter
from temporalio.runtime import Runtime
from temporalio.converter import DataConverter, DefaultFailureConverterWithEncodedAttributes

from casework import config
from casework.codec import EncryptionCodec, KeyRing, RefusedPayloadConverter, keyring_from_environment

TASK_QUEUE = "acro-casework"
DEFAULT_ADDRESS = "localhost:7233"
DEFAULT_NAMESPACE = "default"
#: Our own variable beside the SDK's: the task queue the case workers poll (casework.config reads it).
TASK_QUEUE_ENV = config.TASK_QUEUE_ENV
#: The variables the SDK's environment configuration reads (temporalio.envconfig), as the
#: temporal CLI does; a TOML profile (TEMPORAL_CONFIG_FILE, TEMPORAL_PROFILE) may hold the same.
ENVCONFIG_VARIABLES = frozenset({
    "TEMPORAL_ADDRESS", "TEMPORAL_NAMESPACE", "TEMPORAL_API_KEY", "TEMPORAL_TLS",
    "TEMPORAL_TLS_CLIENT_CERT_PATH", "TEMPORAL_TLS_CLIENT_CERT_DATA", "TEMPORAL_TLS_CLIENT_KEY_PATH",
    "TEMPORAL_TLS_CLIENT_KEY_DATA", "TEMPORAL_TLS_SERVER_CA_CERT_PATH", "TEMPORAL_TLS_SERVER_CA_CERT_DATA",
    "TEMPORAL_TLS_SERVER_NAME", "TEMPORAL_CONFIG_FILE", "TEMPORAL_PROFILE",
})


class TlsSettingsError(RuntimeError):
    """Temporal connection settings that cannot work (a RuntimeError: the CLI and the worker
    print it as one line and exit 5, as for an unreachable server)."""


@dataclasses.dataclass(frozen=True)
class TemporalSettings:
    """Where clients and workers find Temporal, and the task queue of the case workers.

    The connection (address, namespace, API key, TLS or mTLS) is the SDK's environment
    configuration, ``temporalio.envconfig``: a TOML profile shared with the ``temporal``
    CLI, overridden by the standard ``TEMPORAL_*`` variables (docs/operations.md).
    """

    profile: ClientConfigProfile = dataclasses.field(default_factory=ClientConfigProfile)
    task_queue: str = TASK_QUEUE

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> "TemporalSettings":
        """The profile (``TEMPORAL_PROFILE``, else "default") from the config file, then the
        environment on top; ``environ`` replaces ``os.environ`` (tests)."""
        env = os.environ if environ is None else environ
        try:
            profile = ClientConfigProfile.load(override_env_vars=dict(env))
            profile.to_client_connect_config()  # reads the certificate files: refuse a missing one now
        except (OSError, RuntimeError, ValueError) as err:  # a missing profile or certificate file
            raise TlsSettingsError(f"Temporal connection settings: {err}") from None
        if profile.tls is not None and bool(profile.tls.client_cert) != bool(profile.tls.client_private_key):
            raise TlsSettingsError(
                "TEMPORAL_TLS_CLIENT_CERT_PATH and TEMPORAL_TLS_CLIENT_KEY_PATH go together: set both or neither"
            )
        return cls(profile, config.TemporalExtraSettings.read(env).task_queue or TASK_QUEUE)

    @classmethod
    def local(cls, address: str, *, namespace: str = DEFAULT_NAMESPACE, task_queue: str = TASK_QUEUE) -> "TemporalSettings":
        """A server on this machine (the dev server of ``casework up``, a test server): no TLS."""
        return cls(ClientConfigProfile(address=address, namespace=namespace), task_queue)

    @property
    def address(self) -> str:
        return self.profile.address or DEFAULT_ADDRESS

    @property
    def namespace(self) -> str:
        return self.profile.namespace or DEFAULT_NAMESPACE

    def replace(self, *, address: str | None = None, task_queue: str | None = None) -> "TemporalSettings":
        profile = dataclasses.replace(self.profile, address=address) if address else self.profile
        return TemporalSettings(profile, task_queue or self.task_queue)

    def connect_config(self) -> dict[str, Any]:
        """``Client.connect`` keyword arguments: the profile's, with our defaults filled in."""
        arguments: dict[str, Any] = dict(self.profile.to_client_connect_config())
        arguments["target_host"] = self.address
        arguments["namespace"] = self.namespace
        return arguments


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
    settings = settings or TemporalSettings.from_environment()
    return await Client.connect(**settings.connect_config(), data_converter=data_converter(), runtime=runtime)
