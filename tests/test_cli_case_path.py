"""One case from referral to closure, driven only with ``casework`` commands, every one a
client of the API (issue 15 item 4): the command has the API's URL and a real token of
the identity acting, and nothing of Temporal, the CID or the payload keys.

The deported path of a person whose whereabouts are unknown: CC Workflow submits; NBTC
checks (R10); ICE's system reports the person located (R16 -> R20); the EEA team's
caseworker takes the case as owner; offending history not available, so R30 refuses
detention and R30/R61 the decision to pursue until ACRO's system sends a usable
certificate; not detained, pursue (R28), Stage 1 notice and representations ending the
window early (R43), the decision to deport (R45), enforcement and closure (R46); a
senior caseworker reads the closed file (R60). Each actor recorded is the token's
subject. Then the wrong role's token: refused with status 7 and one line, nothing changed.
"""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone

from casework.case import case_id_for
from tests.cli_support import Casework, cw_api  # noqa: F401 - cw_api is a fixture
from tests.support import referral_data, until

#: The identities of deploy/dev-identities.toml acting on the case.
INTAKE = "wf.ada"  # cc-workflow
NBTC = "nbtc.finn"  # nbtc
ICE = "ice-system"  # ice, client credentials (events:located)
ACRO = "acro"  # acro, client credentials (events:certificate)
OWNER = "cw.ben"  # caseworker, CC EEA Team (a PL national's case is routed there, R06)
SENIOR = "scw.erin"  # senior-caseworker


async def _submitted(cw: Casework, tmp_path, **overrides) -> tuple[dict, str]:  # noqa: ANN001
    data = referral_data(**overrides)
    path = tmp_path / f"referral-{data['acro_reference'].replace('/', '-')}.json"
    path.write_text(json.dumps(data))
    submitted = await cw.ok("submit", str(path), who=INTAKE)
    assert "started" in submitted.out, str(submitted)
    return data, case_id_for(data["acro_reference"])


