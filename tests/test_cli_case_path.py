"""One case from referral to closure, driven only with ``casework`` commands.

The deported path of a person whose whereabouts are unknown: NBTC, ICE, located, case
owner, offending history not available (so R30 refuses detention, and R30/R61 the
decision to pursue until ACRO sends a usable certificate), not detained, pursue (R28),
Stage 1 notice and representations ending the window early (R43), the decision to
deport with an ICE detention request (R45), enforcement and closure (R46). Along the
way, the refusals a caseworker meets come back as one line and status 4.
"""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone

from casework.case import case_id_for
from tests.cli_support import Casework, cw  # noqa: F401 - cw is a fixture
from tests.support import referral_data, until

PURPOSE = "deportation consideration for this case"


async def test_case_from_referral_to_closure_with_casework_commands(cw: Casework, pool, tmp_path):
    """R10, R13/R14, R16->R20, R21, R23, R30, R28, R41-R43, R45, R46, R60 through the command line."""
    data = referral_data()
    path = tmp_path / "referral.json"
    path.write_text(json.dumps(data))
    case_id = case_id_for(data["acro_reference"])

    submitted = await cw.ok("submit", str(path))
    assert "started" in submitted.out

    # Stage B: NBTC says the person is in the UK. A wrong outcome is refused by the case.
    nbtc = await cw.task_id(case_id, "nbtc_check")
    refused = await cw("complete", nbtc, "--outcome", "maybe")
    assert refused.code == 4, str(refused)
    assert "'maybe' is not an outcome of nbtc_check; legal outcomes: in_uk, left_uk" in refused.one_error_line()
    done = await cw.ok("complete", nbtc, "--outcome", "in_uk", "--actor", "nbtc.officer")
    assert f"Task {nbtc} (nbtc_check-1 of {case_id}) completed: in_uk" in done.out
    again = await cw("complete", f"{case_id}:nbtc_check-1", "--outcome", "in_uk")
    assert again.code == 4, str(again)
    assert "already done: in_uk by nbtc.officer" in again.one_error_line()

    # R13/R14 -> R16/R20: ICE is tasked; ICE's system reports the person located.
    await cw.task_ref(case_id, "ice_tasking")
    located = await cw.ok("event", "located", case_id, "--event-id", "ice-loc-1", "--actor", "ice.system")
    assert "person located (event ice-loc-1) applied" in located.out

    # Stage C, by the case owner. The ACRO reference works as well as the case ID.
    allocate = await cw.task_ref(case_id, "allocate_case_owner")
    repeat = await cw.ok("event", "located", data["acro_reference"], "--event-id", "ice-loc-1", "--actor", "ice.system")
    assert "already applied" in repeat.out
    await cw.ok("complete", allocate, "--outcome", "allocated", "--detail", "case_owner=co.smith")
    history = await cw.task_ref(case_id, "offending_history_check")
    await cw.ok("complete", history, "--outcome", "not_available", "--actor", "co.smith")
    police = await cw.task_ref(case_id, "police_contact")
    await cw.ok("complete", police, "--outcome", "no_pending_prosecution", "--actor", "co.smith")

    # Stage D: R30 - the convictions are not available to the deciding officer, so no detention.
    detention = await cw.task_id(case_id, "detention_decision")
    r30 = await cw("complete", detention, "--outcome", "detain", "--actor", "co.smith")
    assert r30.code == 4, str(r30)
    assert r30.one_error_line().startswith("casework: R30/R61: refused")
    await cw.ok("complete", detention, "--outcome", "not_detained", "--detail", "reason=managed in the community",
                "--actor", "co.smith")
    pursuit = await cw.task_ref(case_id, "pursuit_decision")
    factors = ("--detail", "foreign_convictions=robbery (PL, 2010)", "--detail", "uk_convictions=none",
               "--detail", "outstanding_law_enforcement=none known")
    # R30/R61: nor is deportation pursued on them; the case waits for a usable certificate ...
    r61 = await cw("complete", pursuit, "--outcome", "pursue", "--actor", "co.smith", *factors)
    assert r61.code == 4, str(r61)
    assert r61.one_error_line().startswith("casework: R30/R61: refused – 'pursue'")
    # ... not one for criminal proceedings (R61), which the command says it judged so (R02) ...
    police = tmp_path / "police-certificate.json"
    police.write_text(json.dumps(dict(data["certificate"], request_purpose="Request for criminal proceedings")))
    judged = await cw.ok("event", "certificate", case_id, "--event-id", "police-cert-1", "--actor", "acro.system",
                         "--file", str(police))
    assert (f'{case_id}: certificate judged non-disclosable – R02/R61: request purpose "Request for criminal '
            'proceedings"') in judged.out, str(judged)
    # ... but one for immigration purposes, which ACRO sends, and the pursuit decision is taken on it.
    certificate = tmp_path / "certificate.json"
    certificate.write_text(json.dumps(data["certificate"]))
    await cw.ok("event", "certificate", case_id, "--event-id", "acro-cert-2", "--actor", "acro.system",
                "--file", str(certificate))
    await until(lambda: pool.fetchval("SELECT disclosable FROM cases WHERE id = $1", case_id),
                "the certificate to make the convictions available", 30)
    await cw.ok("complete", pursuit, "--outcome", "pursue", "--actor", "co.smith", *factors)

    # Stage E: the notice is served; the case waits on representations (10 days: R43) ...
    await until(lambda: pool.fetchval(
        "SELECT 1 FROM outbound_messages WHERE case_id = $1 AND message_key = 'stage1-notice'", case_id
    ), "the Stage 1 notice to be served", 30)

    async def waiting_on_representations() -> dict | None:
        shown = (await cw.ok("show", case_id, "--purpose", PURPOSE, "--json")).json()
        return shown["waiting"] if str(shown["waiting"]["on"] or "").startswith("representations") else None

    waiting = await until(waiting_on_representations, "the case to wait on representations", 30)
    assert waiting["source"] == "workflow"  # respond_by, from the workflow's query
    window = datetime.fromisoformat(waiting["until"]) - datetime.now(timezone.utc)
    assert timedelta(days=9.9) < window <= timedelta(days=10)  # R43: not detained, 10 days
    # With no task open, the case list shows the end of the window as what is due next.
    listed = (await cw.ok("cases", "--stage", "E", "--json", "--page-size", "500")).json()["cases"]
    row = next(c for c in listed if c["case_id"] == case_id)
    assert datetime.fromisoformat(row["next_due"]) == datetime.fromisoformat(waiting["until"])
    # ... and representations received end the wait early, not the ten days.
    await cw.ok("event", "representations", case_id, "--event-id", "reps-1", "--actor", "co.smith")
    decision = await cw.task_id(case_id, "consideration_decision")
    illegal = await cw("complete", decision, "--outcome", "deport", "--detail", "address_known=maybe",
                       "--detail", "in_country_right_of_appeal=false", "--actor", "co.smith")
    assert illegal.code == 4 and "address_known" in illegal.one_error_line(), str(illegal)
    await cw.ok("complete", decision, "--outcome", "deport", "--detail", "address_known=true",
                "--detail", "in_country_right_of_appeal=false", "--actor", "co.smith")
    enforcement = await cw.task_ref(case_id, "deportation_enforcement")
    await cw.ok("complete", enforcement, "--outcome", "enforced", "--detail", f"departed_on={date.today()}",
                "--actor", "co.smith")

    async def closed() -> str | None:
        listing = await cw.ok("cases", "--stage", "closed", "--json", "--page-size", "500")
        return listing.out if any(c["case_id"] == case_id for c in listing.json()["cases"]) else None

    listing = await until(closed, "the case to close", 30)
    # The listing names no one (no personal data); show does, and records why it was read (R60).
    assert data["name"] not in listing and data["date_of_birth"] not in listing

    shown, as_json, late = await cw.each(
        ("show", case_id, "--purpose", "closing review", "--actor", "scw.brown"),
        ("show", case_id, "--purpose", "closing review", "--json"),
        ("event", "located", case_id, "--event-id", "ice-loc-2", "--actor", "ice.system"),
    )
    assert shown.code == 0 and as_json.code == 0, f"{shown}\n{as_json}"
    assert data["name"] in shown.out and "Robbery" in shown.out
    assert "nothing: closed (Deported – relevant departments informed)" in shown.out
    view = as_json.json()
    assert view["case"]["stage"] == "closed" and view["open_tasks"] == []
    forms = [m["form"] for m in view["messages"]]
    for form in ("ICD.5079", "ICE tasking referral", "ICD5080", "Stage 1 Liability to Deportation Notice",
                 "ICE detention request", "Post-deportation notification"):
        assert form in forms, forms
    actions = [e["action"] for e in view["timeline"]]
    assert actions.count("person located") == 1 and actions.count("representations received") == 1
    reads = await pool.fetch(
        "SELECT actor, detail->>'purpose' AS purpose FROM audit_log WHERE case_id = $1 AND action = 'personal data read'",
        case_id,
    )
    assert ("scw.brown", "closing review") in [(r["actor"], r["purpose"]) for r in reads]
    assert len(reads) >= 3  # the polls above and the two reads after closure, each one recorded

    # A closed case takes no more events.
    assert late.code == 4 and late.one_error_line() == f"casework: case {case_id} is closed", str(late)
