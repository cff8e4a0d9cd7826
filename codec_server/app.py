"""The codec server: lets the Temporal Web UI (and ``temporal`` CLI) show decrypted payloads.

The Temporal remote-codec protocol: ``POST /decode`` (and ``/encode``) with a JSON body
``{"payloads": [{"metadata": {"encoding": "<base64>"}, "data": "<base64>"}, ...]}`` and
an ``X-Namespace`` header; the answer has the same shape. The UI calls it from the
browser, so the UI's origin must be allowed by CORS.

Who may call, one of two ways (``CASEWORK_CODEC_AUTH``):

* ``token`` (the local stack): the shared token (``CASEWORK_CODEC_TOKEN``) as
  ``Authorization: Bearer <token>`` (the ``temporal`` CLI's ``--codec-auth``), or, for a
  Web UI that cannot add a header without its own login, inside the endpoint path:
  ``/ui/<token>/decode``. Without it: 401.
* ``oidc`` (the cluster): each person's own bearer token, the one the Web UI got at its
  OIDC login (``TEMPORAL_CODEC_PASS_ACCESS_TOKEN``), verified by ``access.tokens`` against
  the same issuer as the API, and allowed by the one policy (``decode_history``:
  operators). No shared token is accepted, so none sits in the UI's settings. ``/encode``
  is refused there: it would let whoever may decode seal a message a worker takes as
  genuine.

No payload content is ever logged; neither is any token (the access log is off).
"""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field

from aiohttp import web
from google.protobuf.json_format import MessageToDict, ParseDict, ParseError
from temporalio.api.common.v1 import Payload, Payloads

from access.policy import Action, decide
from access.principal import Principal
from access.tokens import IssuerUnavailable, TokenRefused, TokenVerifier
from casework import config, strict_json
from casework.codec import TOKEN_ENV, EncryptionCodec, UndecryptablePayload

log = logging.getLogger("casework.codec_server")

ORIGINS_ENV = config.CodecSettings.variable("cors_origins")
NAMESPACES_ENV = config.CodecSettings.variable("namespaces")
AUTH_ENV = config.CodecSettings.variable("auth")
DEFAULT_ORIGINS = ("http://localhost:8233", "http://127.0.0.1:8233")
MIN_TOKEN = 16
MAX_BODY = 16 * 1024 * 1024  # a page of history; Temporal's own payload limit is 2 MiB each
ALLOWED_HEADERS = "Authorization, Content-Type, X-Namespace"


class CodecServerConfigError(ValueError):
    pass


@dataclass(frozen=True)
class CodecServerConfig:
    #: The shared token (``token`` mode); None with ``oidc``.
    token: str | None = field(default=None, repr=False)
    origins: tuple[str, ...] = DEFAULT_ORIGINS
    #: When set, only these namespaces may be decoded.
    namespaces: frozenset[str] | None = None
    #: ``oidc`` mode: people's bearer tokens from this issuer, for this audience.
    oidc: config.AccessSettings | None = None

    def __post_init__(self) -> None:
        if self.oidc is not None:
            if self.token:  # one way in: a shared token left beside OIDC would be the weaker door
                raise CodecServerConfigError(
                    f"with {AUTH_ENV}=oidc the codec server takes people's tokens only: unset {TOKEN_ENV}"
                )
            return
        if len(self.token or "") < MIN_TOKEN:
            raise CodecServerConfigError(
                f"{TOKEN_ENV} must be set to a random token of at least {MIN_TOKEN} characters"
                f" (or {AUTH_ENV}=oidc with {config.AccessSettings.variable('issuer')})"
            )

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> "CodecServerConfig":
        try:
            settings = config.CodecSettings.read(environ)
        except config.SettingsError as err:
            raise CodecServerConfigError(str(err)) from None
        oidc = None
        if settings.auth == "oidc":  # the issuer's settings as the API reads them (CASEWORK_OIDC_*)
            audience = settings.oidc_audience
            try:
                oidc = config.AccessSettings.read(**({"audience": audience} if audience else {}))
            except config.SettingsError as err:
                raise CodecServerConfigError(f"{AUTH_ENV}=oidc: {err}") from None
        return cls(
            token=settings.token,
            origins=tuple(origin.rstrip("/") for origin in settings.cors_origins) or DEFAULT_ORIGINS,
            namespaces=frozenset(settings.namespaces) or None,
            oidc=oidc,
        )


