"""The web inbox's assets (docs/inbox.md, "Setup"): GOV.UK Frontend and axe-core pinned with
integrity hashes in the committed package-lock.json, installed by the setup's ``npm ci``,
which stops with a message and status 5 on a machine without Node.js or npm."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_the_lock_pins_govuk_frontend_6_3_and_axe_core_with_integrity_hashes() -> None:
    lock = json.loads((ROOT / "package-lock.json").read_text())
    packages = lock["packages"]
    frontend = packages["node_modules/govuk-frontend"]
    assert frontend["version"].startswith("6.3.") and frontend["integrity"].startswith("sha512-")
    assert packages["node_modules/axe-core"]["integrity"].startswith("sha512-")
    assert set(packages) == {"", "node_modules/govuk-frontend", "node_modules/axe-core"}  # nothing else comes in
    assert "node_modules/" in (ROOT / ".gitignore").read_text().splitlines()


def test_the_setup_stops_with_status_5_and_a_message_without_node(tmp_path: Path) -> None:
    """A changed lock on a machine with no node/npm: the setup says what to install."""
    shutil.copy(ROOT / "run.sh", tmp_path / "run.sh")
    shutil.copy(ROOT / "package-lock.json", tmp_path / "package-lock.json")
    tools = tmp_path / "bin"
    tools.mkdir()
    for tool in ("sha256sum", "cut", "cat", "dirname"):
        (tools / tool).symlink_to(shutil.which(tool))  # type: ignore[arg-type]
    done = subprocess.run(["/bin/bash", "-c", "source ./run.sh; casework_assets"], cwd=tmp_path, capture_output=True,
                          text=True, env={"PATH": str(tools), "HOME": os.environ.get("HOME", "/tmp")}, timeout=30)
    assert done.returncode == 5, done.stderr
    assert "Node.js and npm are needed" in done.stderr and "package-lock.json" in done.stderr


async def test_without_the_assets_the_inbox_says_so_and_the_api_still_serves(tmp_path: Path) -> None:
    import httpx

    from casework.config import InboxSettings
    from api.app import create_app

    app = create_app(object(), inbox=InboxSettings(assets_dir=str(tmp_path / "none")))  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        answer = await client.get("/inbox/tasks")
        assert answer.status_code == 503 and "npm ci" in answer.text and "CASEWORK_INBOX_ASSETS_DIR" in answer.text
        assert (await client.get("/live")).status_code == 200
