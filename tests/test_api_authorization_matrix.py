"""The authorization matrix, acceptance test of issue 15: every role × every action through
the real API on the real stack (the development issuer's tokens, the API on uvicorn with
its own database login, a worker on the time-skipping server), allowed or refused exactly
as the policy's role table says (access/role_table.py, rendered in docs/access.md).

One identity per role, from deploy/dev-identities.toml. Each cell first checks that the
real principal (from its verified token) and the real resource (read from the CID) get the
same decision as the table's cell - so the setup is the table's situation - and then that
the API does that: refused is 403 and nothing is written (every CID table the API can
reach, the audit log, and the case's own view unchanged); allowed is done, under the
subject.

Cells of the other resources (referrals, events, cases, personal data) run as far as their
routes exist on this branch; a route that answers 404/405 from the router itself (not a
problem of its own) is skipped with "route not on this branch", for the lead to switch on
after merging.
"""

from __future__ import annotations

import asyncio

import uuid
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import pytest

from access import role_table
from access.policy import FEED_SLUGS, FEEDS_BY_CASE, Action, Assignment, Decision, Feed, Role, decide
from access.principal import Principal
from api.resources import cases_of, task_ref
from cid import read_model
from tests.api_support import ApiStack
from tests.support import Case, referral, stop

#: The identity that plays each role (deploy/dev-identities.toml).
IDENTITY: dict[Role, str] = {
    Role.CC_WORKFLOW: "wf.ada", Role.CASEWORKER: "cw.ben", Role.SENIOR_CASEWORKER: "scw.erin",
    Role.NBTC: "nbtc.finn", Role.ICE: "ice.gita", Role.PNC_BUREAU: "pnc-bureau", Role.DIRECTOR: "director.hal",
    Role.ACRO: "acro", Role.REMOVALS_CASEWORK: "removals-casework", Role.OPERATOR: "ops.ivy", Role.AUDITOR: "audit.jo",
}
ROLES = list(Role)
TEAMMATE = "cw.eve"  # the caseworker's teammate in the CC EEA Team (the table's "caseworker-2")

#: Every table the API's login can write, hashed whole: "nothing written" means all equal.
WATCHED = ("audit_log", "tasks", "feed_acknowledgements", "intake_referrals", "intake_certificates", "cases",
           "outbound_messages")


def table_cell(columns: list, heading: str, role: Role) -> bool:
    index = [name for name, _, _ in columns].index(heading)
    return role_table.decisions(columns)[role][index].allowed


async def cid_state(pool: asyncpg.Pool) -> dict[str, str | None]:
    return {t: await pool.fetchval(f"SELECT md5(coalesce(string_agg(x::text, '|' ORDER BY x::text), '')) FROM {t} x")
            for t in WATCHED}


@dataclass
class World:
    """The cases the cells act on, made once for the module."""

    api: ApiStack
    pool: asyncpg.Pool
    client: Any
    queue: str
    #: A case at 'allocate a case owner' (the CC EEA Team's) that had NBTC and ICE tasks:
    #: the table's case and casework task.
    case: Case | None = None
    casework_task: int = 0
    started: list[Case] = field(default_factory=list)

    async def start(self, **overrides: Any) -> Case:
        case = await Case.start(self.client, self.pool, self.queue, referral(**overrides))
        self.started.append(case)
        return case

    async def open_task(self, case: Case, kind: str) -> int:
        await case.task(kind)
        return int(await self.pool.fetchval(
            "SELECT id FROM tasks WHERE case_id = $1 AND kind = $2 AND status = 'open'", case.id, kind))

    async def principal(self, role: Role) -> Principal:
        return await self.api.services.verifier.verify_header_async(self.api.headers(IDENTITY[role])["Authorization"])

    async def task(self, task_id: int) -> Any:
        async with self.pool.acquire() as conn:
            return await read_model.api_task(conn, task_id)

    async def hold(self, task_id: int, assignee: str | None) -> None:
        """Test setup, as the owner: who holds the task before a cell runs."""
        await self.pool.execute("UPDATE tasks SET assignee = $2 WHERE id = $1", task_id, assignee)

    async def fresh(self, kind: str) -> tuple[Case, int]:
        """A new case waiting on a task of ``kind``, in the table's situation."""
        if kind == "await_certificate":  # R03: a certificate for criminal proceedings is not disclosable
            case = await self.start(certificate={
                "request_purpose": "criminal proceedings", "offences_on_pnc": False,
                "convictions": [{"country": "PL", "offence": "Robbery", "category": "robbery",
                                 "conviction_date": "2010-05-06", "sentence": "4 years"}]})
        elif kind == "allocate_case_owner":
            case = await self.start(whereabouts={"status": "confirmed_address"})
        else:
            case = await self.start()
            if kind == "ice_tasking":
                await case.complete("nbtc_check", "in_uk", actor="nbtc.finn")
        return case, await self.open_task(case, kind)


