"""Starting and stopping the codec server (``casework codec-server``, ``casework up``)."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field

from aiohttp import web

from casework.config import AccessSettings
from casework.codec import EncryptionCodec, KeyRing, keyring_from_environment
from codec_server.app import CodecServerConfig, create_app


@dataclass
class CodecServer:
    """A running codec server; ``close()`` stops it."""

    host: str
    port: int
    keyring: KeyRing
    _runner: web.AppRunner = field(repr=False)
    _token: str | None = field(repr=False)
    #: The issuer's settings when it takes people's tokens (``CASEWORK_CODEC_AUTH=oidc``).
    oidc: AccessSettings | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def ui_endpoint(self) -> str:
        """For ``temporal server start-dev --ui-codec-endpoint``: the Web UI sends no bearer
        token without its own login, so the token is in the path. It is a secret: keep it
        out of shared logs. Only in ``token`` mode: with OIDC the UI passes each person's token."""
        if self._token is None:
            raise ValueError("this codec server takes people's bearer tokens (OIDC): no token goes in its endpoint")
        return f"{self.url}/ui/{self._token}"

    def bearer_headers(self) -> dict[str, str]:
        """What a caller in this process sends to be let in (``token`` mode): the local Web
        UI's gate adds it server-side (codec_server/ui_gate.py), so no page ever holds it."""
        if self._token is None:
            raise ValueError("this codec server takes people's bearer tokens (OIDC): it has no token to hand on")
        return {"Authorization": f"Bearer {self._token}"}

    async def close(self) -> None:
        await self._runner.cleanup()


async def start_codec_server(
    host: str = "127.0.0.1",
    port: int = 8081,
    *,
    config: CodecServerConfig | None = None,
    keyring: KeyRing | None = None,
    origins: Sequence[str] | None = None,
) -> CodecServer:
    """Serve ``/encode`` and ``/decode`` with the configured keys and token (environment
    by default). ``port=0`` picks a free port (see ``.port``). ``origins``: the Web UI's
    origins (e.g. ``["http://localhost:8233"]``) when not from the environment.
    Raises ``CodecKeysMissing`` or ``CodecServerConfigError`` when keys or token are
    missing: it never serves open."""
    config = config or CodecServerConfig.from_environment()
    if origins:
        config = dataclasses.replace(config, origins=tuple(o.rstrip("/") for o in origins))
    keyring = keyring or keyring_from_environment()
    runner = web.AppRunner(create_app(EncryptionCodec(keyring), config), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    try:
        await site.start()
    except OSError:
        await runner.cleanup()
        raise
    bound = runner.addresses[0][1] if runner.addresses else port
    return CodecServer(host=host, port=bound, keyring=keyring, _runner=runner, _token=config.token, oidc=config.oidc)

