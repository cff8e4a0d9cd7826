"""Search attributes and UI metadata, read back from a real dev server.

What operators filter by (stage, team, what the case waits on, its next deadline, the
overdue mark) is really set, carries no personal data (search attributes are not
encrypted), and the pages of the Web UI read as sentences: the static summary and
details, the current details, and summaries on activities and timers.
"""

from __future__ import annotations

import re
import subprocess
from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import unquote

from temporalio.api.enums.v1 import EventType
from temporalio.api.sdk.v1 import WorkflowMetadata

from casework import search
from casework.binaries import temporal_cli
from casework.referral import DISCLOSABLE_PURPOSE
from casework.settings import ProcessSettings
from tests.ops_support import listed
from tests.support import Case, referral, running_worker

# Distinctive personal data, so that a match anywhere is no accident.
NAME = "Zbigniew Qwertyukowski"
DOB = "1971-04-13"
OFFENCE = "Aggravated burglary of a dwelling"
SENTENCE = "7 years 3 months"
CERTIFICATE = {
    "request_purpose": DISCLOSABLE_PURPOSE,
    "offences_on_pnc": False,
    "convictions": [{"country": "PL", "offence": OFFENCE, "category": "burglary",
                     "conviction_date": "2009-11-20", "sentence": SENTENCE}],
}


def _personal_strings() -> list[str]:
    return [NAME, *NAME.split(), DOB, "13/04/1971", "19710413", OFFENCE, "burglary", SENTENCE]


async def _decoded(client, payload) -> str:  # noqa: ANN001
    [text] = await client.data_converter.decode([payload], [str])  # the codec, then the converter
    return text


async def test_search_attributes_of_a_case_waiting_on_nbtc(dev_env, pool, task_queue):
    """R10: waiting on the NBTC check: CaseStage, WaitingOn, Team and NextDeadline (the
    task's due date in the CID) are set; no attribute holds a name, DOB or offence."""
    client = dev_env.client
    ref = referral(name=NAME, date_of_birth=DOB, certificate=CERTIFICATE)
    async with running_worker(client, pool, task_queue):
        case = await Case.start(client, pool, task_queue, ref)
        await case.task("nbtc_check")
        await listed(client, f'WorkflowId = "{case.id}" AND WaitingOn = "nbtc_check"', case.id)
        description = await case.handle.describe()
        metadata = await case.handle.query("__temporal_workflow_metadata", result_type=WorkflowMetadata)
        history = await case.handle.fetch_history()
        await case.handle.terminate(reason="test finished")

    attributes = description.typed_search_attributes
    row = await case.case_row()
    [task] = [t for t in await case.tasks() if t["kind"] == "nbtc_check"]
    assert attributes.get(search.CASE_STAGE) == "B-first-actions"
    assert attributes.get(search.WAITING_ON) == "nbtc_check"
    assert attributes.get(search.TEAM) == row["team"] == "CC EEA Team"  # R06: routed by the CID's table
    assert attributes.get(search.NEXT_DEADLINE) == task["due_at"]
    assert attributes.get(search.OVERDUE) is False
    assert attributes.get(search.CASE_OWNER) is None  # none before allocation (R20)

    # Every attribute, ours and the server's, as the server holds it (unencrypted).
    raw = description.raw_description.workflow_execution_info.search_attributes.indexed_fields
    assert set(raw) >= {key.name for key in search.ALL if key is not search.CASE_OWNER}
    for name, payload in raw.items():
        stored = payload.data.decode(errors="replace").lower()
        for personal in _personal_strings():
            assert personal.lower() not in stored, f"search attribute {name} holds personal data"
    for pair in attributes:
        for personal in _personal_strings():
            assert personal.lower() not in str(pair.value).lower(), pair.key.name

    # The Web UI's pages: static summary and details, current details (no personal data either).
    summary, details = await description.static_summary(), await description.static_details()
    assert summary == f"ACRO referral {ref.acro_reference}"
    assert "no personal data" in (details or "")
    assert metadata.current_details.startswith("**B-first-actions** · Waiting on: NBTC check")
    assert f"due {task['due_at']:%Y-%m-%d %H:%M} UTC" in metadata.current_details
    for text in (summary, details, metadata.current_details):
        assert not any(p.lower() in text.lower() for p in _personal_strings()), text

    # Activities and the deadline timer are named in the history, not just "activity 7".
    activity_summaries, timer_summaries = [], []
    for event in history.events:
        if event.user_metadata.HasField("summary"):
            text = await _decoded(client, event.user_metadata.summary)
            if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
                activity_summaries.append(text)
            elif event.event_type == EventType.EVENT_TYPE_TIMER_STARTED:
                timer_summaries.append(text)
    assert {"record referral", "register case", "route case", "open task"} <= set(activity_summaries)
    assert timer_summaries == ["deadline: nbtc_check"]


