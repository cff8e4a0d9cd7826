"""Every refused attempt seen (issue 25, item 4): each 401, 403 and 429 the API answers -
and a refusal by the case's own check - is recorded as a security event (the CID's
``security_events``, cid/security_events.py), counted by reason in Prometheus, and
repeated refusals of one subject raise a metric worth an alert. Per-subject limits on
personal-data reads (R60) and per-address limits on token failures answer 429.

Nothing recorded carries a token, a body or personal data: the subject (a staff ID or a
system's client ID, when the token was verified), the action, the resource (a case or task
ID, a feed), the reason's code and sentence, the time and the request's ID.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from dataclasses import dataclass, field

from fastapi import Request
from prometheus_client import CollectorRegistry, Counter

from casework import config
from cid.security_events import SecurityEvent, append

log = logging.getLogger(__name__)

#: Seconds of the limits' window (the limits are per minute).
WINDOW_SECONDS = 60.0
#: The most subjects or addresses a window keeps (the oldest go first): bounded memory.
MAX_KEYS = 10_000


@dataclass(frozen=True)
class Refused:
    """What a refusal was about, for its security event (set on a ``Problem``)."""

    action: str
    resource: str
    code: str
    #: False: counted and logged, not appended (a flood's 429s would be a flood of rows).
    stored: bool = True


class SlidingWindow:
    """At most ``limit`` hits per key in the last ``seconds``. Per process (replicas each
    count their own)."""

    def __init__(self, limit: int, seconds: float = WINDOW_SECONDS) -> None:
        self.limit, self.seconds = limit, seconds
        self._hits: dict[str, deque[float]] = {}

    def _recent(self, key: str, now: float) -> deque[float]:
        hits = self._hits.pop(key, None) or deque()
        while hits and hits[0] <= now - self.seconds:
            hits.popleft()
        self._hits[key] = hits  # most recently used last
        if len(self._hits) > MAX_KEYS:
            del self._hits[next(iter(self._hits))]
        return hits

    def wait(self, key: str) -> int:
        """Seconds until ``key`` may go again; 0: now."""
        now = time.monotonic()
        hits = self._recent(key, now)
        return 0 if len(hits) < self.limit else max(1, int(hits[0] + self.seconds - now + 0.999))

    def hit(self, key: str) -> int:
        """Count a hit; how many ``key`` has in the window now."""
        now = time.monotonic()
        hits = self._recent(key, now)
        hits.append(now)
        return len(hits)


@dataclass
class Watch:
    """The app's refusal metrics and limits (one per app: ``app.state.watch``)."""

    settings: config.ApiSettings = field(default_factory=config.ApiSettings.read)
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self) -> None:
        self.refusals = Counter("casework_api_refusals", "Requests the API refused, by status and reason code",
                                ["status", "reason"], registry=self.registry)
        self.repeated = Counter("casework_api_repeated_refusals",
                                "Refusals of a subject (or address) past CASEWORK_API_REFUSALS_ALERT_PER_MINUTE: alert on any",
                                registry=self.registry)
        self.personal_data_reads = SlidingWindow(self.settings.personal_data_reads_per_minute)
        self.token_failures = SlidingWindow(self.settings.token_failures_per_minute)
        self._refusals = SlidingWindow(self.settings.refusals_alert_per_minute)

    async def record(self, request: Request, status: int, refused: Refused, reason: str) -> None:
        """Count, log and append the refusal; a CID that cannot take it is logged, never
        turned into another error for the caller."""
        principal = getattr(request.state, "principal", None)
        subject = getattr(principal, "subject", None)
        self.refusals.labels(str(status), refused.code).inc()
        who = subject or f"address {client_address(request)}"
        count, alert = self._refusals.hit(who), self._refusals.limit
        if count > alert:
            self.repeated.inc()
            if count == alert + 1:  # once as it passes, not at every refusal after
                log.warning("repeated refusals: %s passed %d in a minute", who, alert)
        request_id = getattr(request.state, "request_id", "-")
        log.info("refused %s %s: %s on %s (%s) request %s", status, subject or "-", refused.action, refused.resource,
                 refused.code, request_id)
        services = getattr(request.app.state, "services", None)
        pool = getattr(services, "pool", None)
        if pool is None or not refused.stored:
            return
        try:
            await append(pool, SecurityEvent(request_id, status, subject, refused.action, refused.resource,
                                             refused.code, reason))
        except Exception as err:  # the refusal stands; its record is what failed
            log.error("security event not recorded (%s) for request %s", type(err).__name__, request_id)


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def watch_of(request: Request) -> Watch:
    return request.app.state.watch
