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

DEFAULT_DEADLINES_DAYS: dict[str, int] = {
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
    "overdue_review": 5,
}


class ProcessSettings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    deadline_days: dict[str, int] = Field(default_factory=lambda: dict(DEFAULT_DEADLINES_DAYS))
    #: After a missed deadline, a reminder (another escalation) every so often, at most this many.
    reminder_interval_days: int = Field(default=7, ge=1)
    max_escalations: int = Field(default=3, ge=1, le=20)
    most_serious_categories: frozenset[str] = frozenset(
        {"homicide", "sexual", "terrorism", "kidnapping", "trafficking", "firearms"}
    )
    eea_countries: frozenset[str] = EEA_2016
    #: A dormant case continues as new after this many history events (R16).
    dormant_history_limit: int = Field(default=2000, ge=100)

    def deadline(self, kind: str) -> timedelta:
        return timedelta(days=self.deadline_days.get(kind, 10))


def load_process_settings(path: str | os.PathLike[str] | None = None) -> ProcessSettings:
    """Defaults, overridden by the JSON file at ``path`` or ``$CASEWORK_PROCESS_CONFIG``."""
    source = path or os.environ.get("CASEWORK_PROCESS_CONFIG")
    if not source:
        return ProcessSettings()
    return ProcessSettings.model_validate(json.loads(Path(source).read_text()))