async def test_overdue_case_found_by_its_search_attributes(dev_env, pool, task_queue):
    """A missed deadline (escalated to a senior caseworker) sets Overdue, and the saved
    query ``Overdue = true AND WaitingOn = "nbtc_check"`` finds the case; a case on time
    is not found by it."""
    client = dev_env.client
    fast = ProcessSettings(deadline_days={"nbtc_check": 0})  # due at once: the 1 s timer floor passes
    async with running_worker(client, pool, task_queue, fast), running_worker(client, pool, task_queue + "-on-time"):
        late = await Case.start(client, pool, task_queue, referral())
        on_time = await Case.start(client, pool, task_queue + "-on-time", referral())
        await on_time.task("nbtc_check")
        await late.wait_for(lambda v: v.overdue, timeout=10)
        await listed(client, 'Overdue = true AND WaitingOn = "nbtc_check"', late.id, timeout=10)
        found = [w.id async for w in client.list_workflows(
            f'Overdue = true AND WaitingOn = "nbtc_check" AND ExecutionStatus = "Running"'
            f' AND WorkflowId IN ("{late.id}", "{on_time.id}")')]  # its earlier runs (continued as new) are listed too
        description = await late.handle.describe()
        for case in (late, on_time):
            await case.handle.terminate(reason="test finished")

    assert found == [late.id]
    attributes = description.typed_search_attributes
    assert attributes.get(search.OVERDUE) is True
    [task] = [t for t in await late.tasks() if t["kind"] == "nbtc_check"]
    assert task["overdue"] is True
    # After the escalation the next deadline is the reminder, a week on (bounded reminders).
    assert attributes.get(search.NEXT_DEADLINE) - task["due_at"] >= timedelta(days=6)


def _doc_section(doc: str, title: str) -> str:
    """A ``###`` section of a page of docs/, up to the next heading."""
    text = (Path(__file__).resolve().parent.parent / "docs" / doc).read_text()
    start = text.index(f"### {title}\n")
    end = text.index("\n#", start + 1)
    return text[start:end]


async def test_readme_saved_queries_run_as_written(dev_env):
    """Every saved query of docs/operations.md, in each of its forms (query, UI URL, CLI line), is
    accepted by a real server: the operator's copy-paste works."""
    section = _doc_section("operations.md", "Saved queries")
    now = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    queries = [q.replace("<now>", now) for q in re.findall(r"^\| [^|]+ \| `([^`]+)` \|$", section, re.M)]
    assert len(queries) == 5 and "Overdue = true" in queries and "TemporalReportedProblems IS NOT NULL" in queries
    for query in queries:
        [_ async for _ in dev_env.client.list_workflows(query, limit=1)]  # raises if the server refuses it

    urls = re.findall(r"^http://localhost:8233/namespaces/default/workflows\?query=(\S+)$", section, re.M)
    example_time = "2026-03-02T12:00:00Z"
    written = {q.replace(now, example_time) for q in queries}
    assert urls and all(unquote(u) in written for u in urls), [unquote(u) for u in urls]

    lines = re.findall(r"^(temporal workflow list .+)$", section, re.M)
    assert len(lines) == len(queries)
    address = dev_env.client.service_client.config.target_host
    for line in lines:
        command = temporal_cli() + line.removeprefix("temporal").replace("127.0.0.1:7233", address)
        ran = subprocess.run(["bash", "-c", command], capture_output=True, text=True, timeout=30)
        assert ran.returncode == 0, f"{line}\n{ran.stderr}"
