"""Retention: sent messages are kept ``NORMWACHT_KEEP_DAYS`` (400 by default: a year of
audit and some), then deleted by a daily job, so that the outbox does not grow forever.

What may be deleted, and why nothing is told twice after it: see ``Outbox.prune_sent``.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from bot.config import Config
from bot.store import Store
from norms import IsoWeek

log = logging.getLogger(__name__)


def retention_horizon(config: Config, now: datetime) -> tuple[datetime, IsoWeek]:
    """Sent before this moment, about this week or an earlier one: old enough to delete."""
    cutoff = now - timedelta(days=config.keep_days)
    return cutoff, IsoWeek.containing(cutoff, config.timezone).shift(-1)


async def prune_outbox(store: Store, config: Config, now: datetime) -> int:
    """Delete the sent messages older than ``NORMWACHT_KEEP_DAYS``; returns how many."""
    cutoff, through = retention_horizon(config, now)
    deleted = await store.outbox.prune_sent(cutoff, str(through), now)
    if deleted:
        log.info(
            "retention: deleted %d message(s) sent before %s (NORMWACHT_KEEP_DAYS=%d)",
            deleted,
            cutoff.astimezone(config.timezone).date().isoformat(),
            config.keep_days,
        )
    return deleted
