"""An HTTP codec server for the Temporal Web UI and CLI: decrypts payloads for people
who hold the token (see ``codec_server.app`` and docs/privacy.md)."""

from codec_server.server import CodecServer, start_codec_server

__all__ = ["CodecServer", "start_codec_server"]
