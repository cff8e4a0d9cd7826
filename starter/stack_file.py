"""The local stack's settings file, ``<data folder>/stack.json`` (``$XDG_STATE_HOME/casework``
unless ``CASEWORK_DATA_DIR`` names another folder), written by ``casework up``
(the database, Temporal, the API's URL and the development issuer's), so a caseworker's
second terminal needs no configuration. Light to import: no database or Temporal client.

The one home of the file's keys: ``casework up`` writes them (``write_stack_settings``)
and the commands read them (``stack_settings``) by these names only.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Mapping

from casework import config

STACK_FILE = "stack.json"

# What each key holds, and who reads it.
DATABASE_URL = "database_url"  # the CID: operator commands (starter/context.py)
TEMPORAL_ADDRESS = "temporal_address"  # the dev server: operator commands (starter/context.py)
NAMESPACE = "namespace"
TASK_QUEUE = "task_queue"  # the worker's task queue: operator commands (starter/context.py)
UI_URL = "ui_url"  # the Temporal Web UI, for people
CODEC_URL = "codec_url"  # the codec server; its token is in codec-token beside the file
API_URL = "api_url"  # the HTTP API: people's commands (starter/api_client.py), as CASEWORK_API_URL
OIDC_ISSUER = "oidc_issuer"  # the development issuer: `casework login` (starter/signin.py)
PID = "pid"  # the `casework up` process

#: Every key ``casework up`` writes.
KEYS = (DATABASE_URL, TEMPORAL_ADDRESS, NAMESPACE, TASK_QUEUE, UI_URL, CODEC_URL, API_URL, OIDC_ISSUER, PID)


def stack_file_path() -> Path:
    """Where the commands look: the data folder (``CASEWORK_DATA_DIR``, else the XDG state
    folder's ``casework``), the same from any working folder."""
    return config.LocalStackSettings.read().data_dir / STACK_FILE


def stack_settings() -> dict[str, Any]:
    path = stack_file_path()
    if path.is_file():
        return json.loads(path.read_text())
    return {}


def write_stack_settings(path: Path, content: Mapping[str, Any]) -> None:
    """Write the file whole (a reader never sees half of it); 0600: it may hold a password."""
    unknown = set(content) - set(KEYS)
    if unknown:
        raise ValueError(f"not keys of {STACK_FILE}: {', '.join(sorted(unknown))}")
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(dict(content), f, indent=1)
    tmp.replace(path)
