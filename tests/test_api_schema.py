"""Acceptance (issue 15): property-based testing of the API against its own OpenAPI
document (schemathesis), on the real stack: uvicorn, the development issuer's tokens, the
CID and a worker. No request may get a 5xx, and every response must conform to what the
document says of it (status, content type, headers, schema).

Bounded: a few examples per operation, so that the whole runs in well under a minute. The
requests go over real HTTP from a thread while the test's event loop serves them.
"""

from __future__ import annotations

import asyncio
import time

import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import checks

from casework.case import case_id_for
from tests.api_support import ApiStack
from tests.support import referral_data

#: Examples per operation (each may start a case: referrals are submitted for real).
EXAMPLES = 12
#: Who calls each operation: someone the policy lets through, so the routes are exercised past 403.
CALLERS = {"/referrals": "acro", "/referrals/batch": "acro", "/cases/{case_id}/events/certificate": "acro",
           "/cases/{case_id}/events/located": "ice-system", "/cases/{case_id}/events/left-uk": "nbtc-system",
           "/cases/{case_id}/events/representations": "scw.erin",
           "/cases/{case_id}/events/{kind}/{event_id}": "ice-system",
           # Issue 20: the auditors' reads, past 403 (the timeline is read by scw.erin, who sees the case).
           "/audit/decisions": "audit.jo", "/audit/security-events": "audit.jo"}
DEFAULT_CALLER = "scw.erin"
CHECKS = [checks.not_a_server_error, checks.status_code_conformance, checks.content_type_conformance,
          checks.response_headers_conformance, checks.response_schema_conformance]


def _examples(path: str, case_id: str) -> list[dict]:
    """Valid bodies besides the generated ones (random referrals are almost never valid)."""
    if path == "/referrals":
        return [{"body": referral_data()}]
    if path == "/referrals/batch":
        return [{"body": [referral_data(), referral_data(nationalities=["GB"])]}]
    if path == "/cases/{case_id}/events/located":
        return [{"path_parameters": {"case_id": case_id}, "body": {"event_id": "schema-1"}}]
    if path == "/cases/{case_id}/events/certificate":
        return [{"path_parameters": {"case_id": case_id},
                 "body": {"event_id": "schema-2", "certificate": referral_data()["certificate"]}}]
    if path == "/cases/{case_id}/events/{kind}/{event_id}":  # the located example's message, read back
        return [{"path_parameters": {"case_id": case_id, "kind": "located", "event_id": "schema-1"}}]
    if path == "/cases/{case_id}/personal-data":
        return [{"path_parameters": {"case_id": case_id}, "body": {"purpose": "deportation", "reason": "schema test"}}]
    if "{case_id}" in path:
        return [{"path_parameters": {"case_id": case_id}}]
    return []


def _run(api: ApiStack, tokens: dict[str, str], seen: dict[str, set[int]], case_id: str) -> list[str]:
    schema = schemathesis.openapi.from_url(f"{api.url}/openapi.json")
    session = requests.Session()
    failures: list[str] = []
    for result in schema.get_all_operations():
        operation = result.ok()
        who = CALLERS.get(operation.path, DEFAULT_CALLER)
        headers = {"Authorization": f"Bearer {tokens[who]}"}

        explicit = [operation.Case(media_type="application/json" if "body" in e else None, **e)
                    for e in _examples(operation.path, case_id)]

        @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
                  suppress_health_check=list(HealthCheck))
        @given(generated=operation.as_strategy(), real=st.booleans(), pick=st.sampled_from(explicit or [None]))
        def exercise(generated: schemathesis.Case, real: bool, pick: schemathesis.Case | None) -> None:
            case = pick if real and pick is not None else generated
            if not real and "case_id" in (generated.path_parameters or {}) and pick is None:
                generated.path_parameters["case_id"] = case_id  # a real case, with generated parameters
            response = case.call(base_url=api.url, session=session, headers=headers, timeout=30)
            seen.setdefault(f"{operation.method.upper()} {operation.path}", set()).add(response.status_code)
            case.validate_response(response, checks=CHECKS)

        try:
            exercise()
        except Exception as err:  # noqa: BLE001 - collected, reported together below
            failures.append(f"{operation.method.upper()} {operation.path}: {err}")
    return failures


async def test_every_operation_answers_as_its_document_says(api: ApiStack) -> None:
    tokens = {who: api.tokens.of(who) for who in {*CALLERS.values(), DEFAULT_CALLER}}
    started = time.monotonic()
    data = referral_data()
    assert (await api.call("POST", "/referrals", "acro", json=data)).status_code == 201
    seen: dict[str, set[int]] = {}
    failures = await asyncio.to_thread(_run, api, tokens, seen, case_id_for(data["acro_reference"]))
    assert not failures, "\n\n".join(failures)
    document = (await api.http.get("/openapi.json")).json()
    assert len(seen) == sum(len(ops) for ops in document["paths"].values())  # every operation was called
    statuses = set().union(*seen.values())
    assert any(200 <= s < 300 for s in statuses) and 422 in statuses, seen  # past the door, and refused at it
    assert time.monotonic() - started < 90


async def test_the_document_declares_problems_and_bearer_auth_on_every_route(api: ApiStack) -> None:
    document = (await api.http.get("/openapi.json")).json()
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            if path == "/live":
                continue
            answers = operation["responses"]
            assert "401" in answers and "application/problem+json" in answers["401"]["content"], (method, path)
            for status, answer in answers.items():
                if status.startswith(("4", "5")):  # problems are served as problem+json, with their schema
                    assert list(answer["content"]) == ["application/problem+json"], (method, path, status)
                    assert answer["content"]["application/problem+json"]["schema"], (method, path, status)
            assert operation.get("security"), (method, path)