@pytest.fixture(scope="module")
async def world(api: ApiStack, ts_env, pool, queue) -> Any:
    w = World(api, pool, ts_env.client, queue)
    w.case = await w.start()
    await w.case.complete("nbtc_check", "in_uk", actor="nbtc.finn")  # R13/R14: messages to the PNC Bureau and ICE
    await w.case.complete("ice_tasking", "located", actor="ice.gita")
    w.casework_task = await w.open_task(w.case, "allocate_case_owner")
    yield w
    for case in w.started:
        await stop(case)


async def expect(world: World, role: Role, action: Action, resource: Any, table: bool) -> Decision:
    """The real principal and resource get the table's decision (the setup is the table's)."""
    decision = decide(await world.principal(role), action, resource)
    assert decision.allowed == table, (role, action, decision.reason, "the setup is not the table's situation")
    return decision


async def quiet_state(world: World) -> Any:
    """The CID once cases an allowed cell moved have stopped writing (their activities run
    after the API answered), so that a refused cell's comparison sees only its own request."""
    state = await cid_state(world.pool)
    for _ in range(50):
        await asyncio.sleep(0.2)
        again = await cid_state(world.pool)
        if again == state:
            return state
        state = again
    raise AssertionError("the CID did not settle")


async def refused(world: World, role: Role, method: str, path: str, case: Case | None, *, status: int = 403,
                  **kwargs: Any) -> None:
    """403 (404 for a task out of the caller's sight), a problem document, and nothing
    written anywhere the API reaches."""
    before, view = await quiet_state(world), (await case.view() if case else None)
    answer = await world.api.call(method, path, IDENTITY[role], **kwargs)
    assert answer.status_code == status, (role, path, answer.status_code, answer.text)
    assert answer.headers["content-type"] == "application/problem+json" and answer.json()["detail"]
    assert await cid_state(world.pool) == before, (role, path, "a refused request wrote something")
    if case is not None:
        assert await case.view() == view


# ---------------------------------------------------------------------------- tasks


async def out_of_sight(world: World, role: Role, row: Any) -> int:
    """The status of a refusal on a task: 404 when the role may not see it at all (one 404
    for out of sight and for missing, issue 25), 403 when it sees the task but may not act."""
    return 403 if decide(await world.principal(role), Action.SEE_TASK, task_ref(row)) else 404


@pytest.mark.parametrize("role", ROLES, ids=lambda r: r.value)
async def test_see_task(world: World, role: Role) -> None:
    await world.hold(world.casework_task, None)
    row = await world.task(world.casework_task)
    path = f"/tasks/{world.casework_task}"
    if (await expect(world, role, Action.SEE_TASK, task_ref(row), table_cell(role_table.COLUMNS, "see task", role))).allowed:
        answer = await world.api.call("GET", path, IDENTITY[role])
        assert answer.status_code == 200 and answer.json()["task_id"] == world.casework_task
        listed = await world.api.call("GET", "/tasks", IDENTITY[role], params={"case_id": world.case.id})
        assert world.casework_task in [t["task_id"] for t in listed.json()["tasks"]]
    else:  # issue 25: one 404 for a task out of sight and one that does not exist
        await refused(world, role, "GET", path, world.case, status=404)
        assert (await world.api.call("GET", "/tasks/999999999", IDENTITY[role])).json()["detail"] == \
            "no task 999999999 that you may see"
        listed = await world.api.call("GET", "/tasks", IDENTITY[role], params={"case_id": world.case.id})
        assert listed.status_code == 200 and listed.json()["tasks"] == []  # the list shows none of it either


@pytest.mark.parametrize("role", ROLES, ids=lambda r: r.value)
async def test_claim(world: World, role: Role) -> None:
    await world.hold(world.casework_task, None)
    row = await world.task(world.casework_task)
    path = f"/tasks/{world.casework_task}/claim"
    if (await expect(world, role, Action.CLAIM_TASK, task_ref(row), table_cell(role_table.COLUMNS, "claim", role))).allowed:
        answer = await world.api.call("POST", path, IDENTITY[role])
        assert answer.status_code == 200 and (await world.task(world.casework_task))["assignee"] == IDENTITY[role]
        last = await world.pool.fetchrow("SELECT actor, action FROM audit_log WHERE case_id = $1 ORDER BY id DESC LIMIT 1",
                                         world.case.id)
        assert (last["actor"], last["action"]) == (IDENTITY[role], "task claimed")
    else:
        await refused(world, role, "POST", path, world.case, status=await out_of_sight(world, role, row))


