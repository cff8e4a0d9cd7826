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

from pydantic import BaseModel, ConfigDict, Field

# process.md, "Who is an EEA national": EU member states of 2016, Iceland, Liechtenstein,
# Norway, and Switzerland (treated as EEA by the Immigration (EEA) Regulations 2006).
# The UK itself is excluded: a British referral is refused at intake.
EEA_2016 = frozenset(
    "AT BE BG HR CY CZ DK EE FI FR DE GR HU IE IT LV LT LU MT NL PL PT RO SK SI ES SE"
    " IS LI NO CH".split()
)

DEFAULT_DEADLINES_DAYS: dict[str, float] = {
    "await_certificate": 90,
    "nbtc_check": 5,
    "exclusion_consideration": 20,
    "ice_tasking": 28,
    "allocate_case_owner": 5,
    "offending_history_check": 10,
    "police_contact": 10,
    "prosecution_decision": 10,
    "prosecution_outcome": 180,
    "detention_decision": 5,
    "pursuit_decision": 20,
    "consideration_decision": 28,
    "deportation_enforcement": 90,
    "director_decision": 20,
    "removals_consideration": 20,
    "left_uk_review": 10,
    "overdue_review": 5,
}


class ResponseWindowDays(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    long: float = Field(default=20, gt=0)  # R42
    short: float = Field(default=10, gt=0)  # R43


class ProcessSettings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    #: Days per task kind; fractional days are allowed (a test may use a few seconds).
    deadline_days: dict[str, float] = Field(default_factory=lambda: dict(DEFAULT_DEADLINES_DAYS))
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

    def deadline(self, kind: str) -> timedelta:
        return timedelta(days=self.deadline_days.get(kind, 10))

    def response_windows(self) -> tuple[timedelta, timedelta]:
        """(long, short): R42's window for a prison sentence with time left, R43's otherwise."""
        return timedelta(days=self.response_window_days.long), timedelta(days=self.response_window_days.short)


def load_process_settings(path: str | os.PathLike[str] | None = None) -> ProcessSettings:
    """Defaults, overridden by the JSON file at ``path`` or ``$CASEWORK_PROCESS_CONFIG``."""
    source = path or os.environ.get("CASEWORK_PROCESS_CONFIG")
    if not source:
        return ProcessSettings()
    return ProcessSettings.model_validate(json.loads(Path(source).read_text()))
