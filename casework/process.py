"""Leaving a process that has used the Temporal SDK."""

from __future__ import annotations

import logging
import os
import sys


def exit_without_finalizing(code: int) -> None:
    """Flush and exit without interpreter finalization.

    The SDK's native threads can call into Python while the interpreter finalizes, which
    aborts the process (SIGABRT or SIGSEGV, temporalio/sdk-python#300; seen here after a
    worker shutdown that cancelled an activity, and after a CLI call that failed to
    connect): a clean exit status would become a crash. Call this only once everything
    is stopped and closed.
    """
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