async def test_case_from_referral_to_closure_through_the_api(cw_api: Casework, pool, tmp_path):
    """R10, R13/R14, R16->R20, R21, R23, R30, R28, R41-R43, R45, R46, R60 through the API."""
    cw = cw_api
    data, case_id = await _submitted(cw, tmp_path)

    # Stage B: NBTC says the person is in the UK. A wrong outcome is refused by the case.
    nbtc = await cw.task_id(case_id, "nbtc_check", who=NBTC)
    refused = await cw("complete", nbtc, "--outcome", "maybe", who=NBTC)
    assert refused.code == 4, str(refused)
    assert "'maybe' is not an outcome of nbtc_check" in refused.one_error_line()
    done = await cw.ok("complete", nbtc, "--outcome", "in_uk", who=NBTC)
    assert f"Task {nbtc} (nbtc_check-1 of {case_id}) completed: in_uk" in done.out
    again = await cw("complete", nbtc, "--outcome", "in_uk", who=NBTC)
    assert again.code == 4 and "already done" in again.one_error_line(), str(again)
    # --actor named anyone: it is no option now (typer's own refusal), and nothing is sent.
    impostor = await cw("complete", nbtc, "--outcome", "in_uk", "--actor", "director.impostor", who=NBTC)
    assert impostor.code == 2 and "No such option '--actor'" in impostor.one_error_line(), str(impostor)

    # R13/R14 -> R16/R20: ICE is tasked; ICE's system reports the person located.
    await cw.task_ref(case_id, "ice_tasking")
    located = await cw.ok("event", "located", case_id, "--event-id", "ice-loc-1", who=ICE)
    assert "person located (event ice-loc-1) applied" in located.out, str(located)

    # Stage C, by the EEA team's caseworker, who takes the case. The ACRO reference works too.
    allocate = await cw.task_ref(case_id, "allocate_case_owner")
    repeat = await cw.ok("event", "located", data["acro_reference"], "--event-id", "ice-loc-1", who=ICE)
    assert "already applied" in repeat.out
    await cw.ok("complete", allocate, "--outcome", "allocated", "--detail", f"case_owner={OWNER}", who=OWNER)
    history = await cw.task_ref(case_id, "offending_history_check")
    await cw.ok("complete", history, "--outcome", "not_available", who=OWNER)
    police = await cw.task_ref(case_id, "police_contact")
    await cw.ok("complete", police, "--outcome", "no_pending_prosecution", who=OWNER)

    # Stage D: R30 - the convictions are not available to the deciding officer, so no detention.
    detention = await cw.task_id(case_id, "detention_decision", who=OWNER)
    r30 = await cw("complete", detention, "--outcome", "detain", who=OWNER)
    assert r30.code == 4, str(r30)
    assert r30.one_error_line().startswith("casework: R30/R61: refused")
    await cw.ok("complete", detention, "--outcome", "not_detained", "--detail", "reason=managed in the community", who=OWNER)
    pursuit = await cw.task_ref(case_id, "pursuit_decision")
    factors = ("--detail", "foreign_convictions=robbery (PL, 2010)", "--detail", "uk_convictions=none",
               "--detail", "outstanding_law_enforcement=none known")
    # R30/R61: nor is deportation pursued on them; the case waits for a usable certificate ...
    r61 = await cw("complete", pursuit, "--outcome", "pursue", *factors, who=OWNER)
    assert r61.code == 4, str(r61)
    assert r61.one_error_line().startswith("casework: R30/R61: refused – 'pursue'")
    # ... not one for criminal proceedings (R61), which the command says was judged so (R02) ...
    police_cert = tmp_path / "police-certificate.json"
    police_cert.write_text(json.dumps(dict(data["certificate"], request_purpose="Request for criminal proceedings")))
    judged = await cw.ok("event", "certificate", case_id, "--event-id", "police-cert-1", "--file", str(police_cert), who=ACRO)
    assert f"{case_id}: certificate judged non-disclosable – R02/R61" in judged.out, str(judged)
    # ... but one for immigration purposes, which ACRO sends, and the pursuit decision is taken on it.
    certificate = tmp_path / "certificate.json"
    certificate.write_text(json.dumps(data["certificate"]))
    await cw.ok("event", "certificate", case_id, "--event-id", "acro-cert-2", "--file", str(certificate), who=ACRO)
    await until(lambda: pool.fetchval("SELECT disclosable FROM cases WHERE id = $1", case_id),
                     "the certificate to make the convictions available", 30)
    await cw.ok("complete", pursuit, "--outcome", "pursue", *factors, who=OWNER)

    # Stage E: the notice is served; the case waits on representations (10 days: R43), which
    # the owner's case list shows as what is due next.
    await until(lambda: pool.fetchval(
        "SELECT 1 FROM outbound_messages WHERE case_id = $1 AND message_key = 'stage1-notice'", case_id
    ), "the Stage 1 notice to be served", 30)

    async def window_end() -> datetime | None:
        listed = (await cw.ok("cases", "--stage", "E", "--owner", OWNER, "--json", who=OWNER)).json()["cases"]
        row = next((c for c in listed if c["case_id"] == case_id), None)
        return datetime.fromisoformat(row["next_due"]) if row and row["next_due"] and not row["open_task_count"] else None

    window_ends = await until(window_end, "the case to wait on representations", 30)
    assert timedelta(days=9.9) < window_ends - datetime.now(timezone.utc) <= timedelta(days=10)  # R43: not detained, 10 days
    # ... and representations received end the wait early, not the ten days.
    await cw.ok("event", "representations", case_id, "--event-id", "reps-1", who=OWNER)
    decision = await cw.task_id(case_id, "consideration_decision", who=OWNER)
    illegal = await cw("complete", decision, "--outcome", "deport", "--detail", "address_known=maybe",
                       "--detail", "in_country_right_of_appeal=false", who=OWNER)
    assert illegal.code == 4 and "address_known" in illegal.one_error_line(), str(illegal)
    await cw.ok("complete", decision, "--outcome", "deport", "--detail", "address_known=true",
                "--detail", "in_country_right_of_appeal=false", who=OWNER)
    enforcement = await cw.task_ref(case_id, "deportation_enforcement")
    await cw.ok("complete", enforcement, "--outcome", "enforced", "--detail", f"departed_on={date.today()}", who=OWNER)

    async def closed() -> str | None:
        listing = await cw.ok("cases", "--stage", "closed", "--owner", OWNER, "--json", who=OWNER)
        return listing.out if any(c["case_id"] == case_id for c in listing.json()["cases"]) else None

    listing = await until(closed, "the case to close", 30)
    # The listing names no one (no personal data); show does, and the API records why (R60).
    assert data["name"] not in listing and data["date_of_birth"] not in listing

    shown = await cw("show", case_id, "--purpose", "deportation", "--reason", "closing review", who=SENIOR)
    as_json = await cw("show", case_id, "--purpose", "deportation", "--reason", "owner's last look", "--json", who=OWNER)
    late = await cw("event", "located", case_id, "--event-id", "ice-loc-2", who=ICE)
    assert shown.code == 0 and as_json.code == 0, f"{shown}\n{as_json}"
    assert data["name"] in shown.out and "Robbery" in shown.out
    assert "Outcome: Deported – relevant departments informed" in shown.out, shown.out
    view = as_json.json()
    assert view["case"]["stage"] == "closed" and view["case"]["open_tasks"] == []
    assert view["personal_data"]["referral"]["name"] == data["name"]
    # A closed case takes no more events.
    assert late.code == 4 and late.one_error_line() == f"casework: case {case_id} is closed", str(late)

    # What the case did, as the CID holds it: each act under the token's subject, never a typed name.
    forms = {r["form"] for r in await pool.fetch("SELECT form FROM outbound_messages WHERE case_id = $1", case_id)}
    for form in ("ICD.5079", "ICE tasking referral", "ICD5080", "Stage 1 Liability to Deportation Notice",
                 "ICE detention request", "Post-deportation notification"):
        assert form in forms, forms
    completed = dict(await pool.fetch("SELECT kind, completed_by FROM tasks WHERE case_id = $1 AND status = 'done'"
                                      " AND completed_by IS NOT NULL", case_id))
    assert completed["nbtc_check"] == NBTC and completed["allocate_case_owner"] == OWNER
    assert completed["deportation_enforcement"] == OWNER and completed["consideration_decision"] == OWNER
    assert "director.impostor" not in json.dumps(
        [dict(r) for r in await pool.fetch("SELECT actor FROM audit_log WHERE case_id = $1", case_id)])
    reads = await pool.fetch(
        "SELECT actor, detail->>'purpose' AS purpose, detail->>'reason' AS reason FROM audit_log"
        " WHERE case_id = $1 AND action = 'personal data read'", case_id)
    assert sorted((r["actor"], r["purpose"], r["reason"]) for r in reads) == [
        (OWNER, "deportation", "owner's last look"), (SENIOR, "deportation", "closing review")]
    assert await pool.fetchval("SELECT case_owner FROM cases WHERE id = $1", case_id) == OWNER


