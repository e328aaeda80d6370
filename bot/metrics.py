"""What only a process sees, counted for ``/metrics``: sends, 429s, bol.com requests,
durations. What the database knows is read at each scrape (``bot.exposition``).

This module imports nothing of the project, so that any module may count here."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

MESSAGES_PLANNED = Counter(
    "normwacht_messages_planned", "Messages planned into the outbox by this process", ["kind"]
)
MESSAGES_SENT = Counter("normwacht_messages_sent", "Messages this process delivered", ["platform"])
MESSAGES_FAILED = Counter(
    "normwacht_messages_failed",
    "Delivery attempts of this process that failed and will be retried",
    ["platform"],
)
MESSAGES_DEAD = Counter(
    "normwacht_messages_dead",
    "Messages this process gave up on (refused, or too many attempts)",
    ["platform"],
)
RATE_LIMITED = Counter(
    "normwacht_rate_limited",
    "HTTP 429 answers this process got, per service (telegram, slack, bol)",
    ["service"],
)
POLL_REQUESTS = Counter("normwacht_poll_requests", "Requests this process sent to bol.com's API")
POLL_ERRORS = Counter(
    "normwacht_poll_errors",
    "bol.com requests that failed: no answer, a timeout, or a 5xx",
    ["problem"],
)
POLL_FAILURES = Counter(
    "normwacht_poll_failures", "Sellers whose poll failed, per reason", ["reason"]
)
CHECK_SECONDS = Histogram(
    "normwacht_check_duration_seconds",
    "How long a weekly check (or recheck) of a week took",
    buckets=(0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600),
)
POLL_SECONDS = Histogram(
    "normwacht_poll_duration_seconds",
    "How long a poll of a week from bol.com took",
    buckets=(1, 5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600),
)
