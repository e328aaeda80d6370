"""Week reports from the cached fold state and the windows the rules read.

Every path that evaluates a seller's week (the weekly check, rechecks, ``/score``,
``/status``, ``/history``, digests) comes here: it reads the stored state of the week
before, folds the weeks in between (none in the steady state), and evaluates from
there, so the cost of a report does not grow with the weeks of history.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence

from bot.store import Store
from bot.store.states import KEEP_WEEKS, decode
from norms import IsoWeek, Policy, WeekReport
from norms.carry import SellerCarry, carry_week, reads_from
from norms.report import evaluate_next


async def seller_reports(
    store: Store, policy: Policy, first: IsoWeek, last: IsoWeek, seller_ids: Sequence[str]
) -> AsyncIterator[tuple[str, list[WeekReport]]]:
    """Per seller (in sorted order), the reports of the weeks ``first`` … ``last``; the
    states folded on the way are stored for the next time."""
    epoch = await store.states.epoch()
    stored = await store.states.latest_before(seller_ids, policy, first)
    newest = await store.states.newest_weeks(seller_ids, policy, last)
    since = {sid: reads_from(policy, first, week.shift(1)) for sid, (week, _) in stored.items()}
    keep_from = last.shift(-KEEP_WEEKS)
    folded: list[tuple[str, SellerCarry]] = []
    async for history in store.data.windows(seller_ids, last, since, first):
        sid = history.seller_id
        carry = decode(stored[sid][1], history.plan_events) if sid in stored else None
        known = newest.get(sid)

        def keep(c: SellerCarry | None, sid: str = sid, known: IsoWeek | None = known) -> None:
            if c is not None and c.week >= keep_from and (known is None or c.week > known):
                folded.append((sid, c))

        start = carry.week.shift(1) if carry is not None else history.first_week
        if start is not None:
            for week in start.until(first.shift(-1)):
                carry = carry_week(policy, carry, history, week)
                keep(carry)
        reports: list[WeekReport] = []
        for week in first.until(last):
            report, carry = evaluate_next(policy, carry, history, week)
            keep(carry)
            reports.append(report)
        yield sid, reports
    await store.states.save(policy, folded, epoch=epoch, newest=last)


async def week_reports(
    store: Store, policy: Policy, week: IsoWeek, seller_ids: Sequence[str]
) -> AsyncIterator[WeekReport]:
    """Each seller's report of ``week``, in sorted order of seller id."""
    async for _, reports in seller_reports(store, policy, week, week, seller_ids):
        yield reports[0]


async def report_of(
    store: Store, policy: Policy, seller_id: str, week: IsoWeek
) -> WeekReport | None:
    """One seller's report of ``week``."""
    reports = [r async for r in week_reports(store, policy, week, [seller_id])]
    return reports[0] if reports else None


__all__ = ["report_of", "seller_reports", "week_reports"]
