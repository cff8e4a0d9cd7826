"""People's commands reach cases only through the API (issue 15 item 4): with the database
and Temporal pointing at closed ports, in the environment and in the local stack's
stack.json, every one of them still works, because none opens either. Only operator
commands (``up``, ``stuck``, ``subject-check``, ``retention purge``, ``codec-server``) may.

Then the same, read in the source: no module of a people's command uses the direct-access
helpers of starter/context.py or the CID's and Temporal's connection functions.
"""

from __future__ import annotations

import json
import re
import socket
from pathlib import Path

from casework.case import case_id_for
from starter import stack_file
from tests.cli_support import Casework, cw_api  # noqa: F401 - cw_api is a fixture
from tests.support import Case, referral, referral_data, stop

INTAKE = "wf.ada"  # cc-workflow
NBTC = "nbtc.finn"
ICE = "ice-system"
OWNER = "cw.ben"  # CC EEA Team (a PL national's case, R06)
PEER = "cw.eve"  # CC EEA Team too
SENIOR = "scw.erin"


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


async def test_every_people_command_works_with_the_database_and_temporal_unreachable(cw_api: Casework, ts_env, pool,
                                                                                     tmp_path: Path):
    dead_db = f"postgresql://postgres@127.0.0.1:{closed_port()}/cid"
    dead_temporal = f"127.0.0.1:{closed_port()}"
    # The local stack's file names the real API, and a database and Temporal that are not there.
    data_dir = Path(cw_api.env["CASEWORK_DATA_DIR"])
    data_dir.mkdir(parents=True, exist_ok=True)
    stack_file.write_stack_settings(data_dir / stack_file.STACK_FILE, {
        stack_file.API_URL: cw_api.env["CASEWORK_API_URL"], stack_file.DATABASE_URL: dead_db,
        stack_file.TEMPORAL_ADDRESS: dead_temporal, stack_file.TASK_QUEUE: "nowhere"})
    cw = Casework(cw_api.env | {"DATABASE_URL": dead_db, "TEMPORAL_ADDRESS": dead_temporal, "TEMPORAL_TASK_QUEUE": "nowhere"},
                  pool, tmp_path, token_of=cw_api.token_of)
    no_api_variable = {"CASEWORK_API_URL": None}  # found in stack.json

    data = referral_data()
    case_id = case_id_for(data["acro_reference"])
    (tmp_path / "referral.json").write_text(json.dumps(data))
    submitted = await cw.ok("submit", str(tmp_path / "referral.json"), who=INTAKE, env=no_api_variable)
    assert "1 started" in submitted.out, str(submitted)
    case = Case(ts_env.client, pool, ts_env.client.get_workflow_handle(case_id), referral(**data))
    try:
        nbtc = await cw.task_id(case_id, "nbtc_check", who=NBTC)  # `casework tasks --case ... --json`
        claimed = await cw.ok("claim", nbtc, who=NBTC, env=no_api_variable)
        assert f"Task {nbtc} (nbtc_check-1 of {case_id}) claimed; assignee {NBTC}" in claimed.out, str(claimed)
        unclaimed = await cw.ok("unclaim", nbtc, who=NBTC)
        assert "nobody has it claimed" in unclaimed.out, str(unclaimed)
        done = await cw.ok("complete", nbtc, "--outcome", "in_uk", who=NBTC, env=no_api_variable)
        assert "completed: in_uk" in done.out, str(done)

        await cw.task_ref(case_id, "ice_tasking")
        located = await cw.ok("event", "located", case_id, "--event-id", "no-direct-1", who=ICE, env=no_api_variable)
        assert "person located (event no-direct-1) applied" in located.out, str(located)
        batch = tmp_path / "events.csv"
        batch.write_text(f"kind,case_id,event_id\nlocated,{case_id},no-direct-1\n")
        again = await cw.ok("event", "--from-csv", str(batch), who=ICE)
        assert "Every event had been applied before: nothing changed." in again.out, str(again)

        allocate = await cw.task_id(case_id, "allocate_case_owner", who=OWNER)
        assigned = await cw.ok("assign", allocate, "--to", PEER, who=SENIOR, env=no_api_variable)
        assert f"assigned to {PEER}; assignee {PEER}" in assigned.out, str(assigned)
        listed = await cw.ok("tasks", "--mine", who=PEER)
        assert allocate in listed.out, str(listed)
        cases = await cw.ok("cases", "--json", who=OWNER, env=no_api_variable)
        assert case_id in {c["case_id"] for c in cases.json()["cases"]}
        shown = await cw.ok("show", case_id, "--purpose", "deportation", "--reason", "no direct access test", who=SENIOR)
        assert f"Case {case_id}" in shown.out and data["name"] in shown.out, str(shown)
        me = await cw.ok("whoami", who=SENIOR)
        assert me.out.startswith(f"{SENIOR} (senior-caseworker"), str(me)
    finally:
        await stop(case)

    # What the commands did, recorded under the tokens' subjects.
    audit = {(r["actor"], r["action"]) for r in await pool.fetch("SELECT actor, action FROM audit_log WHERE case_id = $1",
                                                                 case_id)}
    assert {(NBTC, "task completed"), (ICE, "person located"), (SENIOR, "personal data read")} <= audit, audit
    assert await pool.fetchval("SELECT submitted_by FROM intake_referrals WHERE case_id = $1", case_id) == INTAKE


#: The modules of people's commands (starter/cli.py COMMANDS), and what they use.
PEOPLES_MODULES = ("audit.py", "cases.py", "events.py", "feeds.py", "submit.py", "tasks_cmd.py", "signin.py", "views.py", "api_client.py",
                   "referral_files.py", "credentials.py", "output.py")
DIRECT = re.compile(r"\bcontext\b|open_pool|open_client|create_pool|asyncpg|cid\.db|casework\.temporal|"
                    r"Client\.connect|read_model|starter\.failures")


def test_no_people_command_module_opens_the_database_or_temporal() -> None:
    starter = Path(__file__).resolve().parent.parent / "starter"
    for name in PEOPLES_MODULES:
        code = [line for line in (starter / name).read_text().splitlines() if not line.lstrip().startswith("#")]
        found = [line.strip() for line in code if DIRECT.search(line)]
        assert not found, (name, found)
