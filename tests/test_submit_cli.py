"""``casework submit`` as people run it: the real command in a subprocess, a client of the
API (``POST /referrals/batch``) with a real token of CC Workflow's caseworker; the API and
a worker on the time-skipping server, the CID.

R01: a malformed referral is refused with a clear message naming the field, and nothing
is started (nor sent: the file is refused before the API is asked). A good one starts one
case, submitted by the token's subject; the same one again says it already exists.
"""

from __future__ import annotations

import asyncio
import json
import sys
import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from temporalio.service import RPCError, RPCStatusCode

from casework.case import case_id_for
from casework.referral import DISCLOSABLE_PURPOSE
from tests.cli_support import api_cli_environment
from tests.support import Case, referral, referral_data, stop

CASEWORK = str(Path(sys.executable).parent / "casework")
SUBMITTER = "wf.ada"  # cc-workflow (deploy/dev-identities.toml): who the API records as submitting


@dataclass
class Run:
    code: int
    out: str
    err: str


@pytest.fixture
async def cli_env(api, tmp_path) -> dict[str, str]:  # noqa: ANN001
    """A person's terminal: the API's URL and a token of ``SUBMITTER``; nothing of Temporal,
    the CID or the payload keys. No local stack settings: the environment decides."""
    env = api_cli_environment(api.url, tmp_path / "no-stack", tmp_path / "config")
    return env | {
        "HOME": str(tmp_path),
        "COLUMNS": "200",  # the result table is not wrapped
        "CASEWORK_TOKEN": await asyncio.to_thread(api.tokens.of, SUBMITTER),
    }


