"""The API's door (api/door.py, issue 25 items 1, 6, 10) through the real stack: every
body-taking operation of the OpenAPI document refuses a key given twice, a number that is
not finite and a nesting deeper than any document needs (400, naming the key), and a body
over its limit (413) with or without ``Content-Length``; the token is checked before the
body is read; every answer carries the door's headers; and nothing is written."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlsplit

import asyncpg
import pytest

from api.door import DEFAULT_BODY_LIMIT, LIMIT_KEY, MAX_BODY_LIMIT
from casework.case import case_id_for
from tests.api_support import ApiStack
from tests.support import referral_data

#: Values for the path parameters of body-taking operations (none needs to exist: the
#: body is refused before anything is looked up).
PATH_VALUES = {"case_id": "acro-case-EX_000001A", "task_id": "1", "recipient": "ice"}
#: Every table a request could write to.
TABLES = ("intake_referrals", "intake_certificates", "cases", "tasks", "audit_log", "feed_acknowledgements")


async def _operations(api: ApiStack) -> list[tuple[str, str, int]]:
    """(method, path, body limit) of every operation of the OpenAPI document taking a body."""
    document = (await api.http.get("/openapi.json")).json()
    found = []
    for template, operations in document["paths"].items():
        for method, operation in operations.items():
            if "requestBody" in operation:
                path = template
                for name, value in PATH_VALUES.items():
                    path = path.replace("{" + name + "}", value)
                assert "{" not in path, f"give PATH_VALUES a value for {template}"
                found.append((method.upper(), path, operation.get(LIMIT_KEY, DEFAULT_BODY_LIMIT)))
    assert len(found) >= 10  # referrals x2, events x4, personal data, completion, assignment, acknowledgements
    return found


async def _rows(pool: asyncpg.Pool) -> dict[str, int]:
    return {table: await pool.fetchval(f"SELECT count(*) FROM {table}") for table in TABLES}


@pytest.fixture
async def nothing_written(pool: asyncpg.Pool) -> AsyncIterator[None]:
    before = await _rows(pool)
    yield
    assert await _rows(pool) == before


async def _send(api: ApiStack, method: str, path: str, body: bytes, who: str = "cw.ben",
                **headers: str) -> Any:
    return await api.http.request(method, path, content=body,
                                  headers=api.headers(who) | {"Content-Type": "application/json"} | headers)


async def test_every_body_taking_operation_refuses_a_key_given_twice(api: ApiStack, nothing_written: None) -> None:
    for method, path, _ in await _operations(api):
        body = b'[{"event_id": "e-1", "event_id": "e-2"}]' if path.endswith("/batch") else \
            b'{"event_id": "e-1", "event_id": "e-2"}'
        answer = await _send(api, method, path, body)
        assert answer.status_code == 400, (path, answer.text)
        assert answer.headers["content-type"] == "application/problem+json"
        assert "'event_id' is given twice" in answer.json()["detail"], path
        assert answer.json()["type"].endswith("#bad-json")


async def test_a_referral_with_its_purpose_given_twice_is_refused_and_nothing_is_held_R61(
        api: ApiStack, pool: asyncpg.Pool, nothing_written: None) -> None:
    """The attack: "criminal proceedings", then the immigration wording; a parser that keeps
    the last key would have held a disclosable certificate (R61)."""
    data = referral_data()
    text = json.dumps(data)
    purpose = json.dumps(data["certificate"]["request_purpose"])
    twice = text.replace(f'"request_purpose": {purpose}',
                         f'"request_purpose": "Request for criminal proceedings", "request_purpose": {purpose}')
    assert twice != text
    for path, body in (("/referrals", twice), ("/referrals/batch", f"[{twice}]")):
        answer = await _send(api, "POST", path, body.encode(), who="acro")
        assert answer.status_code == 400, answer.text
        assert "'request_purpose' is given twice" in answer.json()["detail"]
    assert await pool.fetchval("SELECT count(*) FROM intake_referrals WHERE case_id = $1",
                               case_id_for(data["acro_reference"])) == 0


@pytest.mark.parametrize("body, words", [
    (b'{"outcome": "in_uk", "details": {"n": NaN}}', "NaN is not a number JSON allows"),
    (b'{"outcome": "in_uk", "details": {"n": -Infinity}}', "-Infinity is not a number JSON allows"),
    (b'{"outcome": "in_uk", "details": {"n": 1e999}}', "out of range"),
    # Issue 25: `details` nested 900 deep was a 500.
    (b'{"outcome": "in_uk", "details": ' + b'{"a": ' * 900 + b"1" + b"}" * 900 + b"}", "nested deeper than"),
    (b'{"outcome": "in_uk", "details": {"n": 1' + b"0" * 5000 + b"}}", "digits"),
])
async def test_numbers_that_are_not_finite_and_deep_nesting_are_a_400(api: ApiStack, body: bytes, words: str,
                                                                       nothing_written: None) -> None:
    answer = await _send(api, "POST", "/tasks/1/completion", body)
    assert answer.status_code == 400, answer.text
    assert words in answer.json()["detail"]


async def test_a_body_over_its_routes_limit_is_413_with_or_without_content_length(
        api: ApiStack, nothing_written: None) -> None:
    for method, path, limit in await _operations(api):
        over = b"[" + b" " * limit + b"]"
        declared = await _send(api, method, path, over)
        assert declared.status_code == 413, (path, declared.text)
        assert declared.headers["content-type"] == "application/problem+json"
        assert f"{limit:,} bytes at most" in declared.json()["detail"]

        async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: chunked, counted as it comes
            yield b"["
            for _ in range(limit // 8192 + 2):
                yield b" " * 8192
            yield b"]"

        streamed = await api.http.request(method, path, content=chunks(),
                                          headers=api.headers("cw.ben") | {"Content-Type": "application/json"})
        assert streamed.status_code == 413, (path, streamed.text)
        assert f"{limit:,} bytes at most" in streamed.json()["detail"]


async def test_no_request_may_carry_more_than_the_ceiling_whatever_its_path(api: ApiStack) -> None:
    answer = await _send(api, "POST", "/no-such-route", b" " * (MAX_BODY_LIMIT + 1))
    assert answer.status_code == 413 and answer.json()["type"].endswith("#body-too-large")


async def _raw(api: ApiStack, head: str) -> bytes:
    """Send only a request's head and read what the API answers, without sending its body."""
    where = urlsplit(api.url)
    reader, writer = await asyncio.open_connection(where.hostname, where.port)
    try:
        writer.write(head.encode())
        await writer.drain()
        return await asyncio.wait_for(reader.read(65536), 30)
    finally:
        writer.close()