async def test_the_wrong_roles_token_is_refused_and_nothing_changes(cw_api: Casework, pool, tmp_path):
    """Each refused with status 7 and the policy's reason in one line; the task stays open,
    no audit row and no R60 read is written, the case has not moved."""
    cw = cw_api
    refused_submit = await cw("submit", str(_write(tmp_path, referral_data())), who="director.hal")
    assert refused_submit.code == 7, str(refused_submit)
    assert refused_submit.one_error_line().startswith("casework: not allowed: submit_referral: only acro, cc-workflow")

    data, case_id = await _submitted(cw, tmp_path)
    nbtc = await cw.task_id(case_id, "nbtc_check", who=NBTC)
    before_audit = await pool.fetchval("SELECT count(*) FROM audit_log WHERE case_id = $1", case_id)
    before_stage = await pool.fetchval("SELECT stage FROM cases WHERE id = $1", case_id)

    # A caseworker (even of the case's own team) cannot complete NBTC's check, nor a system.
    caseworker = await cw("complete", nbtc, "--outcome", "in_uk", who=OWNER)
    assert caseworker.code == 7, str(caseworker)
    assert caseworker.one_error_line().startswith("casework: not allowed: complete nbtc_check: only nbtc")
    # A system that may not see the task hears what it would of no task at all (issue 25: one 404).
    system = await cw("complete", nbtc, "--outcome", "left_uk", who=ICE)
    assert system.code == 3 and "no task" in system.one_error_line(), str(system)
    # Only NBTC says the person left the UK (R10/R11); a system reads no personal data (R60);
    # the PNC Bureau's purpose is not intake.
    left = await cw("event", "left-uk", case_id, "--event-id", "cw-left-1", who=OWNER)
    assert left.code == 7 and "send_left_uk: only nbtc" in left.one_error_line(), str(left)
    peek = await cw("show", case_id, "--purpose", "intake", "--reason", "curious", who=NBTC)
    assert peek.code == 7 and peek.one_error_line().startswith("casework: not allowed: R60: personal data for intake"), str(peek)
    # A token that is not one the issuer signed: not signed in (6).
    forged = await cw("complete", nbtc, "--outcome", "in_uk", env={"CASEWORK_TOKEN": "not.a.token"})
    assert forged.code == 6 and "not signed in" in forged.one_error_line() and "casework login" in forged.err, str(forged)

    # Nothing changed: the task is open and nobody's, the case where it was, no audit row.
    task = await pool.fetchrow("SELECT status, outcome, completed_by, assignee FROM tasks WHERE id = $1", int(nbtc))
    assert dict(task) == {"status": "open", "outcome": None, "completed_by": None, "assignee": None}
    assert await pool.fetchval("SELECT stage FROM cases WHERE id = $1", case_id) == before_stage
    assert await pool.fetchval("SELECT count(*) FROM audit_log WHERE case_id = $1", case_id) == before_audit
    # ... and the right role's token does it.
    assert "completed: in_uk" in (await cw.ok("complete", nbtc, "--outcome", "in_uk", who=NBTC)).out


def _write(tmp_path, data: dict):  # noqa: ANN001, ANN202
    path = tmp_path / f"referral-{data['acro_reference'].replace('/', '-')}.json"
    path.write_text(json.dumps(data))
    return path
