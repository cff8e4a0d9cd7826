"""Every error a caseworker or script meets: one readable line, the documented exit status
(starter/exits.py, docs/cli.md "Exit statuses"), never a traceback.

People's commands are clients of the API (starter/api_client.py): the refusals that need
the stack run the real command with a real token of the identity acting (``cw_api``);
bad input is refused before anything is sent, with no token and no API at all. The checks
of typed input are also tested in-process (``make_event``, ``read_csv``,
``parse_details``), where they are quick to table.
"""

from __future__ import annotations

import asyncio
import re
import contextlib
import json
import socket
from pathlib import Path
from typing import AsyncIterator

import pytest
from temporalio.testing import WorkflowEnvironment

from casework import keys, search
from casework.binaries import temporal_cli
from casework.case import EventKind
from casework.temporal import data_converter
from starter.events import make_event, read_csv
from starter.exits import CliError, Exit
from starter.tasks_cmd import parse_details
from starter.views import StageChoice, case_id_from, one_stage
from tests.cli_support import CASEWORK, Casework, Ran, api_cli_environment, cw_api  # noqa: F401 - cw_api is a fixture

SENIOR = "scw.erin"  # senior-caseworker: sees every case; purposes detention, deportation, public_security
NBTC = "nbtc.finn"
ICE = "ice-system"  # client credentials, events:located
ACRO = "acro"  # client credentials, events:certificate


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then let go)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


async def test_unknown_case_and_task_are_not_found(cw_api: Casework):
    """3 and one line, whoever asks: the API's 404 (a case you may not see is one that does not exist)."""
    shown, by_id, by_key = await cw_api.each(
        ("show", "acro-case-NO-SUCH-CASE", "--purpose", "deportation", "--reason", "checking a reference"),
        ("complete", "987654321", "--outcome", "in_uk"),
        ("complete", "acro-case-NO-SUCH-CASE:nbtc_check-1", "--outcome", "in_uk"),
        who=SENIOR,
    )
    located = await cw_api("event", "located", "NO/SUCH/REF", "--event-id", "e-1", who=ICE)
    for ran in (shown, by_id, by_key, located):
        assert ran.code == Exit.NOT_FOUND, str(ran)
        line = ran.one_error_line()
        assert line.startswith("casework: no ") and ("case" in line or "task" in line), line
    assert shown.one_error_line() == "casework: no case acro-case-NO-SUCH-CASE that you may see"
    assert by_id.one_error_line() == "casework: no task 987654321 that you may see"
    assert by_key.one_error_line() == "casework: no open task nbtc_check-1 on acro-case-NO-SUCH-CASE that you may see"
    assert located.one_error_line() == "casework: no case acro-case-NO_SUCH_REF"


async def test_bad_input_is_refused_before_anything_is_sent(tmp_path: Path):
    """R60: personal data is shown only for a stated purpose and reason. Every refusal here
    comes before a token is looked for or the API is asked: there is neither."""
    env = api_cli_environment(f"http://127.0.0.1:{closed_port()}", tmp_path / "data", tmp_path / "config")
    cw = Casework(env, None, tmp_path)  # type: ignore[arg-type] - no database: nothing reads it
    no_purpose, no_reason, bad_purpose, bad_detail, no_event_id, actor, bad_stage = await cw.each(
        ("show", "acro-case-X", "--reason", "just looking"),
        ("show", "acro-case-X", "--purpose", "deportation"),
        ("show", "acro-case-X", "--purpose", "curiosity", "--reason", "just looking"),
        ("complete", "12", "--outcome", "reviewed", "--detail", "reason"),
        ("event", "located", "acro-case-X"),
        ("complete", "12", "--outcome", "in_uk", "--actor", "director.impostor"),
        ("cases", "--stage", "G"),
    )
    assert no_purpose.one_error_line().startswith("casework: R60: personal data is shown only for a stated purpose: "
                                                  "give both --purpose and --reason")
    assert no_reason.one_error_line() == no_purpose.one_error_line()
    # Choices, required options and unknown options are typer's own checks, in its words.
    assert bad_purpose.one_error_line() == ("casework: Invalid value for '--purpose': 'curiosity' is not one of 'intake', "
                                            "'locating', 'detention', 'deportation', 'public_security'. "
                                            "(see 'casework show --help')")
    assert "not KEY=VALUE" in bad_detail.one_error_line()
    assert no_event_id.one_error_line().startswith("casework: Missing option '--event-id'.")
    assert actor.one_error_line().startswith("casework: No such option '--actor'")  # --actor named anyone: gone
    assert bad_stage.one_error_line().startswith("casework: Invalid value for '--stage': 'G' is not one of ")
    for ran in (no_purpose, no_reason, bad_purpose, bad_detail, no_event_id, actor, bad_stage):
        assert ran.code == Exit.BAD_INPUT, str(ran)
    # Well-formed, but nobody is signed in: 6, before the API is asked.
    anonymous = await cw.each(("show", "acro-case-X", "--purpose", "deportation", "--reason", "review"),
                              ("complete", "12", "--outcome", "x"), ("cases",))
    for ran in anonymous:
        assert ran.code == Exit.NOT_SIGNED_IN, str(ran)
        assert ran.one_error_line() == "casework: not signed in: run 'casework login' (or set CASEWORK_TOKEN)"


