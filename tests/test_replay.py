"""Recorded histories of every path replay against today's workflow code.

A change to ``CaseWorkflow`` that would break a live case fails here. The histories were
captured from real runs (tests/histories/README.md says how to re-record them) and are
replayed with the worker's own data converter, under the key they were recorded with.
"""

from __future__ import annotations

from pathlib import Path

from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from casework.codec import parse_keys
from casework.temporal import data_converter
from workflows.case import CaseWorkflow

HISTORIES = Path(__file__).parent / "histories"


def recorded() -> list[WorkflowHistory]:
    histories = []
    for path in sorted(HISTORIES.glob("*/*.json")):
        workflow_id = path.stem.split("--")[1]
        histories.append(WorkflowHistory.from_json(workflow_id, path.read_text()))
    return histories


def recording_converter():  # noqa: ANN201
    return data_converter(parse_keys((HISTORIES / "recording-keys.txt").read_text().strip()))


async def test_every_recorded_history_replays() -> None:
    histories = recorded()
    assert len(histories) >= 40, "the recorded histories are missing"
    replayer = Replayer(workflows=[CaseWorkflow], data_converter=recording_converter())
    failures = {}
    for history in histories:
        result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
        if result.replay_failure is not None:
            failures[history.workflow_id] = str(result.replay_failure)
    assert not failures, failures
