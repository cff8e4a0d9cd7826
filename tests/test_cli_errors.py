"""Every error a caseworker or script meets: one readable line, the documented exit status
(starter/exits.py), never a traceback.

The refusals that need the stack run the real command; the checks of typed input are
also tested in-process (``make_event``, ``read_csv``, ``parse_details``), where they are
quick to table.
"""

from __future__ import annotations

from casework import keys
from casework.case import EventKind

from pathlib import Path

import pytest

from starter.events import make_event, read_csv
from starter.exits import CliError, Exit
from starter.tasks_cmd import parse_details
from starter.views import case_id_from, stage_filter
from tests.cli_support import CASEWORK, Casework, Ran, cw  # noqa: F401 - cw is a fixture
from tests.support import Case, referral

CLOSED_PORT_DB = "postgresql://postgres@127.0.0.1:1/casework"
NO_TEMPORAL = "127.0.0.1:1"


async def test_unknown_case_and_task_are_not_found(cw: Casework):
    runs = await cw.each(
        ("show", "acro-case-NO-SUCH-CASE", "--purpose", "checking a reference"),
        ("event", "located", "NO/SUCH/REF", "--event-id", "e-1"),
        ("complete", "987654321", "--outcome", "in_uk"),
        ("complete", "acro-case-NO-SUCH-CASE:nbtc_check-1", "--outcome", "in_uk"),
    )
    for ran in runs:
        assert ran.code == Exit.NOT_FOUND, str(ran)
        line = ran.one_error_line()
        assert line.startswith("casework: no ") and ("case" in line or "task" in line), line
    assert runs[1].one_error_line() == "casework: no case acro-case-NO_SUCH_REF"


async def test_bad_input_is_refused_before_anything_is_sent(cw: Casework):
    """R60: personal data is shown only for a stated purpose and to a named actor."""
    no_purpose, bad_detail, no_event_id = await cw.each(
        ("show", "acro-case-X"),
        ("complete", "12", "--outcome", "reviewed", "--detail", "reason"),
        ("event", "located", "acro-case-X"),
    )
    assert "R60" in no_purpose.one_error_line()
    assert "not KEY=VALUE" in bad_detail.one_error_line()
    assert "--event-id" in no_event_id.one_error_line()
    anonymous = await cw.each(("show", "acro-case-X", "--purpose", "review"), ("complete", "12", "--outcome", "x"),
                              env={"CASEWORK_ACTOR": None})
    for ran in (no_purpose, bad_detail, no_event_id, *anonymous):
        assert ran.code == Exit.BAD_INPUT, str(ran)
    for ran in anonymous:
        assert "who is acting?" in ran.one_error_line()


async def test_a_later_certificate_convicting_before_birth_is_refused_naming_the_field(cw: Casework, dev_env, pool,
                                                                                      task_queue, tmp_path):
    """Input that cannot be true (issue 12, defect 5): a certificate handed in later is checked
    against the referral's date of birth, and nothing is sent."""
    import json

    case = await Case.start(dev_env.client, pool, task_queue, referral(date_of_birth="1980-02-03"))
    await case.task("nbtc_check")
    bad = tmp_path / "certificate.json"
    bad.write_text(json.dumps(dict(case.referral.certificate.model_dump(mode="json"), convictions=[
        {"country": "PL", "offence": "Theft", "category": "theft", "conviction_date": "1979-12-31"}])))
    ran = await cw("event", "certificate", case.id, "--event-id", "cert-born-later", "--file", str(bad))
    assert ran.code == Exit.BAD_INPUT, str(ran)
    assert ran.one_error_line() == (f"casework: certificate for {case.id}: convictions.0.conviction_date: 1979-12-31 "
                                    "is before the date of birth (1980-02-03); nothing was sent")
    assert await pool.fetchval("SELECT count(*) FROM intake_certificates WHERE case_id = $1", case.id) == 0
    await case.handle.terminate(reason="test finished")


async def test_unreachable_database_is_unavailable(cw: Casework):
    runs = await cw.each(
        ("cases",), ("show", "acro-case-X", "--purpose", "review"), ("complete", "1", "--outcome", "in_uk"),
        ("event", "located", "acro-case-X", "--event-id", "e"),
        env={"DATABASE_URL": CLOSED_PORT_DB},
    )
    for ran in runs:
        assert ran.code == Exit.UNAVAILABLE, str(ran)
        assert ran.one_error_line().startswith("casework: the case database cannot be reached"), str(ran)


async def test_unreachable_temporal_is_unavailable(cw: Casework, dev_env, pool, task_queue):
    case = await Case.start(dev_env.client, pool, task_queue, referral())
    await case.task("nbtc_check")
    task_id = await pool.fetchval("SELECT id FROM tasks WHERE case_id = $1 AND kind = 'nbtc_check'", case.id)
    complete, located, shown = await cw.each(
        ("complete", str(task_id), "--outcome", "in_uk"),
        ("event", "located", case.id, "--event-id", "e-offline"),
        ("show", case.id, "--purpose", "review while Temporal is down"),
        env={"TEMPORAL_ADDRESS": NO_TEMPORAL},
    )
    for ran in (complete, located):
        assert ran.code == Exit.UNAVAILABLE, str(ran)
        assert ran.one_error_line().startswith(f"casework: Temporal cannot be reached at {NO_TEMPORAL}"), str(ran)
    # Reading needs only the CID: show still works, and says the live state is missing.
    assert shown.code == 0, str(shown)
    assert "live state unavailable" in shown.one_error_line()
    assert "NBTC check" in shown.out
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
    assert stage_filter("c-located") == "C-located" and stage_filter("e") == "E-%" and stage_filter("CLOSED") == "closed"
    with pytest.raises(CliError, match="unknown stage"):
        stage_filter("G")


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