async def test_a_later_certificate_convicting_before_birth_is_refused_by_the_case(cw_api: Casework, start, pool,
                                                                                 tmp_path: Path):
    """Input that cannot be true (issue 12, defect 5): a certificate handed in later is checked
    against the referral's date of birth by the case's worker, where the date of birth is
    (the command and the API hold no read of it): 4, one line naming the conviction and no
    date, and nothing taken or recorded."""
    case = await start(date_of_birth="1980-02-03")
    await case.task("nbtc_check")
    bad = tmp_path / "certificate.json"
    bad.write_text(json.dumps(dict(case.referral.certificate.model_dump(mode="json"), convictions=[
        {"country": "PL", "offence": "Theft", "category": "theft", "conviction_date": "1979-12-31"}])))
    certificates = await pool.fetchval("SELECT count(*) FROM certificates WHERE case_id = $1", case.id)
    ran = await cw_api("event", "certificate", case.id, "--event-id", "cert-born-later", "--file", str(bad), who=ACRO)
    assert ran.code == Exit.REFUSED, str(ran)
    line = ran.one_error_line()
    assert line.startswith(f"casework: {case.id}: ") and "conviction 1 is dated before the subject's date of birth" in line
    assert "1980" not in ran.err and "1979" not in ran.err  # no date is told back
    assert await pool.fetchval("SELECT taken_at FROM intake_certificates WHERE case_id = $1 AND event_id = $2",
                               case.id, "cert-born-later") is None
    assert await pool.fetchval("SELECT count(*) FROM certificates WHERE case_id = $1", case.id) == certificates
    assert await pool.fetchval("SELECT count(*) FROM audit_log WHERE case_id = $1 AND actor = $2 AND action = $3",
                               case.id, ACRO, keys.CERTIFICATE_RECEIVED) == 0


async def test_an_unreachable_api_is_unavailable(tmp_path: Path):
    """5 and one line naming where the API was looked for, for every people's command."""
    port = closed_port()
    env = api_cli_environment(f"http://127.0.0.1:{port}", tmp_path / "data", tmp_path / "config")
    cw = Casework(env | {"CASEWORK_TOKEN": "any.token.at-all"}, None, tmp_path)  # type: ignore[arg-type]
    runs = await cw.each(
        ("cases",), ("tasks",), ("show", "acro-case-X", "--purpose", "deportation", "--reason", "review"),
        ("complete", "1", "--outcome", "in_uk"), ("claim", "1"), ("unclaim", "1"), ("assign", "1", "--to", "cw.eve"),
        ("event", "located", "acro-case-X", "--event-id", "e"),
    )
    for ran in runs:
        assert ran.code == Exit.UNAVAILABLE, str(ran)
        assert ran.one_error_line().startswith(f"casework: the API cannot be reached at http://127.0.0.1:{port}: "), str(ran)


@contextlib.asynccontextmanager
async def api_without_temporal(database_url: str) -> AsyncIterator[object]:
    """A real API whose Temporal went away after it started (its dev server stopped): the
    CID still answers it, Temporal does not."""
    from tests.api_support import serving_api

    env = await WorkflowEnvironment.start_local(dev_server_existing_path=temporal_cli(), data_converter=data_converter(),
                                                search_attributes=search.ALL)
    try:
        async with serving_api(env.client, "nowhere", database_url) as down:
            await env.shutdown()
            yield down
    finally:
        with contextlib.suppress(Exception):
            await env.shutdown()


