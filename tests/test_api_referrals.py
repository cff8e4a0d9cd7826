"""POST /referrals and /referrals/batch through the real API (dev issuer tokens, uvicorn,
a worker on the time-skipping server): the checks of ``casework submit``, the submitter
recorded as the token's subject, and every answer as the CID and Temporal say."""

from __future__ import annotations

import asyncpg
from temporalio.client import WorkflowExecutionStatus
from temporalio.service import RPCError

from casework.case import case_id_for
from tests.api_support import ApiStack
from tests.support import referral_data, unique_ref


async def _held(pool: asyncpg.Pool, case_id: str) -> asyncpg.Record | None:
    return await pool.fetchrow("SELECT submitted_by, payload_sha256 FROM intake_referrals WHERE case_id = $1", case_id)


async def _started(api: ApiStack, case_id: str) -> bool:
    try:
        description = await api.services.cases.describe(case_id)
    except RPCError:
        return False
    return description.status is not None and description.status in (WorkflowExecutionStatus.RUNNING,
                                                                      WorkflowExecutionStatus.COMPLETED)


async def test_a_referral_starts_its_case_as_the_tokens_subject_R01(api: ApiStack, pool: asyncpg.Pool) -> None:
    data = referral_data()
    answer = await api.call("POST", "/referrals", "acro", json=data)
    assert answer.status_code == 201, answer.text
    case_id = case_id_for(data["acro_reference"])
    assert answer.json() == {"case_id": case_id, "status": "started", "non_disclosable": None}
    assert answer.headers["location"] == f"/cases/{case_id}"
    assert (await _held(pool, case_id))["submitted_by"] == "acro"  # the subject, not a name in the body
    assert await _started(api, case_id)

    again = await api.call("POST", "/referrals", "acro", json=data)  # an identical repeat
    assert again.status_code == 200 and again.json()["status"] == "already exists"

    other = await api.call("POST", "/referrals", "wf.ada", json=referral_data(acro_reference=data["acro_reference"],
                                                                          name="Someone Else"))
    assert other.status_code == 409 and other.headers["content-type"] == "application/problem+json"
    assert other.json()["rule"] == "R01" and data["acro_reference"] in other.json()["detail"]
    assert (await _held(pool, case_id))["submitted_by"] == "acro"  # the first referral stands


async def test_a_non_disclosable_certificate_is_said_at_once_R02_R03(api: ApiStack) -> None:
    data = referral_data()
    data["certificate"]["request_purpose"] = "Request for criminal proceedings"
    answer = await api.call("POST", "/referrals", "acro", json=data)
    assert answer.status_code == 201
    assert "R02/R61" in answer.json()["non_disclosable"] and "R03" in answer.json()["non_disclosable"]


async def test_bad_referrals_are_refused_by_field_in_our_words_and_nothing_is_held(api: ApiStack, pool: asyncpg.Pool) -> None:
    cases = [
        (referral_data(nationalities=["GB"]), "body.nationalities", "not a foreign national"),
        (referral_data(date_of_birth="2999-01-01"), "body.date_of_birth", "is in the future"),  # at the door only
        (referral_data(nationalities=["XX"]), "body.nationalities", "not an ISO 3166-1 country code"),
        (referral_data(colour="blue"), "body.colour", "not a field here"),
        (referral_data(name=""), "body.name", "is empty"),
    ]
    for data, field, words in cases:
        answer = await api.call("POST", "/referrals", "acro", json=data)
        assert answer.status_code == 422, answer.text
        problem = answer.json()
        assert answer.headers["content-type"] == "application/problem+json"
        assert any(e["field"] == field and words in e["message"] for e in problem["errors"]), problem
        assert "Traceback" not in answer.text and "pydantic" not in answer.text
        assert await _held(pool, case_id_for(data["acro_reference"])) is None


async def test_only_those_who_submit_referrals_may_and_nothing_is_written(api: ApiStack, pool: asyncpg.Pool) -> None:
    for who in ("cw.ben", "pnc-bureau", "ice.gita", "audit.jo"):
        data = referral_data()
        answer = await api.call("POST", "/referrals", who, json=data)
        assert answer.status_code == 403, (who, answer.text)
        assert "submit_referral" in answer.json()["detail"]
        case_id = case_id_for(data["acro_reference"])
        assert await _held(pool, case_id) is None and not await _started(api, case_id)
    # ACRO's system with a credential lacking the scope is refused too.
    answer = await api.call("POST", "/referrals", "acro", scope="cases:read", json=referral_data())
    assert answer.status_code == 403 and "referrals:submit" in answer.json()["detail"]


async def test_a_batch_is_answered_per_referral(api: ApiStack, pool: asyncpg.Pool) -> None:
    first, repeat_ref = referral_data(), unique_ref()
    await api.call("POST", "/referrals", "acro", json=referral_data(acro_reference=repeat_ref))
    batch = [first, referral_data(nationalities=["GB"]), referral_data(acro_reference=repeat_ref),
             referral_data(acro_reference=first["acro_reference"]), referral_data(acro_reference=repeat_ref, name="Other Person")]
    answer = await api.call("POST", "/referrals/batch", "acro", json=batch)
    assert answer.status_code == 200, answer.text
    results = answer.json()["results"]
    assert [(r["index"], r["status"], r["result"]) for r in results] == [
        (0, 201, "started"), (1, 422, "refused"), (2, 200, "already exists"), (3, 422, "refused"), (4, 422, "refused")]
    assert results[1]["problem"]["errors"][0]["field"] == "body.1.nationalities"
    assert "more than once" in results[3]["problem"]["detail"] and "more than once" in results[4]["problem"]["detail"]
    assert (answer.json()["started"], answer.json()["already_existed"], answer.json()["refused"]) == (1, 1, 3)
    assert (await _held(pool, case_id_for(first["acro_reference"])))["submitted_by"] == "acro"
    assert await _held(pool, case_id_for(batch[1]["acro_reference"])) is None

    conflict = await api.call("POST", "/referrals/batch", "acro", json=[referral_data(acro_reference=repeat_ref, name="Other Person")])
    [only] = conflict.json()["results"]
    assert only["status"] == 409 and only["problem"]["rule"] == "R01"


async def test_a_batch_beyond_the_limit_is_refused_whole(api: ApiStack, pool: asyncpg.Pool) -> None:
    batch = [referral_data() for _ in range(101)]
    answer = await api.call("POST", "/referrals/batch", "acro", json=batch)
    assert answer.status_code == 413 and "at most 100" in answer.json()["detail"]
    assert await pool.fetchval("SELECT count(*) FROM intake_referrals WHERE acro_reference = ANY($1::text[])",
                               [d["acro_reference"] for d in batch]) == 0
    for body in ([], {"referrals": []}):
        assert (await api.call("POST", "/referrals/batch", "acro", json=body)).status_code == 422
