"""Our own metric names. Labels are a stage or a task kind only: never personal data,
never a case ID (unbounded label values would also swamp Prometheus)."""

CASES_STARTED = "casework_cases_started"
STAGE_TRANSITIONS = "casework_stage_transitions"
TASKS_OPENED = "casework_tasks_opened"
TASKS_ESCALATED = "casework_tasks_escalated"
CASES_CLOSED = "casework_cases_closed"
MESSAGES = "casework_messages"
#: The daily jobs (activities/jobs.py): gauges set after each run; label ``reason`` only.
STUCK_CASES = "casework_stuck_cases"
RETENTION_PURGED = "casework_retention_purged"