async def test_an_api_whose_temporal_is_down_is_unavailable_and_changes_nothing(start, pool, database_url, tmp_path):
    """The API answers 503 with Retry-After (api/failures.py): 5, one line, "try again";
    reading needs only the CID, so the case list and one case still work."""
    case = await start()
    await case.task("nbtc_check")
    task_id = await pool.fetchval("SELECT id FROM tasks WHERE case_id = $1 AND kind = 'nbtc_check'", case.id)
    async with api_without_temporal(database_url) as down:
        env = api_cli_environment(down.url, tmp_path / "data", tmp_path / "config")
        # Above the completion's 30 s, with room to send the event again even when the API takes
        # most of 30 s to hear that Temporal is down (a loaded machine: issue 25 item 8).
        env["CASEWORK_API_TIMEOUT_SECONDS"] = "90"
        cw = Casework(env, pool, tmp_path, token_of=down.tokens.of)
        # The commands' own bound (90 s) inside the test's wait for them.
        complete, located = await asyncio.gather(cw("complete", str(task_id), "--outcome", "in_uk", who=NBTC, timeout=150),
                                                 cw("event", "located", case.id, "--event-id", "e-offline", who=ICE,
                                                    timeout=150))
        shown = await cw("show", case.id, "--purpose", "deportation", "--reason", "review while Temporal is down",
                         who=SENIOR)
        listed = await cw("tasks", "--case", case.id, who=NBTC)
    for ran in (complete, located):
        assert ran.code == Exit.UNAVAILABLE, str(ran)
        line = ran.one_error_line()
        assert line.startswith("casework: unavailable: ") and line.endswith("try again in 5 s)"), line
    # The completion waited for the case's answer (the API's bound), the event for Temporal.
    assert f"case {case.id} did not answer in time; nothing was refused" in complete.one_error_line()
    # Issue 25 item 2: Temporal's own words, and the CLI sent the event again (nothing was done) and says so.
    assert "Temporal is not answering (it said UNAVAILABLE" in located.one_error_line()
    assert "nothing was refused" in located.one_error_line()
    assert re.search(r"\(sent \d+ times over \d+ s; try again in 5 s\)$", located.one_error_line()), located
    assert "sent" not in complete.one_error_line().split("(")[-1]  # it may have applied: not sent again
    assert shown.code == 0 and "NBTC check" in shown.out, str(shown)
    assert listed.code == 0 and "nbtc_check" in listed.out, str(listed)
    # Nothing was sent while Temporal was away: the task is still open and the event unrecorded.
    assert await pool.fetchval("SELECT status FROM tasks WHERE id = $1", task_id) == "open"
    assert await pool.fetchval(
        "SELECT count(*) FROM audit_log WHERE case_id = $1 AND event_key = $2", case.id,
        keys.event_key(EventKind.LOCATED, "e-offline")
    ) == 0


# --------------------------------------------------------------- typed input, in-process


@pytest.mark.parametrize(("fields", "problem"), [
    (dict(kind="teleported"), "kind 'teleported' is not one of"),
    (dict(case=" "), "case_id is empty"),
    (dict(event_id=""), "event_id is empty"),
    (dict(event_id="x" * 129), "longer than 128"),
    (dict(custody="on_holiday"), "custody 'on_holiday'"),
    (dict(release_date="2030-01-01"), "only with custody in_prison"),
    (dict(custody="in_prison", release_date="31/01/2030"), "not a date"),
    (dict(custody="in_prison"), "release_date is required when custody is 'in_prison' \\(R42"),  # defect 5
    (dict(kind="left-uk", custody="detained"), "belong to 'located' events only"),
    (dict(kind="certificate"), "needs its certificate file"),
    (dict(kind="certificate", certificate_file="none.json"), "no such file"),
    (dict(kind="representations", certificate_file="cert.json"), "belongs to 'certificate' events only"),
])
def test_an_event_is_checked_before_it_is_sent(fields, problem, tmp_path):
    given = dict(kind="located", case="acro-case-T1", event_id="e-1") | fields
    with pytest.raises(ValueError, match=problem):
        make_event(1, given.pop("kind"), given.pop("case"), given.pop("event_id"), base_dir=tmp_path, **given)


def test_a_certificate_file_is_validated_field_by_field(tmp_path: Path):
    """R02: the certificate is parsed as intake parses one; a bad one is named by field."""
    (tmp_path / "bad.json").write_text('{"request_purpose": "x", "convictions": []}')
    with pytest.raises(ValueError, match="convictions: needs at least 1 item, none given"):
        make_event(1, "certificate", "T1", "e", certificate_file="bad.json", base_dir=tmp_path)
    (tmp_path / "notjson.json").write_text("{")
    with pytest.raises(ValueError, match="not JSON"):
        make_event(1, "certificate", "T1", "e", certificate_file="notjson.json", base_dir=tmp_path)


