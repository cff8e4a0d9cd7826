"""``GET /me`` (issue 24 item 3): who the API takes the token for, and what the policy
lets them do, from the policy's own tables (access/abilities.py)."""

from __future__ import annotations

from tests.api_support import ApiStack


async def test_me_says_who_and_what_the_policy_allows(api: ApiStack) -> None:
    answer = await api.call("GET", "/me", "cw.ben")
    assert answer.status_code == 200, answer.text
    me = answer.json()
    assert (me["subject"], me["kind"], me["roles"], me["teams"]) == ("cw.ben", "person", ["caseworker"], ["CC EEA Team"])
    assert me["issuer"] == api.issuer.url and me["expires_at"]
    may = me["may"]
    assert "CC EEA Team" in may["sees_cases"]
    assert "send_representations" in may["sends"] and "submit_referral" not in may["sends"]
    assert may["personal_data_purposes"] == ["deportation", "detention"]
    assert "read_audit" not in may["other"]

    auditor = (await api.call("GET", "/me", "audit.jo")).json()
    assert auditor["may"]["other"] == ["read_audit"] and auditor["may"]["sees_cases"] == "all cases"

    system = (await api.call("GET", "/me", "acro")).json()
    assert system["kind"] == "system" and system["may"]["works_tasks"] == []
    assert "submit_referral" in system["may"]["sends"] and system["may"]["personal_data_purposes"] == []


async def test_me_without_a_token_is_401(api: ApiStack) -> None:
    answer = await api.call("GET", "/me", None)
    assert answer.status_code == 401 and answer.headers["content-type"] == "application/problem+json"