async def test_the_token_is_checked_before_the_body_is_read(api: ApiStack) -> None:
    """Issue 25: eight unauthenticated 50 MB posts were read whole. Now a request without a
    token is answered 401 at once, with not one byte of its (announced) body sent."""
    head = ("POST /referrals/batch HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            "Content-Length: 3000000\r\n\r\n")
    answer = await _raw(api, head)
    assert answer.startswith(b"HTTP/1.1 401"), answer[:200]
    assert b"www-authenticate: bearer" in answer.lower()


async def test_every_answer_carries_the_doors_headers(api: ApiStack) -> None:
    for method, path, who in (("GET", "/cases", "cw.ben"), ("GET", "/tasks", "cw.ben"), ("GET", "/live", None),
                              ("GET", "/cases", None), ("GET", "/no-such-thing", None)):
        answer = await api.call(method, path, who)
        assert answer.headers["x-content-type-options"] == "nosniff", path
        assert answer.headers["cache-control"] == "no-store", path


def test_every_route_of_the_app_reads_its_body_at_the_door() -> None:
    """One parsing path: a route added with FastAPI's own class would read JSON laxly."""
    from api.app import create_app
    from api.door import StrictJsonRoute

    from fastapi import params

    routes = _all_api_routes(create_app())
    json_bodies = [r for r in routes if r.body_field is not None and not isinstance(r.body_field.field_info, params.Form)]
    assert len(json_bodies) >= 10
    lax = [route.path for route in json_bodies if not isinstance(route, StrictJsonRoute)]
    assert not lax, f"routes reading JSON laxly: {lax} (give their router route_class=StrictJsonRoute)"


def _all_api_routes(app: Any) -> list[Any]:
    from fastapi.routing import APIRoute

    found: list[Any] = []

    def walk(routes: Any) -> None:
        for route in routes:
            if isinstance(route, APIRoute):
                found.append(route)
            elif hasattr(route, "original_router"):
                walk(route.original_router.routes)

    walk(app.router.routes)
    return found
