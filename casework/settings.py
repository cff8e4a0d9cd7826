"""Process configuration: the choices process.md leaves to configuration.

Deadlines, the reminder policy, the "most serious" offence categories (R12) and the
EEA list (R31/R32/R41) are data, not code. The worker loads them once (from
``CASEWORK_PROCESS_CONFIG``, a JSON file, if set) and each case reads them through an
activity at the start of every run, so the values a case used are in its history.
"""

from __future__ import annotations

import json
import os
from datetime import timedelta
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from casework import config, refusals
from casework.tasks import TASK_KINDS

# process.md, "Who is an EEA national": EU member states of 2016, Iceland, Liechtenstein,
# Norway, and Switzerland (treated as EEA by the Immigration (EEA) Regulations 2006).
# The UK itself is excluded: a British referral is refused at intake.
EEA_2016 = frozenset(
    "AT BE BG HR CY CZ DK EE FI FR DE GR HU IE IT LV LT LU MT NL PL PT RO SK SI ES SE"
    " IS LI NO CH".split()
)


def default_deadline_days() -> dict[str, float]:
    """Each task kind's deadline as the task table defines it (casework/tasks.py)."""
    return {name: kind.deadline_days for name, kind in TASK_KINDS.items()}


class ResponseWindowDays(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    long: float = Field(default=20, gt=0)  # R42
    short: float = Field(default=10, gt=0)  # R43


class ProcessSettings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    #: Days per task kind; fractional days are allowed (a test may use a few seconds). A
    #: kind not given keeps the table's deadline; a kind not in the table is refused.
    deadline_days: dict[str, float] = Field(default_factory=default_deadline_days)
    #: After a missed deadline, a reminder (another escalation) every so often, at most this many.
    reminder_interval_days: float = Field(default=7, gt=0)
    max_escalations: int = Field(default=3, ge=1, le=20)
    most_serious_categories: frozenset[str] = frozenset(
        {"homicide", "sexual", "terrorism", "kidnapping", "trafficking", "firearms"}
    )
    eea_countries: frozenset[str] = EEA_2016
    #: A dormant case continues as new after this many history events (R16).
    dormant_history_limit: int = Field(default=2000, ge=100)
    #: R42/R43: the Stage 1 response windows, in days (the rules' defaults: 20 and 10).
    response_window_days: ResponseWindowDays = Field(default_factory=lambda: ResponseWindowDays())
    #: Start-to-close timeout of every activity after the case has loaded these settings:
    #: an activity lost with its worker (SIGKILL) is retried after this long.
    activity_timeout_seconds: float = Field(default=30, ge=1, le=600)

    @field_validator("deadline_days")
    @classmethod
    def _known_kinds(cls, given: dict[str, float]) -> dict[str, float]:
        unknown = sorted(set(given) - set(TASK_KINDS))
        if unknown:
            raise ValueError(f"unknown task kind(s) {', '.join(unknown)}; the kinds are {', '.join(TASK_KINDS)}")
        negative = sorted(kind for kind, days in given.items() if days < 0)
        if negative:
            raise ValueError(f"a deadline is at least 0 days ({', '.join(negative)})")
        return {**default_deadline_days(), **given}

    def deadline(self, kind: str) -> timedelta:
        return timedelta(days=self.deadline_days[kind])

    def response_windows(self) -> tuple[timedelta, timedelta]:
        """(long, short): R42's window for a prison sentence with time left, R43's otherwise."""
        return timedelta(days=self.response_window_days.long), timedelta(days=self.response_window_days.short)


class ProcessConfigError(ValueError):
    """The process configuration file is unreadable or names something the process lacks."""


def load_process_settings(path: str | os.PathLike[str] | None = None) -> ProcessSettings:
    """Defaults, overridden by the JSON file at ``path`` or ``$CASEWORK_PROCESS_CONFIG``.

    Refused whole, with the field and the reason (``ProcessConfigError``), when the file
    cannot be read or names an unknown task kind: a worker does not start on it."""
    source = path or config.ProcessFileSettings.read().process_config
    if not source:
        return ProcessSettings()
    try:
        data = json.loads(Path(source).read_text())
    except (OSError, UnicodeDecodeError, ValueError) as err:
        raise ProcessConfigError(f"process configuration {source}: cannot be read as JSON ({err})") from None
    try:
        return ProcessSettings.model_validate(data)
    except ValidationError as err:
        problems = "; ".join(refusals.problems(err, whole="the file"))
        raise ProcessConfigError(f"process configuration {source}: {problems}") from None
