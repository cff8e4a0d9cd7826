"""The daily jobs' names and limits, one home for the workflows (workflows/jobs.py), their
schedules (casework/schedules.py) and the commands that list them."""

from __future__ import annotations

from datetime import timedelta

#: The workflow types, as schedules start them and visibility lists them.
SWEEP_JOB = "CaseworkSweepJob"
PURGE_JOB = "CaseworkRetentionPurgeJob"
#: A day's job should take minutes: an hour is a wedged run, not a slow one.
RUN_TIMEOUT = timedelta(hours=1)
