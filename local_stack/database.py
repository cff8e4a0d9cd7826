"""The local stack's case database: ``DATABASE_URL`` if set, else an embedded PostgreSQL."""

from __future__ import annotations

from pathlib import Path

from casework import config
from cid.embedded import start_embedded


def database_url_or_embedded(pgdata: Path) -> tuple[str, str]:
    """The CID: ``DATABASE_URL`` if set, else an embedded PostgreSQL in ``pgdata``
    (started, or reused); returns (DSN, where it is, for people)."""
    url = config.DatabaseSettings.read().database_url
    if url:
        return url, "DATABASE_URL"
    return start_embedded(pgdata), f"embedded PostgreSQL in {pgdata}"
