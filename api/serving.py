"""How the API is served on uvicorn (issue 25, item 10): one set of options for
``casework-api`` and the tests, with limits uvicorn does not have by default.

* A request's head must arrive within ``HEAD_TIMEOUT_SECONDS`` of its first byte (or of
  the connection): a client that sends half a request and waits is cut off, so 1,000
  half-sent requests cannot hold 1,000 connections open for ever (uvicorn has no such
  timer: its keep-alive timer stops at the first byte of the next request).
* At most ``MAX_CONNECTIONS`` connections and requests at once; beyond, 503 at once.
* Idle keep-alive connections are kept longer than a load balancer's idle timeout.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.h11_impl import H11Protocol

#: Seconds a request's head (request line and headers) may take to arrive.
HEAD_TIMEOUT_SECONDS = 10.0
#: Connections (and requests in flight) one API process takes at once.
MAX_CONNECTIONS = 1000
#: Seconds an idle HTTP connection is kept open (above the usual load balancers' 60 s):
#: uvicorn's 5 s default equals httpx's, and a request sent on a connection the server is
#: closing at that moment fails (seen in the benchmark as ReadError).
KEEP_ALIVE_SECONDS = 75


def head_timed(seconds: float) -> type[H11Protocol]:
    """uvicorn's h11 protocol, closing a connection whose request head is not complete
    ``seconds`` after it began (slowloris)."""

    class HeadTimedH11(H11Protocol):
        _head_timer: asyncio.TimerHandle | None = None

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._start_head_timer()

        def data_received(self, data: bytes) -> None:
            super().data_received(data)
            if self.cycle is not None and not self.cycle.response_complete:
                self._stop_head_timer()  # a whole head arrived: the request is the app's now
            else:
                self._start_head_timer()  # a head has begun: from its first byte, not its last

        def on_response_complete(self) -> None:
            self._stop_head_timer()  # idle again: uvicorn's keep-alive timer takes over
            super().on_response_complete()

        def connection_lost(self, exc: Exception | None) -> None:
            self._stop_head_timer()
            super().connection_lost(exc)

        def _start_head_timer(self) -> None:
            if self._head_timer is None:
                self._head_timer = self.loop.call_later(seconds, self._head_too_slow)

        def _stop_head_timer(self) -> None:
            if self._head_timer is not None:
                self._head_timer.cancel()
                self._head_timer = None

        def _head_too_slow(self) -> None:
            self._head_timer = None
            if not self.transport.is_closing():
                self.transport.close()

    return HeadTimedH11


def uvicorn_options(*, head_timeout: float = HEAD_TIMEOUT_SECONDS, max_connections: int = MAX_CONNECTIONS) -> dict[str, Any]:
    """The options ``uvicorn.run`` / ``uvicorn.Config`` take for the API."""
    return {"http": head_timed(head_timeout), "limit_concurrency": max_connections,
            "timeout_keep_alive": KEEP_ALIVE_SECONDS, "access_log": False}