async def casework(env: dict[str, str], *args: str) -> Run:
    # Not subprocess.run: the worker in this event loop must keep running meanwhile.
    process = await asyncio.create_subprocess_exec(
        CASEWORK, *args, env=env, cwd=env["HOME"],
        stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode is not None
    return Run(process.returncode, out.decode(), err.decode())


def write(folder: Path, name: str, content: Any) -> Path:
    path = folder / name
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    return path


async def nothing_started(ts_env, pool, acro_reference: str) -> None:
    case_id = case_id_for(acro_reference.upper())
    assert await pool.fetchval("SELECT count(*) FROM intake_referrals WHERE case_id = $1", case_id) == 0
    with pytest.raises(RPCError) as no_workflow:
        await ts_env.client.get_workflow_handle(case_id).describe()
    assert no_workflow.value.status is RPCStatusCode.NOT_FOUND


def bad_referrals() -> dict[str, tuple[Any, list[str]]]:
    """file name -> (content, the fields its problem lines must name, in order)."""
    tomorrow = (date.today() + timedelta(days=1)).isoformat()
    no_reference = referral_data()
    del no_reference["acro_reference"]
    no_convictions = referral_data()
    no_convictions["certificate"] = dict(no_convictions["certificate"], convictions=[])
    return {
        "no-reference.json": (no_reference, ["acro_reference"]),
        "future-dob.json": (referral_data(date_of_birth=tomorrow), ["date_of_birth"]),
        "british.json": (referral_data(nationalities=["FR", "GB"]), ["nationalities"]),
        "unknown-country.json": (referral_data(nationalities=["XX"]), ["nationalities"]),
        "bystander.json": (referral_data(reason_for_request="bystander"), ["reason_for_request"]),
        "no-convictions.json": (no_convictions, ["certificate.convictions"]),
        "malformed.json": ('{"acro_reference": "16/1A", "name": ', ["not JSON"]),
        # Issue 25 item 1: a key given twice is refused (json keeps the last; a sender's parser may keep the first).
        "purpose-twice.json": ('{"acro_reference": "16/1A", "acro_reference": "16/2B"}', ["not JSON (the key 'acro_reference' is given twice"]),
        "extra-field.json": (referral_data(favourite_colour="blue"), ["favourite_colour"]),
        # Issue 12, defect 5: what cannot be true (the conviction in referral_data is of 2010-05-06).
        "convicted-before-birth.json": (referral_data(date_of_birth="2011-01-01"), ["certificate"]),
        "in-prison-no-release.json": (referral_data(whereabouts={"status": "in_prison"}), ["whereabouts"]),
    }


async def test_R01_bad_files_refused_field_by_field_nothing_started(ts_env, pool, cli_env, tmp_path):
    files = bad_referrals()
    paths = {name: write(tmp_path, name, content) for name, (content, _) in files.items()}
    runs = await asyncio.gather(*(casework(cli_env, "submit", str(path)) for path in paths.values()))
    for (name, (content, fields)), run in zip(files.items(), runs):
        assert run.code == 2, (name, run)
        assert "Traceback" not in run.err and "Traceback" not in run.out, (name, run.err)
        lines = run.err.strip().splitlines()
        # One line per bad field, naming the file and the field; then one summary line.
        assert len(lines) == len(fields) + 1, (name, lines)
        for line, field in zip(lines, fields):
            assert line.startswith(f"{paths[name]}: {field}"), (name, line)
        assert lines[-1] == f"casework: {len(fields)} problem(s) found; nothing was submitted", (name, lines)
        assert run.out == "", (name, run.out)
        if isinstance(content, dict) and "acro_reference" in content:
            await nothing_started(ts_env, pool, content["acro_reference"])


async def test_R01_messages_say_what_is_wrong(cli_env, tmp_path):
    tomorrow = (date.today() + timedelta(days=1)).isoformat()
    path = write(tmp_path, "r.json", referral_data(date_of_birth=tomorrow, nationalities=["GB"]))
    run = await casework(cli_env, "submit", str(path))
    assert run.code == 2
    assert run.err.splitlines() == [
        f"{path}: date_of_birth: {tomorrow} is in the future",
        f"{path}: nationalities: a British national is not a foreign national: this process does not apply",
        "casework: 2 problem(s) found; nothing was submitted",
    ]


async def test_R01_good_file_starts_once_then_already_exists(ts_env, pool, cli_env, tmp_path):
    data = referral_data(name=f"Cli Person {uuid.uuid4().hex[:6]}")
    path = write(tmp_path, "good.json", data)
    case_id = case_id_for(data["acro_reference"])
    first = await casework(cli_env, "submit", str(path))
    assert first.code == 0, first
    assert case_id in first.out and "started" in first.out and "1 started, 0 already exists" in first.out
    # The case runs, submitted by the token's subject (no name the command was given).
    case = Case(ts_env.client, pool, ts_env.client.get_workflow_handle(case_id), referral(**data))
    try:
        await case.task("nbtc_check")
        assert await pool.fetchval("SELECT submitted_by FROM intake_referrals WHERE case_id = $1", case_id) == SUBMITTER
        received = await case.row("SELECT actor FROM audit_log WHERE case_id = $1 AND event_key = 'referral-received'")
        assert received is not None and received["actor"] == SUBMITTER

        again = await casework(cli_env, "submit", str(path))
        assert again.code == 0, again
        assert "already exists" in again.out and "0 started, 1 already exists" in again.out
        assert await pool.fetchval("SELECT count(*) FROM cases WHERE id = $1", case_id) == 1

        # The same ACRO reference with other content is refused: exit 1, the reason shown.
        changed = write(tmp_path, "changed.json", dict(data, name="Someone Else"))
        conflict = await casework(cli_env, "submit", str(changed))
        assert conflict.code == 1, conflict
        assert "refused" in conflict.out and "was submitted before" in conflict.out
        assert (await case.row("SELECT name FROM referrals WHERE case_id = $1"))["name"] == data["name"]
    finally:
        await stop(case)


async def test_R01_folder_with_one_bad_file_starts_nothing(ts_env, pool, cli_env, tmp_path):
    folder = tmp_path / "batch"
    folder.mkdir()
    good = [referral_data() for _ in range(3)]
    for i, data in enumerate(good):
        write(folder, f"{i}-good.json", data)
    write(folder, "9-bad.json", referral_data(reason_for_request="bystander"))
    run = await casework(cli_env, "submit", str(folder))
    assert run.code == 2, run
    assert run.err.splitlines()[0] == f"{folder / '9-bad.json'}: reason_for_request: should be one of: victim, witness, arrest"
    for data in good:
        await nothing_started(ts_env, pool, data["acro_reference"])


async def test_R02_R03_submit_says_which_certificates_are_non_disclosable_and_why(ts_env, pool, cli_env, tmp_path):
    """Issue 12, defect 6: the purpose wording is matched robustly (spacing around the slash,
    a full stop), and submit names each certificate judged non-disclosable, with the reason,
    before its case destroys it (R03)."""
    folder = tmp_path / "batch"
    folder.mkdir()
    spaced = referral_data(certificate=dict(referral_data()["certificate"],
                                            request_purpose="Request for administrative purpose Immigration / Deportation."))
    police = referral_data(certificate=dict(referral_data()["certificate"], request_purpose="Request for criminal proceedings"))
    write(folder, "spaced.json", spaced)
    write(folder, "police.json", police)
    spaced_id, police_id = case_id_for(spaced["acro_reference"]), case_id_for(police["acro_reference"])
    cases: list[Case] = []
    try:
        run = await casework(cli_env, "submit", str(folder))
        assert run.code == 0, run
        assert (f'{police_id}: certificate 1 judged non-disclosable – R02/R61: request purpose "Request for criminal '
                f'proceedings" is not "{DISCLOSABLE_PURPOSE}" and the offences are not on the PNC; R03: it will be '
                "destroyed and a certificate for immigration purposes requested from ACRO") in run.out
        assert f"{spaced_id}: certificate 1 judged non-disclosable" not in run.out
        # The spaced wording is disclosable: registered, at the NBTC check; the other waits.
        spaced_case = Case(ts_env.client, pool, ts_env.client.get_workflow_handle(spaced_id), referral(**spaced))
        police_case = Case(ts_env.client, pool, ts_env.client.get_workflow_handle(police_id), referral(**police))
        cases += [spaced_case, police_case]
        await spaced_case.task("nbtc_check")
        await police_case.task("await_certificate")
        assert (await spaced_case.case_row())["disclosable"] is True

        as_json = await casework(cli_env, "submit", "--json", str(folder / "police.json"))
        assert as_json.code == 0, as_json
    finally:
        for case in cases:
            await stop(case)
    [again] = json.loads(as_json.out)
    # The API's own answer for the referral (api/schemas.py BatchItem): judged once, when started.
    assert again["result"] == "already exists" and again["status"] == 200 and again["non_disclosable"] is None
