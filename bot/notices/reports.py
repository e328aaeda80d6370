"""Week reports from the cached fold state and the windows the rules read.

Every path that evaluates a seller's week (the weekly check, rechecks, ``/score``,
``/status``, ``/history``, digests) comes here: it reads the stored state of the week
before, folds the weeks in between (none in the steady state), and evaluates from
there, so the cost of a report does not grow with the weeks of history.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Sequence
from contextlib import aclosing

from bot.clock import Clock
from bot.config import Config
from bot.notices.bolweek import snapshot_pairs
from bot.store import Seller, Store
from bot.store.states import KEEP_WEEKS, WeekAlerts, decode
from norms import IsoWeek, Policy, WeekReport
from norms.bol import PerformanceStatus
from norms.carry import SellerCarry, carry_week, reads_from
from norms.report import Alert, evaluate_next


async def seller_reports(
    store: Store,
    policy: Policy,
    first: IsoWeek,
    last: IsoWeek,
    seller_ids: Sequence[str],
    *,
    save: bool = True,
) -> AsyncGenerator[tuple[str, list[WeekReport]], None]:
    """Per seller (in sorted order), the reports of the weeks ``first`` … ``last``; with
    ``save`` the states folded on the way are stored for the next time. A chat's answer
    does not save: it must never wait for another writer's lock."""
    # A fold that stores says how far it goes before it reads (a chat's answer only reads).
    epoch = await store.states.epoch(reach=last if save else None)
    stored = await store.states.latest_before(seller_ids, policy, first)
    newest = await store.states.newest_weeks(seller_ids, policy, last)
    since = {sid: reads_from(policy, first, week.shift(1)) for sid, (week, _) in stored.items()}
    keep_from = last.shift(-KEEP_WEEKS)
    folded: list[tuple[str, SellerCarry, WeekAlerts | None]] = []
    async with aclosing(store.data.windows(seller_ids, last, since, first)) as histories:
        async for history in histories:
            sid = history.seller_id
            carry = decode(stored[sid][1], history.plan_events) if sid in stored else None
            known = newest.get(sid)
            start = carry.week.shift(1) if carry is not None else history.first_week
            if start is not None:
                for week in start.until(first.shift(-1)):
                    carry = carry_week(policy, carry, history, week)
                    if carry is not None and carry.week >= keep_from and _new(carry, known):
                        folded.append((sid, carry, None))
            reports: list[WeekReport] = []
            for week in first.until(last):
                report, carry = evaluate_next(policy, carry, history, week)
                reports.append(report)
                if carry is None or carry.week < keep_from:
                    continue
                if _new(carry, known) or (known == (carry.week, False)):
                    folded.append((sid, carry, week_alerts(report)))
            yield sid, reports
    if save:
        await store.states.save(policy, folded, epoch=epoch, newest=last)


def _new(carry: SellerCarry, known: tuple[IsoWeek, bool] | None) -> bool:
    return known is None or carry.week > known[0]


def section_ids(report: WeekReport) -> dict[str, Alert]:
    """The week's alert sections keyed so that a changed step counts as a new claim:
    ``warning@2`` and ``warning@3`` are different messages."""
    step = report.track.step if report.track is not None else 0
    return {(f"{a}@{step}" if a == report.track_message else a): a for a in report.alerts}


def week_alerts(report: WeekReport) -> WeekAlerts:
    """What the report says, as stored with its week's state."""
    return WeekAlerts(
        sections=dict(section_ids(report)),
        missing=not report.has_data and report.track is not None,
    )


async def week_reports(
    store: Store, policy: Policy, week: IsoWeek, seller_ids: Sequence[str]
) -> AsyncGenerator[WeekReport, None]:
    """Each seller's report of ``week``, in sorted order of seller id."""
    async with aclosing(seller_reports(store, policy, week, week, seller_ids)) as per_seller:
        async for _, reports in per_seller:
            yield reports[0]


async def report_of(
    store: Store, policy: Policy, seller_id: str, week: IsoWeek
) -> WeekReport | None:
    """One seller's report of ``week``, for a chat: read only, nothing stored."""
    reports = [
        r
        async for _, weeks in seller_reports(store, policy, week, week, [seller_id], save=False)
        for r in weeks
    ]
    return reports[0] if reports else None


# How many reports a chat's answers keep at hand (they are dropped at once when full).
REPORT_CACHE_SIZE = 2000


class Reports:
    """A seller's reports as a chat or a digest asks for them: the last complete week
    with data, the weeks before, and which weeks are still missing. Reports are derived
    data: cached until anything in the database changes."""

    def __init__(self, store: Store, config: Config, clock: Clock) -> None:
        self.store = store
        self.config = config
        self.clock = clock
        self._reports: dict[tuple[str, IsoWeek, bool, tuple[int, int]], WeekReport | None] = {}

    def last_complete_week(self) -> IsoWeek:
        return IsoWeek.containing(self.clock(), self.config.timezone).shift(-1)

    async def report_for(self, seller: Seller, week: IsoWeek | None = None) -> WeekReport | None:
        """The seller's report for ``week`` (default: the last complete week with data)."""
        limit = week or self.last_complete_week()
        key = (seller.id, limit, week is None, await self.store.db.version())
        if key in self._reports:
            return self._reports[key]
        target = week
        if target is None:
            latest = await self.store.data.last_week_with_data(seller.id)
            target = min(limit, latest) if latest is not None else None
        report = None
        if target is not None:
            report = await report_of(self.store, self.config.policy, seller.id, target)
        if len(self._reports) >= REPORT_CACHE_SIZE:
            self._reports.clear()
        self._reports[key] = report
        return report

    async def reports_for_weeks(
        self, seller: Seller, last: IsoWeek, count: int
    ) -> list[WeekReport]:
        """The seller's reports of up to ``count`` weeks ending with ``last``."""
        first = await self.store.data.first_week_with_data(seller.id) or last
        start = max(first, last.shift(1 - count))
        return [
            report
            async for _, reports in seller_reports(
                self.store, self.config.policy, start, last, [seller.id], save=False
            )
            for report in reports
        ]

    async def bol_status(
        self, seller: Seller
    ) -> tuple[PerformanceStatus, PerformanceStatus | None] | None:
        """bol.com's newest snapshot of the seller (None: none yet, so nothing is claimed),
        and the newest fetched before its week, which says what changed."""
        pairs = await snapshot_pairs(
            self.store, [seller.id], at=self.clock(), timezone=self.config.timezone
        )
        return pairs.get(seller.id)

    def missing_weeks(self, report: WeekReport) -> list[IsoWeek]:
        """The complete weeks after the report's that have no figures yet: an old week
        must never pass for the current one."""
        return report.week.shift(1).until(self.last_complete_week())


__all__ = ["Reports", "report_of", "section_ids", "seller_reports", "week_alerts", "week_reports"]