@pytest.mark.parametrize("role", ROLES, ids=lambda r: r.value)
async def test_unclaim_anothers(world: World, role: Role) -> None:
    await world.hold(world.casework_task, TEAMMATE)
    row = await world.task(world.casework_task)
    path = f"/tasks/{world.casework_task}/unclaim"
    table = table_cell(role_table.COLUMNS, "unclaim another's", role)
    if (await expect(world, role, Action.UNCLAIM_TASK, task_ref(row), table)).allowed:
        answer = await world.api.call("POST", path, IDENTITY[role])
        assert answer.status_code == 200 and (await world.task(world.casework_task))["assignee"] is None
        last = await world.pool.fetchrow("SELECT actor, action FROM audit_log WHERE case_id = $1 ORDER BY id DESC LIMIT 1",
                                         world.case.id)
        assert (last["actor"], last["action"]) == (IDENTITY[role], "task unclaimed")
    else:
        await refused(world, role, "POST", path, world.case, status=await out_of_sight(world, role, row))


@pytest.mark.parametrize("role", ROLES, ids=lambda r: r.value)
async def test_assign_to_teammate(world: World, role: Role) -> None:
    await world.hold(world.casework_task, None)
    row = await world.task(world.casework_task)
    member = world.api.services.directory.member(TEAMMATE)
    path = f"/tasks/{world.casework_task}/assignment"
    table = table_cell(role_table.COLUMNS, "assign to teammate", role)
    if (await expect(world, role, Action.ASSIGN_TASK, Assignment(task_ref(row), member), table)).allowed:
        answer = await world.api.call("POST", path, IDENTITY[role], json={"assignee": TEAMMATE})
        assert answer.status_code == 200 and (await world.task(world.casework_task))["assignee"] == TEAMMATE
        last = await world.pool.fetchrow("SELECT actor, action FROM audit_log WHERE case_id = $1 ORDER BY id DESC LIMIT 1",
                                         world.case.id)
        assert (last["actor"], last["action"]) == (IDENTITY[role], "task assigned")
    else:
        await refused(world, role, "POST", path, world.case, json={"assignee": TEAMMATE},
                      status=await out_of_sight(world, role, row))


#: A representative set of kinds (a fixed team's, a person-settled one of the routed team,
#: one only an event settles), each with an outcome its team would record.
COMPLETIONS: dict[str, dict[str, Any]] = {
    "nbtc_check": {"outcome": "in_uk"},
    "ice_tasking": {"outcome": "located", "details": {"detained": False}},
    "allocate_case_owner": {"outcome": "allocated", "details": {"case_owner": "cw.ben"}},
    "await_certificate": {"outcome": "disclosable_certificate_received"},
}
_open_for_kind: dict[str, tuple[Case, int]] = {}


@pytest.mark.parametrize("role", ROLES, ids=lambda r: r.value)
@pytest.mark.parametrize("kind", list(COMPLETIONS))
async def test_complete_task_of_kind(world: World, kind: str, role: Role) -> None:
    if kind not in _open_for_kind:
        _open_for_kind[kind] = await world.fresh(kind)
    case, task_id = _open_for_kind[kind]
    row = await world.task(task_id)
    path = f"/tasks/{task_id}/completion"
    if (await expect(world, role, Action.COMPLETE_TASK, task_ref(row), table_cell(role_table.TASK_COLUMNS, kind, role))).allowed:
        answer = await world.api.call("POST", path, IDENTITY[role], json=COMPLETIONS[kind])
        assert answer.status_code == 200, answer.text
        done = await world.task(task_id)
        assert (done["status"], done["completed_by"]) == ("done", IDENTITY[role])
        last = await world.pool.fetchrow("SELECT actor FROM audit_log WHERE case_id = $1 AND action = 'task completed'"
                                         " ORDER BY id DESC LIMIT 1", case.id)
        assert last["actor"] == IDENTITY[role]
        del _open_for_kind[kind]  # the next allowed role needs an open task of its own
    else:
        await refused(world, role, "POST", path, case, json=COMPLETIONS[kind], status=await out_of_sight(world, role, row))


