"""The CID's logins do what their code needs and nothing more (migration 0005;
docs/operations.md, "Database roles").

The worker's grants are proven sufficient by every process test (their workers log in as
``casework_worker``: tests/conftest.py ``worker_pool``); here, what each login may not do,
and that the API's login suffices for what the API will run through ``cid/``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import asyncpg
import pytest

from casework.case import case_id_for
from cid import intake
from cid.db import API_LOGIN, WORKER_LOGIN, login_as
from cid.personal_data import read_personal_data
from cid.intake import fingerprint
from tests.support import referral

DENIED = asyncpg.InsufficientPrivilegeError

#: Every table of the CID and what each login holds on it: table privileges, and
#: "PRIV(columns)" where only some columns are granted. A table added by a migration
#: fails the test below until its grants are decided there and written here.
GRANTS: dict[str, dict[str, set[str]]] = {
    "audit_log": {WORKER_LOGIN: {"INSERT", "SELECT(action,case_id,detail,event_key,id)"}, API_LOGIN: set()},  # append only
    "calendar_events": {WORKER_LOGIN: {"INSERT", "SELECT(case_id,event_type)"}, API_LOGIN: set()},
    "cases": {WORKER_LOGIN: {"INSERT", "SELECT", "UPDATE(case_owner,closed_at,custody,detention_power,disclosable,"
                             "most_serious,outcome,overdue,stage,status,subject_id,team,updated_at)"},
              API_LOGIN: {"SELECT"}},
    # 0021: the case's decisions (issue 20): written as taken, the person's facts cleared by the purge;
    # the API reads them only through the definer functions below, in their trail form.
    "case_decisions": {WORKER_LOGIN: {"INSERT", "SELECT(case_id,id,step)", "UPDATE(personal)"}, API_LOGIN: set()},
    "certificates": {WORKER_LOGIN: {"INSERT", "SELECT", "UPDATE(content,destroyed_at,issued_on,most_serious,request_purpose)"},  # R03 only
                     API_LOGIN: set()},
    "convictions": {WORKER_LOGIN: {"INSERT", "SELECT(case_id,seq)"}, API_LOGIN: set()},
    "feed_acknowledgements": {WORKER_LOGIN: set(), API_LOGIN: {"INSERT", "SELECT"}},  # 0009: the API's feeds
    "job_runs": {WORKER_LOGIN: {"INSERT", "SELECT"}, API_LOGIN: {"SELECT"}},  # 0015: the daily jobs write their runs, operators read them
    # 0018: the web inbox's sessions (issue 21): ended, never rewritten as someone else's.
    "inbox_sessions": {WORKER_LOGIN: set(), API_LOGIN: {"DELETE", "INSERT", "SELECT", "UPDATE(ended_at,last_seen_at)"}},
    "intake_certificates": {WORKER_LOGIN: {"SELECT", "UPDATE(payload,taken_at)"},
                            API_LOGIN: {"INSERT", "SELECT(case_id,event_id,id,payload_sha256,submitted_at,submitted_by,taken_at)"}},
    "intake_referrals": {WORKER_LOGIN: {"SELECT", "UPDATE(payload,taken_at)"},
                         API_LOGIN: {"INSERT", "SELECT(acro_reference,case_id,payload_sha256,submitted_at,submitted_by,taken_at)"}},
    "notes": {WORKER_LOGIN: {"INSERT", "SELECT(case_id,note_key)"}, API_LOGIN: set()},
    "outbound_messages": {WORKER_LOGIN: {"INSERT", "SELECT(case_id,message_key)"}, API_LOGIN: {"SELECT"}},
    "paper_files": {WORKER_LOGIN: {"INSERT", "SELECT(case_id)"}, API_LOGIN: set()},
    "referrals": {WORKER_LOGIN: {"INSERT", "SELECT"}, API_LOGIN: set()},  # personal data: not the API's (yet)
    "schema_migrations": {WORKER_LOGIN: {"SELECT"}, API_LOGIN: {"SELECT"}},
    "security_events": {WORKER_LOGIN: set(), API_LOGIN: {"INSERT", "SELECT"}},  # 0012: refused attempts, append only
    "subject_identifiers": {WORKER_LOGIN: {"INSERT", "SELECT"}, API_LOGIN: set()},
    "subjects": {WORKER_LOGIN: {"INSERT", "SELECT"}, API_LOGIN: set()},
    "tasks": {WORKER_LOGIN: {"INSERT", "SELECT", "UPDATE(completed_at,completed_by,outcome,outcome_details,overdue,status)"},
              # claims: through 0009's casework_change_assignee only; 0011: never the details (free text)
              API_LOGIN: {"SELECT(assignee,case_id,completed_at,completed_by,created_at,due_at,escalates,id,kind,outcome,"
                          "overdue,status,task_key,team,title)"}},
    "team_routes": {WORKER_LOGIN: {"SELECT"}, API_LOGIN: set()},  # R06: configuration, read only
}


async def _login(database_url: str, login: str) -> asyncpg.Connection:
    from cid.db import _init_connection  # jsonb as Python objects, as the pools have it

    conn = await asyncpg.connect(login_as(database_url, login))
    await _init_connection(conn)
    return conn


async def test_every_table_has_exactly_the_grants_decided_for_each_login(pool) -> None:
    tables = {r[0] for r in await pool.fetch("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")}
    assert tables == set(GRANTS), f"tables without decided grants: {sorted(tables - set(GRANTS))} (migration 0005's rule)"
    for login in (WORKER_LOGIN, API_LOGIN):
        held: dict[str, set[str]] = {table: set() for table in GRANTS}
        for r in await pool.fetch("SELECT table_name, privilege_type FROM information_schema.role_table_grants"
                                  " WHERE grantee = $1 AND table_schema = current_schema()", login):
            held[r[0]].add(r[1])
        for r in await pool.fetch(
                "SELECT table_name, privilege_type, string_agg(column_name, ',' ORDER BY column_name)"
                " FROM information_schema.column_privileges c WHERE grantee = $1 AND table_schema = current_schema()"
                " AND NOT EXISTS (SELECT 1 FROM information_schema.role_table_grants t WHERE t.grantee = c.grantee"
                "  AND t.table_name = c.table_name AND t.privilege_type = c.privilege_type) GROUP BY 1, 2", login):
            held[r[0]].add(f"{r[1]}({r[2]})")
        for table, decided in GRANTS.items():
            assert held[table] == decided[login], (login, table, held[table])


async def test_the_workers_of_the_process_tests_log_in_as_casework_worker(worker_pool: asyncpg.Pool) -> None:
    assert await worker_pool.fetchval("SELECT current_user") == WORKER_LOGIN


async def test_the_api_login_submits_to_the_intake_but_never_reads_a_held_payload(database_url: str, pool) -> None:
    ref = referral()
    case_id = case_id_for(ref.acro_reference)
    conn = await _login(database_url, API_LOGIN)
    try:
        assert await intake.submit_referral(conn, case_id, ref, fingerprint(ref), "acro.referrals") == "new"
        assert await intake.submit_referral(conn, case_id, ref, fingerprint(ref), "acro.referrals") == "same"
        other = referral(acro_reference=ref.acro_reference, name="Someone Else")
        assert await intake.submit_referral(conn, case_id, other, fingerprint(other), "acro.referrals") == "conflict"
        certificate = ref.certificate
        first = await intake.submit_certificate(conn, case_id, "acro-1", certificate, fingerprint(certificate), "acro.system")
        assert await intake.submit_certificate(conn, case_id, "acro-1", certificate, fingerprint(certificate), "acro.system") == first
        for sql in ("SELECT payload FROM intake_referrals WHERE case_id = $1",
                    "SELECT payload FROM intake_certificates WHERE case_id = $1"):
            with pytest.raises(DENIED):
                await conn.fetch(sql, case_id)
        for sql in ("UPDATE intake_referrals SET payload = NULL WHERE case_id = $1",  # taking is the worker's
                    "DELETE FROM intake_referrals WHERE case_id = $1",
                    "UPDATE tasks SET assignee = 'someone' WHERE case_id = $1",  # only by 0009's function
                    "UPDATE tasks SET status = 'done' WHERE case_id = $1",
                    "INSERT INTO audit_log (case_id, event_key, actor, action, occurred_at)"
                    " VALUES ($1, 'forged', 'someone', 'personal data read', now())",
                    "UPDATE audit_log SET actor = 'someone' WHERE case_id = $1",
                    "DELETE FROM audit_log WHERE case_id = $1",
                    "DELETE FROM feed_acknowledgements WHERE $1 <> ''",
                    "UPDATE feed_acknowledgements SET acknowledged_by = 'someone' WHERE $1 <> ''",
                    "UPDATE cases SET stage = 'closed' WHERE id = $1",
                    "INSERT INTO outbound_messages (case_id, message_key, recipient, form, sent_at) VALUES ($1, 'k', 'r', 'f', now())",
                    "UPDATE team_routes SET team = 'elsewhere' WHERE $1 <> ''",
                    "SELECT * FROM team_routes WHERE $1 <> ''"):
            with pytest.raises(DENIED):
                await conn.execute(sql, case_id)
    finally:
        await conn.close()
    assert await pool.fetchval("SELECT payload_sha256 FROM intake_referrals WHERE case_id = $1", case_id) == fingerprint(ref)


async def test_the_api_login_reads_the_read_model_but_no_personal_data_R60(start, database_url: str, pool) -> None:
    """The API's login reads no personal data directly at all - and writes nothing in the
    audit log, so it cannot record a read that did not happen either. Its one way to
    personal data is the audited definer function (below)."""
    case = await start()
    await case.task("nbtc_check")  # registered: subject, convictions, certificate, tasks, messages
    audit_before = await case.audit_actions()
    conn = await _login(database_url, API_LOGIN)
    try:
        assert (await conn.fetchrow("SELECT stage, team FROM cases WHERE id = $1", case.id))["team"]
        assert await conn.fetch("SELECT kind, status FROM tasks WHERE case_id = $1", case.id)
        assert await conn.fetch("SELECT recipient, form FROM outbound_messages WHERE case_id = $1", case.id)
        with pytest.raises(DENIED):
            await conn.fetch("SELECT name, date_of_birth FROM referrals WHERE case_id = $1", case.id)
        for sql in ("SELECT name FROM referrals WHERE case_id = $1", "SELECT offence FROM convictions WHERE case_id = $1",
                    "SELECT content FROM certificates WHERE case_id = $1",
                    "SELECT s.name FROM subjects s JOIN cases c ON c.subject_id = s.id WHERE c.id = $1",
                    "SELECT actor FROM audit_log WHERE case_id = $1"):
            with pytest.raises(DENIED):
                await conn.fetch(sql, case.id)
    finally:
        await conn.close()
    assert await case.audit_actions() == audit_before  # the refused read recorded nothing


async def test_the_worker_login_never_submits_routes_or_rewrites_a_case(database_url: str) -> None:
    """No writes to the routing table (R06); a certificate changes only as R03 destroys it;
    a case's identity and retention mark are not the worker's to change."""
    conn = await _login(database_url, WORKER_LOGIN)
    try:
        assert await conn.fetch("SELECT team FROM team_routes")  # reads the routing table
        for sql in ("UPDATE team_routes SET team = 'elsewhere'",
                    "INSERT INTO team_routes (priority, team) VALUES (99, 'x')",
                    "DELETE FROM team_routes",
                    "INSERT INTO intake_referrals (acro_reference, case_id, payload_sha256, submitted_by)"
                    " VALUES ('r', 'c', 'h', 'a')",
                    "UPDATE certificates SET disclosable = true",
                    "UPDATE certificates SET offences_on_pnc = false",
                    "UPDATE cases SET acro_reference = 'x'",
                    "UPDATE cases SET personal_data_purged_at = now()",
                    "UPDATE tasks SET team = 'elsewhere'",
                    "DELETE FROM tasks",
                    "DELETE FROM convictions",
                    "UPDATE outbound_messages SET body = '{}'",
                    "DELETE FROM schema_migrations"):
            with pytest.raises(DENIED):
                await conn.execute(sql)
    finally:
        await conn.close()


def test_the_worker_service_refuses_a_login_that_can_become_the_owner(tmp_path: Path, database_url: str) -> None:
    """Given the owner's (superuser's) login as its own, the worker does not start: exit 5,
    one line naming why and what to use instead - before it polls for any work."""
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env.update(CASEWORK_WORKER_DATABASE_URL=database_url, CASEWORK_DATA_DIR=str(tmp_path),
               TEMPORAL_ADDRESS="127.0.0.1:1", CASEWORK_METRICS_ADDRESS="", CASEWORK_HEALTH_ADDRESS="")
    done = subprocess.run([sys.executable, "-m", "worker.service"], env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 5, done.stderr
    [line] = [x for x in done.stderr.splitlines() if x.startswith("casework-worker:")]
    assert "is a superuser" in line and "casework_worker" in line and "CASEWORK_WORKER_DATABASE_URL" in line
    assert "Traceback" not in done.stderr


#: Every SECURITY DEFINER function of the CID (it runs with the owner's rights) and who may
#: call it: a definer function added by a migration fails the test below until decided here.
DEFINERS: dict[str, set[str]] = {
    "api_read_personal_data": {API_LOGIN},  # R60: reads and records in one call (0008)
    "casework_change_assignee": {API_LOGIN},  # claim, unclaim, assign with its audit row (0009)
    "casework_message_record": {API_LOGIN},  # a message's action and when, no other audit row (0010)
    "api_case_timeline": {API_LOGIN},  # the inbox's case timeline: no free text of the detail (0017)
    "casework_case_decisions": {API_LOGIN},  # one case's decisions, trail form only (0021)
    "casework_decisions_page": {API_LOGIN},  # auditors' page of decisions, trail form only (0021)
}


async def test_the_api_login_reads_back_messages_only_never_other_audit_rows(start, database_url: str, pool) -> None:
    """0010: the API reads a message's record (action, when) and nothing else of the audit
    log: not another key's row, not the actor or the detail."""
    case = await start()
    await case.task("nbtc_check")
    conn = await _login(database_url, API_LOGIN)
    try:
        other = await pool.fetchval("SELECT event_key FROM audit_log WHERE case_id = $1 AND event_key NOT LIKE 'event-%'"
                                    " LIMIT 1", case.id)
        assert other is not None and not await conn.fetch("SELECT * FROM casework_message_record($1, $2)", case.id, other)
        await pool.execute("INSERT INTO audit_log (case_id, event_key, actor, action, detail, occurred_at)"
                           " VALUES ($1, 'event-located:x1', 'ice-system', 'person located', '{\"custody\": \"detained\"}', now())",
                           case.id)
        [row] = await conn.fetch("SELECT * FROM casework_message_record($1, 'event-located:x1')", case.id)
        assert set(row.keys()) == {"action", "occurred_at"} and row["action"] == "person located"
        with pytest.raises(DENIED):
            await conn.fetch("SELECT action FROM audit_log WHERE case_id = $1", case.id)
    finally:
        await conn.close()


