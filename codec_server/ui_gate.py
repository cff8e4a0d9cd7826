"""The local stack's Web UI, read-only (issue 25, item 7).

The dev server's Web UI has no sign-in and offers Cancel, Reset, Signal, Terminate and
Start Workflow to whoever loads it - the policy bypassed - and ``temporal server
start-dev`` has no switch to turn them off. So ``casework up`` serves the UI through this
gate, on the UI's port, in front of the dev server's own UI (bound to another loopback
port):

* the UI's settings (``/api/v1/settings``) say write actions are disabled (the UI hides
  or disables every write button), and name the gate's own ``/codec`` as the codec
  endpoint, with no token in them;
* any request that would write through the UI's API - anything but GET, HEAD and a
  workflow query - is refused (403) whatever the page does: the gate enforces, the
  settings only keep the page honest;
* ``/codec/decode`` is passed to the codec server with its token added here, so the
  token is neither on the dev server's command line (world-readable) nor in the UI's
  public settings; ``/codec/encode`` does not exist (a page that could encode could forge
  an update that closes a case);
* a request not addressed to this machine by name is refused (421, DNS rebinding).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

import aiohttp
from aiohttp import web

from access.loopback import host_of, is_loopback_host

#: The UI server's settings that turn every write action off (ui-server's config names).
READ_ONLY = {
    "DisableWriteActions": True, "WorkflowTerminateDisabled": True, "WorkflowCancelDisabled": True,
    "WorkflowSignalDisabled": True, "WorkflowUpdateDisabled": True, "WorkflowResetDisabled": True,
    "BatchActionsDisabled": True, "StartWorkflowDisabled": True, "WorkflowPauseDisabled": True,
    "ActivityCommandsDisabled": True, "HideWorkflowQueryErrors": False,
}
#: Reads the UI makes by POST: a workflow query (the stack trace, our ``view``).
_QUERY = re.compile(r"^/api/v1/namespaces/[^/]+/workflows/[^/]+/query/[^/]+$")
_HOP_BY_HOP = {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer",
               "transfer-encoding", "upgrade", "host", "content-length", "content-encoding"}
SETTINGS_PATH = "/api/v1/settings"
CODEC_PATH = "/codec"


def writes(method: str, path: str) -> bool:
    """Whether a request to the UI's server would change something (refused at the gate)."""
    if method in ("GET", "HEAD", "OPTIONS"):
        return False
    return not (method == "POST" and _QUERY.match(path))


def read_only_settings(settings: Mapping[str, object], codec_endpoint: str) -> dict[str, object]:
    """The UI server's settings with every write action off and the gate's codec endpoint."""
    patched = {**settings, **READ_ONLY}
    codec = dict(settings.get("Codec") or {})  # type: ignore[call-overload]
    codec.update(Endpoint=codec_endpoint, PassAccessToken=False, IncludeCredentials=False)
    codec.pop("AccessToken", None)
    patched["Codec"] = codec
    return patched


@dataclass
class UiGate:
    """``await UiGate(upstream, codec_url, codec_headers).start(port)``; ``close()`` stops it."""

    upstream: str  # the dev server's own UI, http://127.0.0.1:PORT
    codec_url: str  # the codec server, http://127.0.0.1:PORT
    codec_headers: Mapping[str, str] = field(repr=False, default_factory=dict)  # its token, kept here
    _runner: web.AppRunner | None = field(default=None, repr=False)
    _http: aiohttp.ClientSession | None = field(default=None, repr=False)

    async def start(self, port: int, host: str = "127.0.0.1") -> None:
        self._http = aiohttp.ClientSession(auto_decompress=False)
        app = web.Application(middlewares=[_loopback_only], client_max_size=4 * 1024 * 1024)
        app.router.add_post(f"{CODEC_PATH}/decode", self._decode)
        app.router.add_route("*", "/{tail:.*}", self._pass)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, host, port).start()

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
        if self._http is not None:
            await self._http.close()

    async def _decode(self, request: web.Request) -> web.Response:
        assert self._http is not None
        headers = {k: v for k, v in request.headers.items() if k.lower() in ("content-type", "x-namespace")}
        async with self._http.post(f"{self.codec_url}/decode", data=await request.read(),
                                   headers={**headers, **self.codec_headers}) as answer:
            return web.Response(status=answer.status, body=await answer.read(),
                                content_type=answer.content_type or "application/json")

    async def _pass(self, request: web.Request) -> web.StreamResponse:
        assert self._http is not None
        if request.path.startswith(CODEC_PATH):
            raise web.HTTPNotFound(text="decode only: the local Web UI encodes nothing")
        if writes(request.method, request.path):
            raise web.HTTPForbidden(text=json.dumps({"message": "the local Web UI is read-only: act through the API "
                                                                "(casework --help)"}), content_type="application/json")
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _HOP_BY_HOP}
        if request.path == SETTINGS_PATH:
            headers = {**{k: v for k, v in headers.items() if k.lower() != "accept-encoding"},
                       "Accept-Encoding": "identity"}  # read and rewritten here: plain
        async with self._http.request(request.method, f"{self.upstream}{request.rel_url}", headers=headers,
                                      data=await request.read() if request.can_read_body else None,
                                      allow_redirects=False) as answer:
            out = {k: v for k, v in answer.headers.items() if k.lower() not in _HOP_BY_HOP}
            if request.path == SETTINGS_PATH and answer.status == 200:
                settings = read_only_settings(json.loads(await answer.read()), f"{request.scheme}://{request.host}{CODEC_PATH}")
                out.pop("Content-Type", None)
                return web.json_response(settings, headers=out)
            response = web.StreamResponse(status=answer.status, headers=out)
            if answer.headers.get("Content-Encoding"):
                response.headers["Content-Encoding"] = answer.headers["Content-Encoding"]
            await response.prepare(request)
            async for chunk in answer.content.iter_chunked(64 * 1024):
                await response.write(chunk)
            await response.write_eof()
            return response


@web.middleware
async def _loopback_only(request: web.Request, handler):  # noqa: ANN001, ANN202 - aiohttp's middleware shape
    if not is_loopback_host(host_of(request.headers.get("Host", ""))):
        raise web.HTTPMisdirectedRequest(text="this server answers requests to 127.0.0.1 or localhost only")
    return await handler(request)