def test_csv_header_and_rows_are_checked_whole(tmp_path: Path):
    wrong = tmp_path / "wrong.csv"
    wrong.write_text("kind,case,event_id,colour,actor\n")
    assert read_csv(wrong)[1] == [
        f"{wrong}:1: missing column 'case_id'",
        f"{wrong}:1: column 'actor' is no longer taken: the sender recorded is who is signed in ('casework whoami'); remove the column",
        f"{wrong}:1: unknown column 'case' (columns: kind, case_id, event_id, custody, release_date, certificate_file)",
        f"{wrong}:1: unknown column 'colour' (columns: kind, case_id, event_id, custody, release_date, certificate_file)",
    ]
    extra = tmp_path / "extra.csv"
    extra.write_text("\ufeffkind,case_id,event_id\nlocated,T1,e1\nleft_uk,T2,e2,surplus\n")
    rows, problems = read_csv(extra)
    assert problems == [f"{extra}:3: more fields than the header has"]
    assert [(r.kind, r.case_id) for r in rows] == [("located", "acro-case-T1")]
    empty = tmp_path / "empty.csv"
    empty.write_text("kind,case_id,event_id\n")
    assert read_csv(empty)[1] == [f"{empty}: no events in the file"]


def test_details_and_names_people_type():
    assert parse_details(["address_known=TRUE", "in_country_right_of_appeal=false", "departed_on=2024-01-02",
                          "reason=a=b"]) == {"address_known": True, "in_country_right_of_appeal": False,
                                             "departed_on": "2024-01-02", "reason": "a=b"}
    for bad in (["reason"], ["Reason=x"], ["a=1", "a=2"]):
        with pytest.raises(CliError) as err:
            parse_details(bad)
        assert err.value.code is Exit.BAD_INPUT
    assert case_id_from("16/123456a") == "acro-case-16_123456A"
    assert case_id_from("ACRO-CASE-16_123456a") == "acro-case-16_123456A"
    assert [one_stage(StageChoice(s)) for s in ("C-located", "E", "closed")] == ["C-located", "E-consideration", "closed"]
    # A letter is a choice only where it names one stage (C-F), as --stage's help says.
    assert {s.value for s in StageChoice if len(s.value) == 1} == {"C", "D", "E", "F"}


# --------------------------------------------------------------- the installed console script


def run_console_script(*args: str, pythonpath: Path | None = None) -> Ran:
    """The real ``casework`` entry point as pip installed it, with no stack behind it."""
    import os
    import subprocess

    env = {k: v for k, v in os.environ.items() if not k.startswith(("CASEWORK_", "TEMPORAL_"))}
    if pythonpath is not None:
        env["PYTHONPATH"] = str(pythonpath)
    done = subprocess.run([CASEWORK, *args], env=env, capture_output=True, text=True, timeout=60)
    return Ran(args, done.returncode, done.stdout, done.stderr)


def test_a_usage_error_is_one_line_and_bad_input():
    """With the locked typer and click a wrong flag value is a usage error, not a traceback."""
    ran = run_console_script("tasks", "--limit", "abc")
    assert ran.code == Exit.BAD_INPUT, str(ran)
    line = ran.one_error_line()
    assert line.startswith("casework: ") and "'--limit'" in line and "'abc'" in line, line
    assert "casework tasks --help" in line, line
    unknown = run_console_script("tasks", "--colour", "red")
    assert unknown.code == Exit.BAD_INPUT and "--colour" in unknown.one_error_line(), str(unknown)


def test_an_internal_error_is_one_line_naming_its_log(tmp_path: Path):
    """A bug of ours: one line, status 1, and the traceback in a file only its owner reads."""
    # A command that fails as a bug would, added to the real app before it runs.
    (tmp_path / "sitecustomize.py").write_text(
        "from starter.cli import app\n"
        "@app.command('explode')\n"
        "def explode() -> None:\n"
        "    raise RuntimeError('a bug')\n"
    )
    ran = run_console_script("explode", pythonpath=tmp_path)
    assert ran.code == Exit.FAILED, str(ran)
    line = ran.one_error_line()
    assert line.startswith("casework: internal error (RuntimeError); please report it with "), line
    log = Path(line.rsplit(" ", 1)[1])
    try:
        assert "RuntimeError: a bug" in log.read_text()
        assert log.stat().st_mode & 0o077 == 0
    finally:
        log.unlink()
