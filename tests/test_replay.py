"""Recorded histories of every path replay against today's workflow code.

A change to ``CaseWorkflow`` that would break a live case fails here. The histories were
captured from real runs (tests/histories/README.md; ``scripts/record-histories``) and are
replayed with the worker's own data converter, under the key they were recorded with.
Every version folder is kept as long as runs started by that code may be live:
``v0`` from before the search-attributes patch, ``v1`` from after it, ``v2`` after
messages-v2, ``v3`` after acting-checked-v1.
"""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator
from pathlib import Path

from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from casework.codec import parse_keys
from casework.temporal import data_converter
from workflows.case import CaseWorkflow
from workflows.context import PATCH_ACTING, PATCH_DECISIONS, PATCH_SEARCH_ATTRIBUTES

HISTORIES = Path(__file__).parent / "histories"
#: The version folders and the least number of histories each must hold.
VERSIONS = {"v0": 40, "v1": 60, "v2": 100, "v3": 100, "v4": 90, "v5": 90}


def recorded(version: str | None = None) -> list[WorkflowHistory]:
    """The recorded histories of one version folder (all folders when None), by file name."""
    return list(_load(version))


@functools.cache
def _load(version: str | None) -> tuple[WorkflowHistory, ...]:
    pattern = f"{version}/*.json" if version else "v*/*.json"
    return tuple(
        WorkflowHistory.from_json(path.stem.split("--")[1], path.read_text())
        for path in sorted(HISTORIES.glob(pattern))
    )


def recording_converter():
    return data_converter(parse_keys((HISTORIES / "recording-keys.txt").read_text().strip()))


async def replay(
    workflow_class: type, histories: list[WorkflowHistory]
) -> list[tuple[WorkflowHistory, Exception | None]]:
    """Replay each history against ``workflow_class`` (one replay worker for all); each
    with its failure, or None. Failures are collected, not raised."""
    replayer = Replayer(workflows=[workflow_class], data_converter=recording_converter())

    async def source() -> AsyncIterator[WorkflowHistory]:
        for history in histories:
            yield history

    results = []
    async with replayer.workflow_replay_iterator(source()) as replayed:
        async for result in replayed:
            results.append((result.history, result.replay_failure))
    assert len(results) == len(histories)
    return results


def patches(history: WorkflowHistory) -> set[str]:
    """The workflow.patched IDs a run recorded (core writes them as 'core_patch' markers)."""
    import json

    found = set()
    for event in history.events:
        if event.event_type == EventType.EVENT_TYPE_MARKER_RECORDED:
            attributes = event.marker_recorded_event_attributes
            if attributes.marker_name == "core_patch":
                for payload in attributes.details["patch-data"].payloads:
                    found.add(json.loads(payload.data)["id"])
    return found


def test_every_version_folder_is_there() -> None:
    for version, least in VERSIONS.items():
        assert len(recorded(version)) >= least, f"tests/histories/{version} is missing histories"


def test_both_sides_of_the_search_attributes_patch_are_recorded() -> None:
    """v0 runs predate the patch (no marker); v1 runs carry it, so both branches replay."""
    assert all(PATCH_SEARCH_ATTRIBUTES not in patches(h) for h in recorded("v0"))
    assert all(PATCH_SEARCH_ATTRIBUTES in patches(h) for h in recorded("v1"))


def test_both_sides_of_the_acting_patch_are_recorded() -> None:
    """v0-v2 runs predate acting-checked-v1; v3 runs carry it (decided in __init__, first)."""
    assert all(PATCH_ACTING not in patches(h) for v in ("v0", "v1", "v2") for h in recorded(v))
    assert all(PATCH_ACTING in patches(h) for h in recorded("v3"))


def test_both_sides_of_the_decisions_patch_are_recorded() -> None:
    """Issue 20: v0-v3 runs predate decisions-v1 (no record_decision); v4 runs that reach a
    stage's decision carry it (decided at the run's first decision)."""
    assert all(PATCH_DECISIONS not in patches(h) for v in ("v0", "v1", "v2", "v3") for h in recorded(v))
    assert sum(PATCH_DECISIONS in patches(h) for h in recorded("v4")) >= 50


async def test_every_recorded_history_replays() -> None:
    histories = recorded()
    assert len(histories) >= sum(VERSIONS.values()), "the recorded histories are missing"
    failures = {h.workflow_id: str(err) for h, err in await replay(CaseWorkflow, histories) if err is not None}
    assert not failures, failures