CODEC = web.AppKey("codec", EncryptionCodec)
CONFIG = web.AppKey("config", CodecServerConfig)
VERIFIER = web.AppKey("verifier", TokenVerifier)


def create_app(codec: EncryptionCodec, config: CodecServerConfig) -> web.Application:
    app = web.Application(middlewares=[_cors], client_max_size=MAX_BODY)
    app[CODEC] = codec
    app[CONFIG] = config
    if config.oidc is not None:
        app[VERIFIER] = TokenVerifier(config.oidc)  # one per process: it holds the JWKS cache
    # The token-in-path form exists for a UI without login; with OIDC there is no such UI.
    for prefix in ("",) if config.oidc is not None else ("", "/ui/{token}"):
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
    expected = (request.app[CONFIG].token or "").encode()
    given = request.match_info.get("token")
    if given is None:
        scheme, _, value = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer":
            return False
        given = value.strip()
    return bool(expected) and hmac.compare_digest(given.encode(), expected)


def _error(http: type[web.HTTPException], message: str, **headers: str) -> web.HTTPException:
    return http(text=json.dumps({"error": message}), content_type="application/json", headers=headers or None)


async def _caller(request: web.Request) -> str:
    """Who calls, or 401/403/503: the shared token (``token`` mode, answered as "token"),
    or a person's verified bearer token that the policy lets decode (``oidc`` mode)."""
    if request.app[CONFIG].oidc is None:
        if not _authorised(request):
            raise _error(web.HTTPUnauthorized, "a bearer token is required", **{"WWW-Authenticate": 'Bearer realm="casework-codec"'})
        return "token"
    try:
        who: Principal = await request.app[VERIFIER].verify_header_async(request.headers.get("Authorization"))
    except IssuerUnavailable as err:  # not the caller's fault: the UI may try again
        raise _error(web.HTTPServiceUnavailable, err.reason, **{"Retry-After": "5"}) from None
    except TokenRefused as err:
        raise _error(web.HTTPUnauthorized, err.reason, **{"WWW-Authenticate": err.www_authenticate}) from None
    decision = decide(who, Action.DECODE_HISTORY)
    if not decision:
        log.info("refused %s (%s)", who.subject, decision.reason)
        raise _error(web.HTTPForbidden, decision.reason)
    return who.subject


async def _payloads(request: web.Request) -> tuple[str, Payloads, str]:
    """The namespace, the payloads and who asks (for the log line)."""
    caller = await _caller(request)
    namespace = request.headers.get("X-Namespace", "")
    allowed = request.app[CONFIG].namespaces
    if allowed is not None and namespace not in allowed:
        raise web.HTTPForbidden(text='{"error": "namespace not served here"}', content_type="application/json")
    try:
        body = strict_json.loads(await request.read())
        return namespace, ParseDict(body, Payloads()), caller
    except (ValueError, ParseError, TypeError, AttributeError):
        raise web.HTTPBadRequest(
            text='{"error": "the body is {\\"payloads\\": [{\\"metadata\\": {...}, \\"data\\": \\"...\\"}]}"}',
            content_type="application/json",
        ) from None


def _answer(payloads: list[Payload]) -> web.Response:
    return web.json_response(MessageToDict(Payloads(payloads=payloads)) or {"payloads": []})


async def _decode(request: web.Request) -> web.Response:
    namespace, payloads, caller = await _payloads(request)
    codec = request.app[CODEC]
    out: list[Payload] = []
    refused = 0
    for payload in payloads.payloads:
        try:
            out.append(codec.open(payload))
        except UndecryptablePayload:
            refused += 1  # left sealed: the UI shows it as it is, the others still decode
            out.append(payload)
    log.info("decode: %d payload(s), namespace %s, %d left sealed, by %s", len(out), namespace or "-", refused,
             caller)
    return _answer(out)


async def _encode(request: web.Request) -> web.Response:
    namespace, payloads, caller = await _payloads(request)
    if request.app[CONFIG].oidc is not None:
        # Sealing is what the payload key's holders alone may do (a worker takes what is
        # sealed as genuine): the cluster's codec server only decodes, for people.
        raise _error(web.HTTPForbidden, "this codec server only decodes: messages are sent through the API")
    out = await request.app[CODEC].encode(payloads.payloads)
    log.info("encode: %d payload(s), namespace %s, by %s", len(out), namespace or "-", caller)
    return _answer(out)
