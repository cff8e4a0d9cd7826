"""The local stack's settings file, ``<data folder>/stack.json``, written by ``casework up``
(the database, Temporal, the API's URL and the development issuer's), so a caseworker's
second terminal needs no configuration. Light to import: no database or Temporal client."""

from __future__ import annotations

import json

from casework import config

STACK_FILE = "stack.json"


def stack_settings() -> dict[str, str]:
    path = config.data_dir() / STACK_FILE
    if path.is_file():
        return json.loads(path.read_text())
    return {}
