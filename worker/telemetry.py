"""Metrics: the SDK's own (task latencies, slots, polls) and ours, on one Prometheus endpoint.

Our counters (names in ``casework.metrics``) are made through the SDK's metric meter in
the workflow, so they share the endpoint and are not counted again during replay.
"""

from __future__ import annotations

from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig


def prometheus_runtime(bind_address: str) -> Runtime:
    """A Temporal runtime that serves Prometheus metrics on ``bind_address`` (host:port)."""
    return Runtime(telemetry=TelemetryConfig(metrics=PrometheusConfig(bind_address=bind_address)))
