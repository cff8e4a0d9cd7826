"""Metrics: the SDK's own (task latencies, slots, polls) and ours, on one Prometheus endpoint.

Our counters are created through the SDK's metric meter, so they share the endpoint and
are suppressed during replay. Labels are stage, team kind or task kind only: never
anything personal, never an ID that names a person.
"""

from __future__ import annotations

from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig

CASES_STARTED = "casework_cases_started"
STAGE_TRANSITIONS = "casework_stage_transitions"
TASKS_OPENED = "casework_tasks_opened"
TASKS_ESCALATED = "casework_tasks_escalated"
CASES_CLOSED = "casework_cases_closed"


def prometheus_runtime(bind_address: str) -> Runtime:
    """A Temporal runtime that serves Prometheus metrics on ``bind_address`` (host:port)."""
    return Runtime(telemetry=TelemetryConfig(metrics=PrometheusConfig(bind_address=bind_address)))
