"""/feeds through the real API: each recipient reads its outbound messages oldest first
and acknowledges them; who acknowledged and when is recorded, once."""

from __future__ import annotations

import asyncpg

from access.policy import FEED_SLUGS
from tests.api_support import ApiStack
from tests.support import Case, to_consideration

PROBLEM = "application/problem+json"


async def message_id(case: Case, recipient: str, form: str) -> int:
    from tests.support import eventually

    await eventually(case, "SELECT EXISTS (SELECT 1 FROM outbound_messages WHERE case_id = $1 AND recipient = $2 AND form = $3)",
                     recipient, form)
    return int(await case.pool.fetchval(
        "SELECT id FROM outbound_messages WHERE case_id = $1 AND recipient = $2 AND form = $3", case.id, recipient, form))


async def last_message(pool: asyncpg.Pool) -> int:
    """Feeds are shared by every test on this CID: each test reads from what it made on."""
    return int(await pool.fetchval("SELECT coalesce(max(id), 0) FROM outbound_messages"))


async def acknowledgements(pool: asyncpg.Pool) -> list[tuple[int, str]]:
    return [(r[0], r[1]) for r in await pool.fetch(
        "SELECT message_id, acknowledged_by FROM feed_acknowledgements ORDER BY message_id")]


async def test_a_system_reads_its_feed_and_acknowledges_once(api: ApiStack, start, pool) -> None:
    since = await last_message(pool)
    case = await start()
    await case.complete("nbtc_check", "in_uk")  # R13/R14: ICD.5079 to the PNC Bureau, a tasking to ICE
    icd = await message_id(case, "PNC Bureau", "ICD.5079")
    tasking = await message_id(case, "ICE", "ICE tasking referral")

    page = await api.call("GET", "/feeds/pnc-bureau", "pnc-bureau", params={"limit": 200, "after": since})
    assert page.status_code == 200, page.text
    mine = [m for m in page.json()["messages"] if m["case_id"] == case.id]
    forms = {m["form"]: m for m in mine}
    assert list(forms) == ["PNC check request", "ICD.5079"]  # R04's check at intake, then R13's marker
    assert (forms["ICD.5079"]["message_id"], forms["ICD.5079"]["body"]) == (icd, {"marker": "wanted/missing", "action": "add"})
    assert forms["ICD.5079"]["acro_reference"] == case.referral.acro_reference and forms["ICD.5079"]["acknowledged_by"] is None
    ids = [m["message_id"] for m in page.json()["messages"]]
    assert ids == sorted(ids) and tasking not in ids  # oldest first; only this recipient's

    # Another recipient's message: refused, and nothing written, not even the good one.
    before = await acknowledgements(pool)
    foreign = await api.call("POST", "/feeds/pnc-bureau/acknowledgements", "pnc-bureau", json={"message_ids": [icd, tasking]})
    assert foreign.status_code == 422 and foreign.headers["content-type"] == PROBLEM and str(tasking) in foreign.json()["detail"]
    assert await acknowledgements(pool) == before
    # Not its reader: refused by the policy.
    other = await api.call("POST", "/feeds/pnc-bureau/acknowledgements", "ice-system", json={"message_ids": [icd]})
    assert other.status_code == 403 and await acknowledgements(pool) == before

    first = await api.call("POST", "/feeds/pnc-bureau/acknowledgements", "pnc-bureau", json={"message_ids": [icd]})
    assert first.status_code == 200, first.text
    [ack] = first.json()["acknowledged"]
    assert (ack["message_id"], ack["acknowledged_by"], ack["now"]) == (icd, "pnc-bureau", True)
    again = await api.call("POST", "/feeds/pnc-bureau/acknowledgements", "pnc-bureau", json={"message_ids": [icd, icd]})
    assert again.status_code == 200
    assert again.json()["acknowledged"] == [ack | {"now": False}]  # the first acknowledgement stands
    row = await pool.fetchrow("SELECT acknowledged_by, acknowledged_at FROM feed_acknowledgements WHERE message_id = $1", icd)
    assert row["acknowledged_by"] == "pnc-bureau"

    unacked = await api.call("GET", "/feeds/pnc-bureau", "pnc-bureau", params={"limit": 200, "after": since})
    assert icd not in [m["message_id"] for m in unacked.json()["messages"]]
    everything = await api.call("GET", "/feeds/pnc-bureau", "pnc-bureau", params={"limit": 200, "after": since, "include_acknowledged": "true"})
    [shown] = [m for m in everything.json()["messages"] if m["message_id"] == icd]
    assert shown["acknowledged_by"] == "pnc-bureau" and shown["acknowledged_at"]

    ice = await api.call("GET", "/feeds/ice", "ice-system", params={"limit": 200, "after": since})
    assert tasking in [m["message_id"] for m in ice.json()["messages"]]