# ---------------------------------------------------------------------------- feeds


@pytest.mark.parametrize("role", ROLES, ids=lambda r: r.value)
@pytest.mark.parametrize("slug", list(FEED_SLUGS))
async def test_read_feed(world: World, slug: str, role: Role) -> None:
    recipient = FEED_SLUGS[slug]
    table = table_cell(role_table.FEED_COLUMNS, recipient, role)
    if (await expect(world, role, Action.READ_FEED, Feed(recipient), table)).allowed:
        answer = await world.api.call("GET", f"/feeds/{slug}", IDENTITY[role], params={"include_acknowledged": "true"})
        assert answer.status_code == 200, answer.text
        assert {m["case_id"] for m in answer.json()["messages"]} <= {
            r[0] for r in await world.pool.fetch("SELECT case_id FROM outbound_messages WHERE recipient = $1", recipient)}
    else:
        await refused(world, role, "GET", f"/feeds/{slug}", None)


@pytest.mark.parametrize("role", ROLES, ids=lambda r: r.value)
@pytest.mark.parametrize("slug", list(FEED_SLUGS))
async def test_acknowledge_feed(world: World, slug: str, role: Role) -> None:
    """Acknowledging follows reading. A feed with a message on the world's case is
    acknowledged for real; for the others an ID of another feed is sent, which its reader
    is told is not theirs (422) and anyone else is refused (403), nothing written either way."""
    recipient = FEED_SLUGS[slug]
    own = await world.pool.fetchval("SELECT min(id) FROM outbound_messages WHERE recipient = $1", recipient)
    some = own or await world.pool.fetchval("SELECT min(id) FROM outbound_messages WHERE recipient <> $1", recipient)
    body = {"message_ids": [some]}
    path = f"/feeds/{slug}/acknowledgements"
    table = table_cell(role_table.FEED_COLUMNS, recipient, role)  # acknowledging follows reading (the policy's test)
    if (await expect(world, role, Action.ACKNOWLEDGE_FEED, Feed(recipient), table)).allowed:
        before = await cid_state(world.pool)
        answer = await world.api.call("POST", path, IDENTITY[role], json=body)
        async with world.pool.acquire() as conn:  # a person's feeds show their visible cases only
            scope = cases_of(await world.principal(role)) if recipient in FEEDS_BY_CASE else read_model.Visible(all_cases=True)
            visible = bool(own and await read_model.feed_entries(conn, [own], scope))
        if visible:
            assert answer.status_code == 200, answer.text
            first = await world.pool.fetchval("SELECT acknowledged_by FROM feed_acknowledgements WHERE message_id = $1", own)
            [ack] = answer.json()["acknowledged"]
            assert ack["acknowledged_by"] == first and (not ack["now"] or first == IDENTITY[role])
        else:
            assert answer.status_code == 422 and await cid_state(world.pool) == before, answer.text
    else:
        await refused(world, role, "POST", path, None, json=body)


# ---------------------------------------------------------------------------- the other resources
# Allowed: the route's success (201 a referral started, 200 otherwise); refused: 403 and
# nothing written.


def _referral_body() -> dict[str, Any]:
    from tests.support import referral_data

    return referral_data()


OTHER_CELLS: list[tuple[str, Action, str, str, Any]] = [
    # heading, action, method, path ({case} is the world's case), body
    ("submit referral", Action.SUBMIT_REFERRAL, "POST", "/referrals", _referral_body),
    ("located", Action.SEND_LOCATED, "POST", "/cases/{case}/events/located", lambda: {"event_id": uuid.uuid4().hex}),
    ("left UK", Action.SEND_LEFT_UK, "POST", "/cases/{case}/events/left-uk", lambda: {"event_id": uuid.uuid4().hex}),
    ("certificate", Action.SEND_CERTIFICATE, "POST", "/cases/{case}/events/certificate",
     lambda: {"event_id": uuid.uuid4().hex, "certificate": _referral_body()["certificate"]}),
    ("representations", Action.SEND_REPRESENTATIONS, "POST", "/cases/{case}/events/representations",
     lambda: {"event_id": uuid.uuid4().hex}),
    ("list cases", Action.LIST_CASES, "GET", "/cases", None),
    ("see case", Action.SEE_CASE, "GET", "/cases/{case}", None),
    # Issue 20: a case's decisions are seen by whoever sees the case; every case's by auditors.
    ("see case", Action.SEE_CASE, "GET", "/cases/{case}/decisions", None),
    ("see case", Action.SEE_CASE, "GET", "/cases/{case}/timeline", None),
    ("read audit", Action.READ_AUDIT, "GET", "/audit/decisions", None),
    *[(f"PD: {p}", Action.READ_PERSONAL_DATA, "POST", "/cases/{case}/personal-data",
       (lambda p=p: {"purpose": p, "reason": "matrix test"}))
      for p in ("intake", "locating", "detention", "deportation", "public_security")],
    ("operate", Action.OPERATE, "GET", "/ops/jobs", None),
]


