"""The weekly check: evaluate a week for every seller and plan what must be said."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from contextlib import aclosing
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.imports import ImportResult
from bot.metrics import CHECK_SECONDS
from bot.notices.bolweek import (
    WEEKS_ZONE,
    bol_weeks,
    with_bol_alerts,
)
from bot.notices.disagreement import tell_disagreements
from bot.notices.notice import Key, notice
from bot.notices.reports import week_reports
from bot.notices.week_messages import (
    add_told_elsewhere,
    nothing_new,
    plan_week_messages,
    told_once,
)
from bot.store import Chat, PlannedMessage, Seller, Store
from bot.store.jobs import CHECK
from messages import Cause, SellerRef
from norms import IsoWeek, Policy, WeekReport


@dataclass
class CheckOutcome:
    """What a check did; its reports went to ``on_report`` and were not kept."""

    planned: int
    missing: list[str]


def seller_ref(seller: Seller) -> SellerRef:
    return SellerRef(seller.id, seller.name)


# Sellers evaluated per round: bounds memory for 50,000 sellers and keeps each planning
# transaction short.
CHUNK = 2000


async def run_check(
    store: Store,
    policy: Policy,
    week: IsoWeek,
    *,
    now: datetime,
    seller_ids: list[str] | None = None,
    dry_run: bool = False,
    admin_chats: list[Chat] | None = None,
    on_report: Callable[[WeekReport], None] | None = None,
    causes: Mapping[str | None, Cause] | None = None,
    timezone: ZoneInfo = WEEKS_ZONE,
) -> CheckOutcome:
    """Evaluate ``week`` and (unless ``dry_run``) plan its alerts; planning is idempotent.

    Each report is handed to ``on_report`` as soon as it is made, and not kept; its
    ``alerts`` are those the week plans, bol.com's own among them (``with_bol_alerts``).
    ``causes`` says, per seller (None: every seller), what changed since the week was
    told: the corrections name it. bol.com's news is read from the snapshots of ``week``
    fetched no later than ``now`` (``bolweek``; weeks in ``timezone``), and a strike count
    that differs from our derivation is told to ``admin_chats``.
    """
    # Timed from the lock on: a check waiting for another is slow as the operator sees it.
    with CHECK_SECONDS.time():
        async with store.check_lock:  # two checks at once could both plan the same alert
            return await _run_check(
                store,
                policy,
                week,
                now,
                seller_ids,
                dry_run,
                admin_chats,
                on_report,
                causes or {},
                timezone,
            )


async def _run_check(
    store: Store,
    policy: Policy,
    week: IsoWeek,
    now: datetime,
    seller_ids: list[str] | None,
    dry_run: bool,
    admin_chats: list[Chat] | None,
    on_report: Callable[[WeekReport], None] | None,
    causes: Mapping[str | None, Cause],
    timezone: ZoneInfo,
) -> CheckOutcome:
    sellers = await (store.sellers.some(seller_ids) if seller_ids else store.sellers.all())
    destinations = {} if dry_run else await store.chats.destinations([s.id for s in sellers])
    outcome = CheckOutcome(0, [])
    for start in range(0, len(sellers), CHUNK):
        chunk = sellers[start : start + CHUNK]
        planned: list[PlannedMessage] = []
        linked = [s.id for s in chunk if s.id in destinations]
        bol = await bol_weeks(
            store, policy, [s.id for s in chunk], week, now=now, timezone=timezone
        )
        already = await store.outbox.planned_sections(linked, str(week))
        add_told_elsewhere(already, await told_once(store, linked, bol))
        by_id = {s.id: s for s in chunk}
        if on_report is None:
            # Nobody wants the reports: a seller whose week's alerts are stored with its
            # state, all already planned and none withdrawn, has nothing new to plan.
            known = await store.states.alerts_of(list(by_id), policy, week)
            for sid, said in known.items():
                followers = destinations.get(sid, [])
                if nothing_new(said, followers, already.get(sid, {}), bol.get(sid)):
                    del by_id[sid]
                    if said.missing:
                        outcome.missing.append(sid)
        # Read for the sellers whose week is reported: none when nothing is new.
        linked = [sid for sid in linked if sid in by_id]
        corrections = await store.outbox.corrections(linked, str(week))
        sources = await store.data.week_sources(linked, week)
        # Reports come in order of seller id; named sellers are reported in the order named.
        in_order = [s.id for s in chunk if s.id in by_id] == sorted(by_id)
        held: dict[str, WeekReport] = {}
        # Closed at once however the loop ends (``on_report`` may raise: a closed pipe).
        async with aclosing(week_reports(store, policy, week, list(by_id))) as stream:
            async for report in stream:
                seller = by_id[report.seller_id]
                if not report.has_data and report.track is not None:
                    outcome.missing.append(seller.id)  # had data before, none this week
                if chats := destinations.get(seller.id):
                    planned += plan_week_messages(
                        seller,
                        report,
                        chats,
                        already.get(seller.id, {}),
                        corrections.get(seller.id, {}),
                        sources.get(seller.id) or "upload",
                        causes.get(seller.id) or causes.get(None),
                        bol=bol.get(seller.id),
                    )
                if on_report is not None and in_order:
                    on_report(with_bol_alerts(report, bol.get(seller.id)))
                elif on_report is not None:
                    held[seller.id] = with_bol_alerts(report, bol.get(seller.id))
                # The loop serves others between sellers: a check of thousands, run while
                # sellers are polled and warnings sent, must not hold up their pacing.
                await asyncio.sleep(0)
        for seller in chunk:
            if on_report is not None and seller.id in held:
                on_report(held.pop(seller.id))
        outcome.planned += await store.outbox.plan(planned, now)
        if not dry_run and admin_chats:
            outcome.planned += await tell_disagreements(
                store, policy, bol, {s.id: s for s in chunk}, admin_chats, now
            )
    order = {s.id: i for i, s in enumerate(sellers)}
    outcome.missing.sort(key=order.__getitem__)
    if dry_run:
        return outcome
    names = {s.id: s for s in sellers}
    outcome.planned += await tell_figures_missing(
        store, week, [names[s] for s in outcome.missing], destinations, now
    )
    if outcome.missing and admin_chats:
        refs = [seller_ref(names[s]) for s in outcome.missing]
        told = await store.outbox.planned_keys(
            [Key.data_missing(week, chat.id) for chat in admin_chats]
        )
        outcome.planned += await store.outbox.plan(
            [
                notice(
                    chat,
                    "data_missing",
                    {"week": week, "sellers": refs},
                    key=Key.data_missing(week, chat.id),
                    week=week,
                )
                for chat in admin_chats
                if Key.data_missing(week, chat.id) not in told
            ],
            now,
        )
    if seller_ids is None:
        await store.jobs.mark(CHECK, str(week), now)
    return outcome


async def tell_figures_missing(
    store: Store,
    week: IsoWeek,
    missing: list[Seller],
    destinations: dict[str, list[Chat]],
    now: datetime,
) -> int:
    """Sellers whose week has no figures though earlier weeks had: each chat that follows
    one is told, once a week, that the week is missing and how to send it, so that older
    figures never pass for current ones. Muted chats are not told (a notice)."""
    planned = 0
    for start in range(0, len(missing), CHUNK):
        wanted = {
            Key.figures_missing(seller.id, week, chat.id): (seller, chat)
            for seller in missing[start : start + CHUNK]
            for chat in destinations.get(seller.id, [])
            if not chat.muted
        }
        told = await store.outbox.planned_keys(list(wanted))
        planned += await store.outbox.plan(
            [
                notice(
                    chat,
                    "figures_missing",
                    {"week": week, "seller": seller_ref(seller)},
                    key=key,
                    seller_id=seller.id,
                    week=week,
                )
                for key, (seller, chat) in wanted.items()
                if key not in told
            ],
            now,
        )
    return planned


async def checked_weeks(store: Store) -> list[IsoWeek]:
    """The weeks the weekly check has run for, oldest first."""
    return sorted(IsoWeek.parse(key) for key in await store.jobs.keys(CHECK))


async def recheck_after_import(
    store: Store, policy: Policy, result: ImportResult, *, now: datetime, source: str = "upload"
) -> int:
    """Check again, for each imported seller, every checked week from its earliest
    imported week on."""
    earliest: dict[str | None, IsoWeek] = {}
    for seller_id, week in result.weeks:
        earliest[seller_id] = min(week, earliest.get(seller_id, week))
    causes = {s: Cause("figures", week, source) for s, week in earliest.items()}
    return await recheck_sellers(store, policy, earliest, now=now, causes=causes)


async def recheck_sellers(
    store: Store,
    policy: Policy,
    earliest: dict[str | None, IsoWeek],
    *,
    now: datetime,
    week_done: Callable[[IsoWeek], Awaitable[None]] | None = None,
    causes: Mapping[str | None, Cause] | None = None,
    admin_chats: list[Chat] | None = None,
    timezone: ZoneInfo = WEEKS_ZONE,
) -> int:
    """Data, exemptions, track events or bol.com's verdict changed from each seller's
    ``earliest`` week on (the key None: every seller): check every week already checked
    from there again, oldest first, so that a new alert goes out, one that no longer holds
    is corrected, and a later week's changed step is told too. ``week_done`` hears of each
    week once it is planned, so that the progress can be recorded and a crash resumes
    after it. ``causes``: what changed, per seller (None: every seller), for the
    corrections to name; ``admin_chats`` hear of strike counts that differ."""
    planned = 0
    for week in await checked_weeks(store):
        due = [s for s, since in earliest.items() if since <= week]
        if not due:
            continue
        seller_ids = None if None in due else sorted(s for s in due if s is not None)
        checked = await run_check(
            store,
            policy,
            week,
            now=now,
            seller_ids=seller_ids,
            causes=causes,
            admin_chats=admin_chats,
            timezone=timezone,
        )
        planned += checked.planned
        if week_done is not None:
            await week_done(week)
    return planned


__all__ = [
    "CHUNK",
    "CheckOutcome",
    "checked_weeks",
    "nothing_new",
    "plan_week_messages",
    "recheck_after_import",
    "recheck_sellers",
    "run_check",
    "seller_ref",
    "tell_figures_missing",
]