async def test_definer_functions_run_on_a_fixed_path_and_only_their_login_may_call_them(pool) -> None:
    rows = await pool.fetch(
        "SELECT p.proname, p.proconfig, p.proacl::text[] AS acl FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace"
        " WHERE n.nspname = current_schema() AND p.prosecdef")
    assert {r["proname"] for r in rows} == set(DEFINERS)
    for r in rows:
        assert any(c.startswith("search_path=") and c.endswith("pg_temp") for c in r["proconfig"] or []), r
        callers = {entry.split("=")[0] for entry in r["acl"] if "X" in entry.split("=")[1].split("/")[0]}
        owner = await pool.fetchval("SELECT current_user")
        assert callers - {owner} == DEFINERS[r["proname"]], (r["proname"], r["acl"])  # not PUBLIC ('' grantee)


async def test_the_api_login_reads_personal_data_only_with_its_R60_record(start, database_url: str, pool) -> None:
    """The definer function returns the data and writes the audit row in one call, under
    the actor the API passes (its token's subject); the worker's login may not call it."""
    case = await start()
    await case.task("nbtc_check")
    conn = await _login(database_url, API_LOGIN)
    try:
        data = await read_personal_data(conn, case.id, "cw.jones", "deportation", "stage E decision")
        assert data["referral"]["name"] == case.referral.name and data["convictions"]
        with pytest.raises(LookupError):
            await read_personal_data(conn, "acro-case-NONE", "cw.jones", "deportation", "x")
        with pytest.raises(asyncpg.InvalidParameterValueError):
            await conn.fetchval("SELECT api_read_personal_data($1, '', 'deportation', 'x')", case.id)
        with pytest.raises(DENIED):  # still no audit log for it to read or rewrite
            await conn.fetch("SELECT * FROM audit_log WHERE case_id = $1", case.id)
    finally:
        await conn.close()
    reads = await pool.fetch("SELECT actor, event_key, detail FROM audit_log WHERE case_id = $1 AND action = 'personal data read'",
                             case.id)
    assert [(r["actor"], r["event_key"], r["detail"]["reason"]) for r in reads] == [("cw.jones", data["audit_event"], "stage E decision")]
    worker = await _login(database_url, WORKER_LOGIN)
    try:
        with pytest.raises(DENIED):
            await worker.fetchval("SELECT api_read_personal_data($1, 'w', 'deportation', 'x')", case.id)
    finally:
        await worker.close()


