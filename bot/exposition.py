"""``/metrics``: the bot in Prometheus text, every name ``normwacht_*``.

What the database knows (the outbox per platform and state, what waits and why, who holds
which lease) is read at each scrape, so every instance on one database reports the same
and a restart loses nothing; what only a process sees is counted in ``bot.metrics``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from datetime import datetime

from prometheus_client import REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from bot.config import Config
from bot.health import Health
from bot.http import Metrics
from bot.store import Store
from bot.store.leases import Leases

log = logging.getLogger(__name__)

# Why a message waits, as /metrics says it (``normwacht_outbox_waiting_messages``).
WAITING_REASONS = ("due", "quiet hours", "held", "retry", "platform down")


class _Families(Collector):
    """Metric families made beforehand (read from the database), handed out as they are."""

    def __init__(self, families: list[Metric]) -> None:
        self.families = families

    def collect(self) -> Iterable[Metric]:
        return self.families


async def database_families(
    store: Store, config: Config, now: datetime, is_up: Callable[[str], bool]
) -> list[Metric]:
    """The gauges the database answers: the outbox per platform and state, what waits and
    why, the lease holders and the living instances; ``normwacht_database_up`` says
    whether it answered (without it, the other gauges are left out, not made zero)."""
    up = GaugeMetricFamily(
        "normwacht_database_up", "Whether the database answered this scrape (1) or not (0)"
    )
    try:
        counts = await store.outbox.state_counts(now)
        leases = Leases(store.db)
        holders = await leases.holders()
        alive = await leases.alive(config.lease_s)
    except Exception as exc:  # a scrape must answer, and say the database is down
        log.warning("metrics: the database did not answer: %s", type(exc).__name__)
        up.add_metric([], 0)
        return [up]
    up.add_metric([], 1)
    messages = GaugeMetricFamily(
        "normwacht_outbox_messages",
        "Messages in the outbox per platform and state (pending, sending, sent, failed, dead)",
        labels=["platform", "state"],
    )
    waiting = GaugeMetricFamily(
        "normwacht_outbox_waiting_messages",
        "Messages still to send per platform, by why they wait: due (now), quiet hours, "
        "held (behind a chat's earlier message), retry (after a failure), platform down",
        labels=["platform", "reason"],
    )
    totals: dict[tuple[str, str], int] = {}
    reasons: dict[tuple[str, str], int] = {}
    local = now.astimezone(config.timezone).time().replace(tzinfo=None)
    quiet = config.quiet_hours is not None and config.quiet_hours.contains(local)
    for platform, state, due, n in counts:
        totals[platform, state] = totals.get((platform, state), 0) + n
        if state not in ("pending", "failed"):
            continue
        if not is_up(platform):
            reason = "platform down"
        elif state == "failed":
            reason = "retry"
        elif due:
            reason = "due"
        else:
            reason = "quiet hours" if quiet and platform != "console" else "held"
        reasons[platform, reason] = reasons.get((platform, reason), 0) + n
    for (platform, state), n in sorted(totals.items()):
        messages.add_metric([platform, state], n)
    platforms = sorted({p for p, _ in totals} | {p for p, _ in reasons})
    for platform in platforms:
        if not any(p == platform and s in ("pending", "failed") for p, s in totals):
            continue
        for reason in WAITING_REASONS:
            waiting.add_metric([platform, reason], reasons.get((platform, reason), 0))
    lease = GaugeMetricFamily(
        "normwacht_lease_holder",
        "1 for each lease (scheduler, telegram-polling) and the instance that holds it",
        labels=["lease", "instance"],
    )
    for name, holder in sorted(holders.items()):
        lease.add_metric([name, holder], 1)
    instances = GaugeMetricFamily(
        "normwacht_instances", "normwacht processes on this database that renewed their life"
    )
    instances.add_metric([], len(alive))
    return [up, messages, waiting, lease, instances]


def part_families(states: dict[str, str]) -> list[Metric]:
    """``normwacht_up``: each chat platform and part of the bot as ``/healthz`` sees it."""
    family = GaugeMetricFamily(
        "normwacht_up", "Whether each part of the bot is up (1) or down (0)", labels=["part"]
    )
    for part, state in sorted(states.items()):
        family.add_metric([part], 1 if state == "up" else 0)
    return [family]


def exposition(families: list[Metric]) -> bytes:
    """The process's counters (and Python's own metrics) and ``families``, as Prometheus
    text."""
    scraped = CollectorRegistry(auto_describe=False)
    scraped.register(_Families(families))
    return generate_latest(REGISTRY) + generate_latest(scraped)


def metrics_source(store: Store, config: Config, health: Health) -> Metrics:
    """``/metrics`` of a running bot: its counters, the database's gauges, its parts' states."""

    async def scrape() -> bytes:
        families = await database_families(store, config, health.clock(), health.is_up)
        return exposition(families + part_families(health.states()))

    return scrape
