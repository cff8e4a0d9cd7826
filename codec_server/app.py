"""The codec server: lets the Temporal Web UI (and ``temporal`` CLI) show decrypted payloads.

The Temporal remote-codec protocol: ``POST /decode`` (and ``/encode``) with a JSON body
``{"payloads": [{"metadata": {"encoding": "<base64>"}, "data": "<base64>"}, ...]}`` and
an ``X-Namespace`` header; the answer has the same shape. The UI calls it from the
browser, so the UI's origin must be allowed by CORS.

Every call needs the token (``CASEWORK_CODEC_TOKEN``): ``Authorization: Bearer <token>``
(the ``temporal`` CLI's ``--codec-auth``), or, for a Web UI that cannot add a header
without its own login, inside the endpoint path: ``/ui/<token>/decode``. Without it: 401.

No payload content is ever logged; neither is the token (the access log is off).
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field

from aiohttp import web
from google.protobuf.json_format import MessageToDict, ParseDict, ParseError
from temporalio.api.common.v1 import Payload, Payloads

from casework import config
from casework.codec import TOKEN_ENV, EncryptionCodec, UndecryptablePayload

log = logging.getLogger("casework.codec_server")

ORIGINS_ENV = config.CODEC_CORS_ORIGINS_ENV
NAMESPACES_ENV = config.CODEC_NAMESPACES_ENV
DEFAULT_ORIGINS = ("http://localhost:8233", "http://127.0.0.1:8233")
MIN_TOKEN = 16
MAX_BODY = 16 * 1024 * 1024  # a page of history; Temporal's own payload limit is 2 MiB each
ALLOWED_HEADERS = "Authorization, Content-Type, X-Namespace"


class CodecServerConfigError(ValueError):
    pass


@dataclass(frozen=True)
class CodecServerConfig:
    token: str = field(repr=False)
    origins: tuple[str, ...] = DEFAULT_ORIGINS
    #: When set, only these namespaces may be decoded.
    namespaces: frozenset[str] | None = None

    def __post_init__(self) -> None:
        if len(self.token) < MIN_TOKEN:
            raise CodecServerConfigError(
                f"{TOKEN_ENV} must be set to a random token of at least {MIN_TOKEN} characters"
            )

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> "CodecServerConfig":
        return cls(
            token=config.codec_token(environ),
            origins=config.codec_cors_origins(environ) or DEFAULT_ORIGINS,
            namespaces=config.codec_namespaces(environ) or None,
        )


CODEC = web.AppKey("codec", EncryptionCodec)
CONFIG = web.AppKey("config", CodecServerConfig)


def create_app(codec: EncryptionCodec, config: CodecServerConfig) -> web.Application:
    app = web.Application(middlewares=[_cors], client_max_size=MAX_BODY)
    app[CODEC] = codec
    app[CONFIG] = config
    for prefix in ("", "/ui/{token}"):
        app.router.add_post(f"{prefix}/decode", _decode)
        app.router.add_post(f"{prefix}/encode", _encode)
        app.router.add_route("OPTIONS", f"{prefix}/decode", _preflight)
        app.router.add_route("OPTIONS", f"{prefix}/encode", _preflight)
    app.router.add_get("/health", _health)
    return app


@web.middleware
async def _cors(request: web.Request, handler):  # noqa: ANN001, ANN202 - aiohttp's middleware shape
    # Refusals (401, 400) carry the CORS headers too, so the UI can tell why.
    try:
        response = await handler(request)
    except web.HTTPException as err:
        _allow_origin(request, err.headers)
        raise
    _allow_origin(request, response.headers)
    return response


def _allow_origin(request: web.Request, headers) -> None:  # noqa: ANN001 - a CIMultiDict
    origin = request.headers.get("Origin")
    if origin and origin.rstrip("/") in request.app[CONFIG].origins:
        headers["Access-Control-Allow-Origin"] = origin
        headers["Access-Control-Allow-Credentials"] = "true"
    headers["Vary"] = "Origin"


async def _preflight(request: web.Request) -> web.Response:
    # Browsers send no credentials on a preflight: it is answered by origin alone.
    origin = request.headers.get("Origin", "")
    if origin.rstrip("/") not in request.app[CONFIG].origins:
        return web.Response(status=403, text="origin not allowed")
    return web.Response(status=204, headers={
        "Access-Control-Allow-Methods": "POST, OPTIONS",
        "Access-Control-Allow-Headers": ALLOWED_HEADERS,
        "Access-Control-Max-Age": "600",
    })


async def _health(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


def _authorised(request: web.Request) -> bool:
    expected = request.app[CONFIG].token.encode()
    given = request.match_info.get("token")
    if given is None:
        scheme, _, value = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer":
            return False
        given = value.strip()
    return hmac.compare_digest(given.encode(), expected)


async def _payloads(request: web.Request) -> tuple[str, Payloads]:
    if not _authorised(request):
        raise web.HTTPUnauthorized(
            text='{"error": "a bearer token is required"}', content_type="application/json",
            headers={"WWW-Authenticate": 'Bearer realm="casework-codec"'},
        )
    namespace = request.headers.get("X-Namespace", "")
    allowed = request.app[CONFIG].namespaces
    if allowed is not None and namespace not in allowed:
        raise web.HTTPForbidden(text='{"error": "namespace not served here"}', content_type="application/json")
    try:
        body = await request.json()
        return namespace, ParseDict(body, Payloads())
    except (ValueError, ParseError, TypeError, AttributeError):
        raise web.HTTPBadRequest(
            text='{"error": "the body is {\\"payloads\\": [{\\"metadata\\": {...}, \\"data\\": \\"...\\"}]}"}',
            content_type="application/json",
        ) from None


def _answer(payloads: list[Payload]) -> web.Response:
    return web.json_response(MessageToDict(Payloads(payloads=payloads)) or {"payloads": []})


async def _decode(request: web.Request) -> web.Response:
    namespace, payloads = await _payloads(request)
    codec = request.app[CODEC]
    out: list[Payload] = []
    refused = 0
    for payload in payloads.payloads:
        try:
            out.append(codec.open(payload))
        except UndecryptablePayload:
            refused += 1  # left sealed: the UI shows it as it is, the others still decode
            out.append(payload)
    log.info("decode: %d payload(s), namespace %s, %d left sealed", len(out), namespace or "-", refused)
    return _answer(out)


async def _encode(request: web.Request) -> web.Response:
    namespace, payloads = await _payloads(request)
    out = await request.app[CODEC].encode(payloads.payloads)
    log.info("encode: %d payload(s), namespace %s", len(out), namespace or "-")
    return _answer(out)