async def test_the_api_login_changes_a_task_holder_only_as_a_claim_unclaim_or_assignment(start, database_url: str, pool) -> None:
    """Migration 0009: the API's one way to write a task or the audit log is the owner's
    function; it refuses anything but the three changes, and a claim for someone else."""
    case = await start()
    await case.task("nbtc_check")
    task_id = await pool.fetchval("SELECT id FROM tasks WHERE case_id = $1 AND kind = 'nbtc_check'", case.id)
    audit_before = await case.audit_actions()
    conn = await _login(database_url, API_LOGIN)
    try:
        call = "SELECT casework_change_assignee($1, $2, $3, $4, $5)"
        for args in ((None, "nbtc.finn", "nbtc.finn", "personal data read"),  # not one of the three
                     (None, "nbtc.finn", "someone.else", "task claimed"),  # a claim is for the actor
                     ("nbtc.finn", "nbtc.finn", "nbtc.finn", "task unclaimed")):  # an unclaim leaves it unheld
            with pytest.raises(asyncpg.InvalidParameterValueError):
                await conn.fetchval(call, task_id, *args)
        assert await conn.fetchval(call, task_id, "someone", "nbtc.finn", "nbtc.finn", "task assigned") is False  # not held so
        assert await case.audit_actions() == audit_before
        assert await conn.fetchval(call, task_id, None, "nbtc.finn", "nbtc.finn", "task claimed") is True
        assert await conn.fetchval(call, task_id, None, "nbtc.other", "nbtc.other", "task claimed") is False  # one winner
    finally:
        await conn.close()
    assert await pool.fetchval("SELECT assignee FROM tasks WHERE id = $1", task_id) == "nbtc.finn"
    row = await pool.fetchrow("SELECT actor, action, detail FROM audit_log WHERE case_id = $1 ORDER BY id DESC LIMIT 1", case.id)
    assert (row["actor"], row["action"], row["detail"]["assignee"]) == ("nbtc.finn", "task claimed", "nbtc.finn")


