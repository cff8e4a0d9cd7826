"""Recording real histories for the replay tests (tests/histories/README.md).

With ``CASEWORK_RECORD_HISTORIES=DIR`` set, every case a test started is saved after
the test, each run of it (continue-as-new) as its own JSON file. Payloads stay
encrypted under the recording key the recording was made with.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from temporalio.client import WorkflowHandle

RECORD_ENV = "CASEWORK_RECORD_HISTORIES"


def recording_dir() -> Path | None:
    folder = os.environ.get(RECORD_ENV)
    return Path(folder) if folder else None


async def save_runs(handle: WorkflowHandle, folder: Path, test_name: str) -> list[Path]:
    """Save the latest run and every run it continued from, oldest first."""
    folder.mkdir(parents=True, exist_ok=True)
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", test_name)[:80]
    histories = []
    run_id: str | None = None
    while True:
        history = await handle._client.get_workflow_handle(handle.id, run_id=run_id).fetch_history()
        histories.append(history)
        started = history.events[0].workflow_execution_started_event_attributes
        run_id = started.continued_execution_run_id or None
        if not run_id:
            break
    paths = []
    for number, history in enumerate(reversed(histories), start=1):
        path = folder / f"{stem}--{handle.id}--run{number}.json"
        path.write_text(history.to_json())
        paths.append(path)
    return paths
