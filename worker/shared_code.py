"""Workflow code unmarshalled once per worker process, not once per workflow run.

The sandbox imports the workflow module afresh for every run it loads (a new case, a
continued run, a replay after eviction), so that runs share no module state. Python's
import system reads and unmarshals the module's bytecode each time: for
``workflows/case.py`` about 5 ms of CPU and 70 KB of memory held for as long as the run
is cached (bench: docs/performance.md). Code objects are immutable, so giving every run
the same ones keeps what the sandbox is for - each run still executes the module into
fresh globals, builds its own classes and sees the restricted standard library - and
pays for the bytecode once.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import os
import sys
from collections.abc import Sequence
from types import CodeType, ModuleType

#: (path, mtime, size) → the module's code. A changed file is read again.
_CODE: dict[tuple[str, int, int], CodeType] = {}


class _SharedCodeLoader(importlib.machinery.SourceFileLoader):
    def get_code(self, fullname: str) -> CodeType:
        stat = os.stat(self.path)
        key = (self.path, stat.st_mtime_ns, stat.st_size)
        code = _CODE.get(key)
        if code is None:
            code = _CODE[key] = super().get_code(fullname)  # type: ignore[assignment]
        return code


class SharedCodeFinder(importlib.abc.MetaPathFinder):
    """Finds modules of ``packages`` as Python would, then loads them with shared code."""

    def __init__(self, packages: frozenset[str]) -> None:
        self.packages = packages

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname.partition(".")[0] not in self.packages:
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path, target)
        if spec is not None and type(spec.loader) is importlib.machinery.SourceFileLoader:
            spec.loader = _SharedCodeLoader(spec.loader.name, spec.loader.path)
        return spec


def share_workflow_code(packages: Sequence[str] = ("workflows",)) -> None:
    """Install the finder once per process (idempotent)."""
    if not any(isinstance(f, SharedCodeFinder) for f in sys.meta_path):
        sys.meta_path.insert(0, SharedCodeFinder(frozenset(packages)))
