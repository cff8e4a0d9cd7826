"""How the API is served (api/serving.py, api/app.py; issue 25 item 10), on real uvicorn
servers: half-sent requests are cut off, connections are limited, and an exception's
text never reaches the log."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import AsyncIterator
from types import SimpleNamespace

import httpx
import uvicorn

from api.app import create_app
from api.serving import uvicorn_options


@contextlib.asynccontextmanager
async def served(**options: float) -> AsyncIterator[tuple[str, int, object]]:
    app = create_app(SimpleNamespace())  # type: ignore[arg-type]  # no route here needs the services

    @app.get("/boom")
    async def boom() -> None:
        raise ValueError("Jane Example, born 1970-01-01, convicted of theft")

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="info", **uvicorn_options(**options)))  # type: ignore[arg-type]
    serve = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        while not server.started:
            assert not serve.done()
            await asyncio.sleep(0.02)
        yield "127.0.0.1", sock.getsockname()[1], server
    finally:
        server.should_exit = True
        await serve
        sock.close()


async def _closed_by_server(reader: asyncio.StreamReader) -> bool:
    try:
        return await asyncio.wait_for(reader.read(1024), 0.1) == b""
    except (asyncio.TimeoutError, ConnectionError):
        return False


async def test_half_sent_requests_are_cut_off_and_whole_ones_answered() -> None:
    """Issue 25: 1,000 half-sent requests stayed open indefinitely."""
    async with served(head_timeout=1.0) as (host, port, _):
        opened = [await asyncio.open_connection(host, port) for _ in range(200)]
        for _, writer in opened:
            writer.write(b"GET /live HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")  # and never the rest
        await asyncio.gather(*(writer.drain() for _, writer in opened))
        async with httpx.AsyncClient(base_url=f"http://{host}:{port}") as http:
            assert (await http.get("/live")).status_code == 200  # others are served meanwhile
        await asyncio.sleep(2.0)
        closed = await asyncio.gather(*(_closed_by_server(reader) for reader, _ in opened))
        assert all(closed), f"{closed.count(False)} of {len(closed)} half-sent requests still open"
        for _, writer in opened:
            writer.close()


async def test_beyond_the_connection_limit_a_request_is_503_at_once() -> None:
    async with served(max_connections=20) as (host, port, _):
        idle = [await asyncio.open_connection(host, port) for _ in range(25)]
        await asyncio.sleep(0.2)
        async with httpx.AsyncClient(base_url=f"http://{host}:{port}") as http:
            assert (await http.get("/live")).status_code == 503
        for _, writer in idle:
            writer.close()


class _Kept(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))  # with the traceback's text, as a log file gets it


async def test_an_exceptions_text_reaches_neither_the_answer_nor_the_log() -> None:
    """Issue 25: uvicorn logged the full exception text (it may hold personal data)."""
    kept = _Kept()
    watched = [logging.getLogger(name) for name in ("", "uvicorn", "uvicorn.error", "api")]
    async with served() as (host, port, _):
        for logger in watched:  # now: uvicorn's start-up replaced its loggers' handlers
            logger.addHandler(kept)
        try:
            async with httpx.AsyncClient(base_url=f"http://{host}:{port}") as http:
                answer = await http.get("/boom")
        finally:
            for logger in watched:
                logger.removeHandler(kept)
    assert answer.status_code == 500 and answer.headers["content-type"] == "application/problem+json"
    assert "Jane" not in answer.text
    logged = "\n".join(kept.lines)
    assert "ValueError" in logged  # the type is logged
    assert "Jane" not in logged and "1970" not in logged, logged


async def test_the_local_api_answers_only_requests_addressed_to_this_machine() -> None:
    """Issue 25: DNS rebinding reached the local stack's API (``casework up``'s config)."""
    from starter.up import _api_server_config

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    server = uvicorn.Server(_api_server_config(create_app(SimpleNamespace()), port))  # type: ignore[arg-type]
    serve = asyncio.create_task(server.serve())
    try:
        while not server.started:
            assert not serve.done()
            await asyncio.sleep(0.02)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
            assert (await http.get("/live")).status_code == 200
            assert (await http.get("/live", headers={"Host": f"localhost:{port}"})).status_code == 200
            rebound = await http.get("/live", headers={"Host": f"rebound.example:{port}"})
            assert rebound.status_code == 421
    finally:
        server.should_exit = True
        await serve
