"""The Wednesday run: bol.com's final week comes in, and each seller whose week is in is
checked at once, so that the first warnings go out while other sellers are still polled.

The scheduler's poll job runs it (Wednesday 06:00, then hourly for the sellers bol.com did
not answer). Sellers whose figures come by upload are checked at its start; polled ones a
batch at a time, right after their import. Every such check is owed work
(``check_as_figures_arrive``): recorded before it starts, done right after, and finished by
the next process if this one dies; dedup keys make doing it again harmless. The check job
at 09:00 stays as the sweep: it checks whoever the run could not (figures missing, bol.com
down) and plans nothing new for the sellers already checked.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime

from bot.bol.api import Limiters, RequestBudget
from bot.bol.poll import TRANSIENT_REASONS, PollSummary, poll_week
from bot.config import Config
from bot.notices.owed_work import check_as_figures_arrive
from bot.store import Store
from norms import IsoWeek

log = logging.getLogger(__name__)

# Uploading sellers checked per owed change: the first warnings go out before the last of
# many such sellers is checked, and the poll's batches wait briefly for the owed work's lock.
UPLOADED_BATCH = 500
# Sellers per query when asking whose week is in.
_IDS_PER_QUERY = 5000

Planned = Callable[[], None]


async def wednesday_run(
    store: Store,
    config: Config,
    week: IsoWeek,
    *,
    now: datetime,
    seller_ids: list[str] | None = None,
    planned: Planned = lambda: None,
    pacing: RequestBudget | None = None,
    limiters: Limiters | None = None,
) -> PollSummary:
    """Poll ``week`` for the connected sellers (all, or ``seller_ids`` again) and check
    each batch as it is imported; on the week's first run (``seller_ids`` None) the sellers
    not polled whose week is in are checked meanwhile. ``planned`` hears of every batch
    that planned messages (delivery starts with the first)."""

    async def check(sellers: list[str], arrive: Callable[[], Awaitable[object]] | None) -> int:
        count = await check_as_figures_arrive(store, config, week, sellers, arrive, now=now)
        if count:
            planned()
        return count

    async def uploaded() -> int:
        sellers = await uploaded_sellers(store, week)
        total = 0
        for start in range(0, len(sellers), UPLOADED_BATCH):
            total += await check(sellers[start : start + UPLOADED_BATCH], None)
        if sellers:
            log.info("%s: checked %d seller(s) whose figures came by upload", week, len(sellers))
        return total

    try:
        async with asyncio.TaskGroup() as group:
            first = group.create_task(uploaded()) if seller_ids is None else None
            summary = await poll_week(
                store,
                config,
                week,
                now=now,
                seller_ids=seller_ids,
                pacing=pacing,
                limiters=limiters,
                around_import=check,
            )
    except ExceptionGroup as failed:
        # The first cause as itself: a database outage is waited out by the job's caller.
        raise failed.exceptions[0] from None
    if first is not None:
        summary.planned += first.result()
    return summary


async def uploaded_sellers(store: Store, week: IsoWeek) -> list[str]:
    """The sellers a poll leaves out (no credentials, or bol.com refused them) whose
    figures of ``week`` are in."""
    polled = set(await store.sellers.with_credentials()) - await store.sellers.refused_credentials()
    others = [s.id for s in await store.sellers.all() if s.id not in polled]
    found: list[str] = []
    for start in range(0, len(others), _IDS_PER_QUERY):
        found += await store.data.week_sources(others[start : start + _IDS_PER_QUERY], week)
    return sorted(found)


def wednesday_poller(
    store: Store,
    config: Config,
    *,
    planned: Planned = lambda: None,
    pacing: RequestBudget | None = None,
) -> Callable[[IsoWeek, datetime, list[str] | None], Awaitable[list[str]]] | None:
    """What the scheduler's poll job calls (``bot.runtime.schedule.Poller``): the
    Wednesday run; returns the sellers bol.com did not answer for a passing reason, to
    try again within the hour. None when credentials cannot be read (no bol.com: the
    weekly check at 09:00 checks everyone)."""
    if config.secret_key is None:
        return None

    async def poll(week: IsoWeek, now: datetime, seller_ids: list[str] | None) -> list[str]:
        summary = await wednesday_run(
            store, config, week, now=now, seller_ids=seller_ids, planned=planned, pacing=pacing
        )
        log.log(logging.WARNING if summary.failed else logging.INFO, "%s", summary.describe())
        return sorted(s for s, f in summary.failed.items() if f.reason in TRANSIENT_REASONS)

    return poll