async def test_feeds_page_after_a_message_id(api: ApiStack, start, pool) -> None:
    since = await last_message(pool)
    for _ in range(3):
        case = await start()
        await case.complete("nbtc_check", "in_uk")
        await message_id(case, "ICE", "ICE tasking referral")
    seen: list[int] = []
    after = since
    while True:
        page = (await api.call("GET", "/feeds/ice", "ice.gita", params={"after": after, "limit": 2})).json()
        seen += [m["message_id"] for m in page["messages"]]
        assert page["next_after"] == (seen[-1] if seen else since)
        after = page["next_after"]
        if not page["more"]:
            break
    everything = (await api.call("GET", "/feeds/ice", "ice.gita", params={"limit": 200, "after": since})).json()["messages"]
    assert seen == [m["message_id"] for m in everything] and len(seen) >= 3
    assert (await api.call("GET", "/feeds/ice", "ice.gita", params={"after": seen[-1]})).json()["messages"] == []


async def test_unknown_feed_and_readers_of_other_feeds(api: ApiStack) -> None:
    unknown = await api.call("GET", "/feeds/police", "pnc-bureau")
    assert unknown.status_code == 404 and "pnc-bureau" in unknown.json()["detail"]
    assert (await api.call("GET", "/feeds/PNC Bureau", "pnc-bureau")).status_code == 404  # slugs only
    for slug in FEED_SLUGS:
        assert (await api.call("GET", f"/feeds/{slug}", "ops.ivy")).status_code == 403
    assert (await api.call("GET", "/feeds/pnc-bureau", None)).status_code == 401
    empty = await api.call("POST", "/feeds/pnc-bureau/acknowledgements", "pnc-bureau", json={"message_ids": []})
    assert empty.status_code == 422 and empty.json()["errors"][0]["field"] == "body.message_ids"


async def test_the_case_owners_feeds_show_only_cases_the_reader_may_see(api: ApiStack, start, pool) -> None:
    since = await last_message(pool)
    case = await start(whereabouts={"status": "confirmed_address"})  # the CC EEA Team's
    await to_consideration(case, owner="co.smith")
    notice = await message_id(case, "subject", "Stage 1 Liability to Deportation Notice")

    async def ids(who: str) -> list[int]:
        answer = await api.call("GET", "/feeds/subject", who, params={"limit": 200, "after": since})
        assert answer.status_code == 200, answer.text
        return [m["message_id"] for m in answer.json()["messages"]]

    assert notice in await ids("cw.ben") and notice in await ids("scw.erin")
    assert notice not in await ids("cw.cara")  # another team's case
    before = await acknowledgements(pool)
    refused = await api.call("POST", "/feeds/subject/acknowledgements", "cw.cara", json={"message_ids": [notice]})
    assert refused.status_code == 422 and await acknowledgements(pool) == before
    done = await api.call("POST", "/feeds/subject/acknowledgements", "cw.ben", json={"message_ids": [notice]})
    assert done.status_code == 200 and done.json()["acknowledged"][0]["acknowledged_by"] == "cw.ben"
    body = (await api.call("GET", "/feeds/subject", "cw.ben", params={"include_acknowledged": "true", "limit": 200, "after": since})).json()
    [entry] = [m for m in body["messages"] if m["message_id"] == notice]
    assert set(entry["body"]) == {"served_at", "respond_by", "window_days"}  # dates, no personal data
