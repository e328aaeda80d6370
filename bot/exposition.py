"""``/metrics``: the bot in Prometheus text, every name ``normwacht_*``.

What the database knows (the outbox per platform and state, what waits and why, who holds
which lease) is read at each scrape, so every instance on one database reports the same
and a restart loses nothing; what only a process sees is counted in ``bot.metrics``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime

from prometheus_client import REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from bot.config import Config
from bot.outbox.waiting import NEXT_ROUND, QUIET_HOURS, waiting
from bot.runtime.health import Health
from bot.runtime.http import Metrics
from bot.store import Store
from bot.store.leases import Leases
from bot.store.outbox import EARLIER_MESSAGE, PLATFORM_DOWN, RATE_LIMIT, RETRY

log = logging.getLogger(__name__)

# Why a message waits, as /metrics and ``sent --json`` say it (``bot.outbox.worker.waiting``).
# The states a message passes through (the outbox table's CHECK), in that order.
OUTBOX_STATES = ("pending", "sending", "sent", "failed", "dead")
WAITING_REASONS = (
    NEXT_ROUND,
    QUIET_HOURS,
    EARLIER_MESSAGE,
    RETRY,
    RATE_LIMIT,
    PLATFORM_DOWN,
    "sending",
)


class _Families(Collector):
    """Metric families made beforehand (read from the database), handed out as they are."""

    def __init__(self, families: list[Metric]) -> None:
        self.families = families

    def collect(self) -> Iterable[Metric]:
        return self.families


async def database_families(
    store: Store,
    config: Config,
    now: datetime,
    is_up: Callable[[str], bool],
    platforms: Sequence[str] = (),
) -> list[Metric]:
    """The gauges the database answers: the outbox per platform and state, what waits and
    why, the lease holders and the living instances; ``normwacht_database_up`` says
    whether it answered (without it, the other gauges are left out, not made zero).
    Every platform in ``platforms`` (those this bot serves) has each state's and each
    reason's series, 0 while the outbox holds none of its messages."""
    up = GaugeMetricFamily(
        "normwacht_database_up", "Whether the database answered this scrape (1) or not (0)"
    )
    try:
        counts = await store.outbox.state_counts()
        unsent = await store.outbox.unsent()
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
    # A series that vanishes cannot be told from one that was never scraped: every
    # platform served has every state, 0 where none is in it.
    by_state = {(platform, state): n for platform, state, n in counts}
    served = sorted(set(platforms) | {p for p, _ in by_state})
    states = [*OUTBOX_STATES, *sorted({s for _, s in by_state} - set(OUTBOX_STATES))]
    for platform in served:
        for state in states:
            messages.add_metric([platform, state], by_state.get((platform, state), 0))
    waiting_messages = GaugeMetricFamily(
        "normwacht_outbox_waiting_messages",
        "Messages not sent yet per platform, by what they wait for (as sent --json says)",
        labels=["platform", "reason"],
    )
    reasons: dict[tuple[str, str], int] = {}
    for platform, urgent, state, next_attempt_at, stored in unsent:
        _, why = waiting(
            platform=platform,
            urgent=urgent,
            state=state,
            next_attempt_at=next_attempt_at,
            reason=stored,
            now=now,
            config=config,
        )
        if state != "sending" and not is_up(platform):
            why = PLATFORM_DOWN  # known here before any send has met the outage
        key = (platform, why or NEXT_ROUND)
        reasons[key] = reasons.get(key, 0) + 1
    # Every reason of a platform with messages waiting, 0 where none waits for it: a
    # series that vanishes cannot be told from one that was never scraped.
    known = [*WAITING_REASONS, *sorted({r for _, r in reasons} - set(WAITING_REASONS))]
    for platform in sorted(set(platforms) | {p for p, _ in reasons}):
        for reason in known:
            waiting_messages.add_metric([platform, reason], reasons.get((platform, reason), 0))
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
    return [up, messages, waiting_messages, lease, instances]


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
        families = await database_families(
            store, config, health.clock(), health.is_up, health.platforms()
        )
        return exposition(families + part_families(health.states()))

    return scrape