async def test_the_api_login_never_reads_a_tasks_outcome_details(start, database_url: str) -> None:
    """Issue 25: the API's login read tasks.outcome_details (free text about convictions,
    charges, whereabouts) with no R60 record. Migration 0011: every column but that one."""
    case = await start()
    await case.complete("nbtc_check", "in_uk", actor="nbtc.finn")
    conn = await _login(database_url, API_LOGIN)
    try:
        assert await conn.fetch("SELECT kind, outcome, completed_by FROM tasks WHERE case_id = $1", case.id)
        for sql in ("SELECT outcome_details FROM tasks WHERE case_id = $1", "SELECT * FROM tasks WHERE case_id = $1",
                    "SELECT to_jsonb(t) FROM tasks t WHERE case_id = $1"):
            with pytest.raises(DENIED):
                await conn.fetch(sql, case.id)
    finally:
        await conn.close()


async def test_the_worker_login_never_rewrites_a_settled_task_nor_audits_as_the_api(start, database_url: str, pool) -> None:
    """Issue 25: the worker's login could rewrite completed_by on a finished task, and insert
    audit rows of any action under any actor (a "personal data read" by an auditor, say).
    Migration 0011: a settled task's record is final (for every login); the worker appends
    only the case's own actions."""
    case = await start()
    await case.complete("nbtc_check", "in_uk", actor="nbtc.finn")
    conn = await _login(database_url, WORKER_LOGIN)
    try:
        for sql in ("UPDATE tasks SET completed_by = 'director.hal' WHERE case_id = $1 AND status = 'done'",
                    "UPDATE tasks SET outcome = 'left_uk' WHERE case_id = $1 AND status = 'done'",
                    "UPDATE tasks SET status = 'open' WHERE case_id = $1 AND status = 'done'",
                    "UPDATE tasks SET outcome_details = '{\"x\": 1}' WHERE case_id = $1 AND status = 'done'"):
            with pytest.raises(DENIED):
                await conn.execute(sql, case.id)
        for action in ("personal data read", "task claimed", "task assigned", "task unclaimed"):
            with pytest.raises(DENIED):
                await conn.execute("INSERT INTO audit_log (case_id, event_key, actor, action, detail, occurred_at)"
                                   " VALUES ($1, $2, 'audit.jo', $3, '{}', now())", case.id, f"forged-{action}", action)
    finally:
        await conn.close()
    assert not await pool.fetchval("SELECT count(*) FROM audit_log WHERE event_key LIKE 'forged-%'")
    done = await pool.fetchrow("SELECT completed_by, outcome FROM tasks WHERE case_id = $1 AND status = 'done'", case.id)
    assert (done["completed_by"], done["outcome"]) == ("nbtc.finn", "in_uk")
