"""Doing the owed work that changes recorded (``bot.store.owed``): rechecks and checks.

Whoever made a change does its work right after (the CLI command, the chat upload, the
poll); ``normwacht run`` does, on start and then every ``OWED_POLL_S``, whatever a
killed process left behind. One process at a time works (``Store.owed_lock``); a
change's rows are deleted only after its last planning transaction, so a crash midway
leaves the change to be done again (a recheck from the first week not yet done: each
week's progress is recorded), and the outbox's dedup keys keep that from planning
anything twice.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime

from bot.clock import Clock
from bot.config import Config
from bot.notices.admins import admin_chats
from bot.notices.check import CheckOutcome, recheck_sellers, run_check
from bot.runtime.logs import FailingRounds
from bot.store import Owed, Store
from bot.store.owed import CHECK
from messages import Cause
from messages.model import CauseKind
from norms import IsoWeek, WeekReport

log = logging.getLogger(__name__)

# How often ``normwacht run`` looks for work a killed process left behind.
OWED_POLL_S = 30.0
# The reason of a check owed as a week's figures arrive (``check_as_figures_arrive``).
ARRIVED = "figures arrived"


async def complete_owed_work(store: Store, config: Config, *, now: datetime) -> int:
    """Do all owed work, oldest change first; returns the messages planned."""
    async with store.owed_lock:
        return await _complete(store, config, now)


async def check_week(
    store: Store,
    config: Config,
    week: IsoWeek,
    *,
    now: datetime,
    seller_ids: list[str] | None = None,
    on_report: Callable[[WeekReport], None] | None = None,
) -> CheckOutcome:
    """The weekly check of ``week`` as owed work: recorded before it starts, cleared when
    its last message is planned (a check killed midway is finished by the next process);
    then any other owed work."""
    change = await store.owed.owe(CHECK, week, seller_ids, "check", now)
    async with store.owed_lock:
        outcome = await run_check(
            store,
            config.policy,
            week,
            now=now,
            seller_ids=seller_ids,
            admin_chats=await admin_chats(store, config, now),
            on_report=on_report,
            timezone=config.timezone,
        )
        await store.owed.clear(change)
        outcome.planned += await _complete(store, config, now)
    return outcome


async def check_as_figures_arrive(
    store: Store,
    config: Config,
    week: IsoWeek,
    seller_ids: list[str],
    arrive: Callable[[], Awaitable[object]] | None = None,
    *,
    now: datetime,
) -> int:
    """Check ``week`` for those of ``seller_ids`` whose figures of the week are in once
    ``arrive`` (an import of them) is done. Owed before ``arrive`` starts and done right
    after it, with whatever else is owed (the import's rechecks): a process killed at any
    point leaves it to the next, which checks whose week is in by then. The others wait for
    the weekly check or a later poll. Returns the messages planned."""
    async with store.owed_lock:
        await store.owed.owe(CHECK, week, seller_ids, ARRIVED, now)
        if arrive is not None:
            await arrive()
        return await _complete(store, config, now)


async def _complete(store: Store, config: Config, now: datetime) -> int:
    planned = 0
    for change in await store.owed.pending():
        planned += await _do(store, config, change, now)
        await store.owed.clear(change[0].change)
    return planned


async def _do(store: Store, config: Config, rows: list[Owed], now: datetime) -> int:
    if rows[0].task == CHECK:
        everyone = any(r.seller_id is None for r in rows)
        sellers = sorted({r.seller_id for r in rows if r.seller_id is not None})
        if rows[0].reason == ARRIVED:
            # Only whose week is in: a seller whose figures did not come is told the week
            # is missing by the weekly check, not by the check of those that did.
            sellers = sorted(await store.data.week_sources(sellers, rows[0].week))
            if not sellers:
                return 0
        outcome = await run_check(
            store,
            config.policy,
            rows[0].week,
            now=now,
            seller_ids=None if everyone else sellers,
            admin_chats=await admin_chats(store, config, now),
            timezone=config.timezone,
        )
        return outcome.planned
    earliest: dict[str | None, IsoWeek] = {}
    causes: dict[str | None, Cause] = {}
    for r in rows:
        earliest[r.seller_id] = min(r.week, earliest.get(r.seller_id, r.week))
        if (cause := cause_of(r)) is not None:
            causes[r.seller_id] = cause

    async def week_done(week: IsoWeek) -> None:
        await store.owed.advance(rows[0].change, week.shift(1))

    return await recheck_sellers(
        store,
        config.policy,
        earliest,
        now=now,
        week_done=week_done,
        causes=causes,
        admin_chats=await admin_chats(store, config, now),
        timezone=config.timezone,
    )


_CAUSE_KINDS: dict[str, CauseKind] = {
    "exemption": "exemption",
    "exemption removed": "exemption_removed",
    "plan": "plan",
    "reopen": "reopen",
}


def cause_of(row: Owed) -> Cause | None:
    """What a correction planned by this owed work names as its cause."""
    since = row.since or row.week
    kind, _, source = row.reason.partition(":")
    if kind == "import":
        return Cause("figures", since, source or None)
    if row.reason in _CAUSE_KINDS:
        return Cause(_CAUSE_KINDS[row.reason], since)
    return None


async def run_owed_worker(
    store: Store,
    config: Config,
    clock: Clock,
    stop: asyncio.Event,
    planned: Callable[[], None],
    *,
    interval_s: float = OWED_POLL_S,
    wakeup: asyncio.Event | None = None,
) -> None:
    """``normwacht run``'s worker: owed work on start, then whenever some appears, and
    at once when ``wakeup`` is set (the database is back after an outage)."""
    rounds = FailingRounds(log, "owed work")
    wakeup = wakeup or asyncio.Event()
    while not stop.is_set():
        wakeup.clear()
        try:
            if await store.owed.any() and await complete_owed_work(store, config, now=clock()):
                planned()
            rounds.succeeded()
        except Exception:
            # The rows stay: the next round tries again.
            rounds.failed()
        waits = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(wakeup.wait())]
        await asyncio.wait(waits, timeout=interval_s, return_when=asyncio.FIRST_COMPLETED)
        for w in waits:
            w.cancel()
