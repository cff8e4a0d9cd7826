"""The keys of ``stack.json``: what ``casework up`` writes (starter/up.py) is what the
commands read (starter/api_client.py, starter/signin.py, starter/context.py), by the names
of their one home, starter/stack_file.py. Written by up's own function, read by each
reader's own function: a key renamed on one side only fails here."""

from __future__ import annotations

import json
import re
import stat
from pathlib import Path
from types import SimpleNamespace

import pytest

from starter import stack_file
from starter.up import _write_stack_file


def test_what_up_writes_is_what_the_commands_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("CASEWORK_API_URL", "CASEWORK_OIDC_ISSUER", "DATABASE_URL", "TEMPORAL_ADDRESS", "TEMPORAL_TASK_QUEUE",
                 "TEMPORAL_CONFIG_FILE", "TEMPORAL_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TEMPORAL_CONFIG_FILE", str(tmp_path / "no-temporal-profile.toml"))
    monkeypatch.setenv("CASEWORK_DATA_DIR", str(tmp_path))
    server = SimpleNamespace(address="127.0.0.1:17233", ui_url="http://localhost:18233/namespaces/default/workflows")
    temporal = SimpleNamespace(namespace="default", task_queue="queue-of-this-stack")
    codec = SimpleNamespace(url="http://127.0.0.1:18081")
    path = tmp_path / stack_file.STACK_FILE
    _write_stack_file(path, "postgresql://postgres@127.0.0.1:15432/cid", server, temporal, codec,  # type: ignore[arg-type]
                      "http://127.0.0.1:18080", "http://127.0.0.1:18090")

    written = json.loads(path.read_text())
    assert set(written) == set(stack_file.KEYS)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600  # it may hold a password

    from starter import api_client, context, signin

    assert api_client.api_url() == "http://127.0.0.1:18080"
    assert signin.issuer() == "http://127.0.0.1:18090"
    assert context.database_url() == "postgresql://postgres@127.0.0.1:15432/cid"
    settings = context.temporal_settings()
    assert (settings.address, settings.task_queue) == ("127.0.0.1:17233", "queue-of-this-stack")


def test_no_reader_or_writer_spells_a_key_of_its_own() -> None:
    """The key names appear as string literals only in their home."""
    root = Path(__file__).resolve().parent.parent
    keys = "|".join(re.escape(k) for k in stack_file.KEYS if k not in ("namespace", "pid"))  # common words elsewhere
    pattern = re.compile(rf"""["']({keys})["']""")
    for name in ("up.py", "api_client.py", "signin.py", "context.py"):
        found = pattern.findall((root / "starter" / name).read_text())
        assert not found, (name, found)


def test_a_key_the_file_does_not_have_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="not keys of stack.json: apiurl"):
        stack_file.write_stack_settings(tmp_path / "stack.json", {"apiurl": "http://x"})
    assert not (tmp_path / "stack.json").exists()