@pytest.mark.parametrize("role", ROLES, ids=lambda r: r.value)
@pytest.mark.parametrize("heading,action,method,path,body", OTHER_CELLS, ids=[f"{c[0]} {c[3]}" for c in OTHER_CELLS])
async def test_other_resources(world: World, heading: str, action: Action, method: str, path: str, body: Any,
                               role: Role) -> None:
    """Referrals, events, cases and personal data, as the role table says. Some cells differ
    by situation, not by rule: the table's case has open NBTC, ICE and Director tasks; the
    world's case had its NBTC and ICE tasks settled and was never submitted to the Director
    (R50), so their reads of its personal data are refused here (R60: while their task is
    open, issue 25; ``test_nbtc_reads_personal_data_while_its_task_is_open_and_not_after``)."""
    situational = {Role.DIRECTOR, Role.NBTC, Role.ICE}
    allowed = table_cell(role_table.COLUMNS, heading, role) and not (role in situational and heading.startswith("PD:"))
    url = path.format(case=world.case.id)
    if allowed:
        answer = await world.api.call(method, url, IDENTITY[role], **({"json": body()} if body else {}))
        assert answer.status_code in (200, 201), (role, heading, answer.status_code, answer.text)
    else:
        await refused(world, role, method, url, world.case, **({"json": body()} if body else {}))


async def test_nbtc_reads_personal_data_while_its_task_is_open_and_not_after(world: World) -> None:
    """Issue 25 (R60): an NBTC officer read a closed case's personal data because their team
    once had a task on it. Now: while the NBTC check is open, and not once it is done."""
    case, task_id = await world.fresh("nbtc_check")
    path, body = f"/cases/{case.id}/personal-data", {"purpose": "locating", "reason": "NBTC check"}
    assert (await world.api.call("POST", path, "nbtc.finn", json=body)).status_code == 200
    done = await world.api.call("POST", f"/tasks/{task_id}/completion", "nbtc.finn", json={"outcome": "in_uk"})
    assert done.status_code == 200, done.text
    await refused(world, Role.NBTC, "POST", path, case, json=body)
    assert (await world.api.call("GET", f"/cases/{case.id}", "nbtc.finn")).status_code == 200  # the case, still


async def test_a_case_owner_from_another_team_or_outside_the_directory_is_not_allocated_R20(world: World) -> None:
    """Issue 25: a case owner could be allocated from another team (or be no one the
    directory knows), and then read the case's personal data."""
    case, task_id = await world.fresh("allocate_case_owner")
    for owner, words in (("cw.cara", "not a member of the case's team"), ("nbtc.finn", "not a caseworker"),
                         ("nobody.known", "a person in the directory")):
        before = await quiet_state(world)
        answer = await world.api.call("POST", f"/tasks/{task_id}/completion", "cw.ben",
                                      json={"outcome": "allocated", "details": {"case_owner": owner}})
        assert answer.status_code == 422 and answer.json()["rule"] == "R20", answer.text
        assert words in answer.json()["detail"] and answer.json()["errors"][0]["field"] == "body.details.case_owner"
        assert await cid_state(world.pool) == before
    ok = await world.api.call("POST", f"/tasks/{task_id}/completion", "cw.ben",
                              json={"outcome": "allocated", "details": {"case_owner": "cw.eve"}})
    assert ok.status_code == 200, ok.text


def test_every_role_is_played_and_every_feed_has_a_column() -> None:
    assert set(IDENTITY) == set(Role)
    assert {name for name, _, _ in role_table.FEED_COLUMNS} == set(FEED_SLUGS.values())
    assert set(COMPLETIONS) <= {name for name, _, _ in role_table.TASK_COLUMNS}
    covered = {"see task", "claim", "unclaim another's", "assign to teammate", *(c[0] for c in OTHER_CELLS)}
    # "read audit" is GET /audit/decisions here (issue 20); "decode history" is the codec
    # server's, not the API's (tests/test_codec_server_oidc.py).
    assert {name for name, _, _ in role_table.COLUMNS} - covered == {"decode history"}
