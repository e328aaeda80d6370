"""What one seller's evaluation carries from a week to the next: the fold's state.

A week's report needs the track after the week before, a few running counts that reach
back to the seller's first week (consecutive failures, all reviews ever), and the
measurements of a short window. ``SellerCarry`` is that state; ``carry_week`` folds one
more week into it, and the full fold is those steps from the first week with data on.
"""

from __future__ import annotations

from dataclasses import dataclass

from norms.goldlabel import ITEMS_SOLD_FROM, GoldLabel
from norms.model import INDICATORS, Exemption, Indicator, Measurement, SellerHistory, Status
from norms.policy import Policy
from norms.scores import POOLED
from norms.track import TrackWeek, WeekInput, reopen_weeks, step_track
from norms.verdicts import judge_indicator
from norms.weeks import IsoWeek

# Indicators whose consecutive failing weeks are counted (bol.com may close the account).
CONSECUTIVE_COUNTED: tuple[Indicator, ...] = (Indicator.RETURNS, Indicator.CASE_ITEM_RATIO)


@dataclass(frozen=True, slots=True)
class SellerCarry:
    """The state after ``track.week``: derived, recomputable from the data at any time."""

    first_week: IsoWeek
    track: TrackWeek
    # Consecutive failing weeks up to this week, per ``CONSECUTIVE_COUNTED``.
    consecutive: tuple[int, ...]
    # Every weekly REVIEWS measurement so far: the reviews and their rating sum.
    reviews: int
    rating_sum: float
    # The gold label of this week, where the week was reported (a fold step leaves it out):
    # the next week's report compares with it instead of working it out again.
    gold: GoldLabel | None = None

    @property
    def week(self) -> IsoWeek:
        return self.track.week


def reads_from(
    policy: Policy, first: IsoWeek, fold_from: IsoWeek | None
) -> dict[Indicator, IsoWeek | None]:
    """The earliest week of each indicator that the reports of ``first`` on read, their
    carry folded from ``fold_from`` on (``None``: from the seller's first week, so every
    week is read). Most indicators are read for the report's own week only."""
    counted = {*policy.escalating, *POOLED, *CONSECUTIVE_COUNTED, *ITEMS_SOLD_FROM}
    reviews = first.shift(1 - window_weeks(policy))
    counts = first.shift(-max(policy.score_window_weeks - 1, policy.gold_window_weeks))
    out: dict[Indicator, IsoWeek | None] = {}
    for indicator in INDICATORS:
        if indicator is Indicator.REVIEWS:
            since = reviews
        elif indicator in counted:
            since = counts
        elif fold_from is not None:
            # Judged in the report's week only, never folded; but a fold from scratch
            # starts at the seller's first week with any data, whichever indicator it is.
            out[indicator] = first
            continue
        out[indicator] = None if fold_from is None else min(since, fold_from)
    return out


def window_weeks(policy: Policy) -> int:
    """How many weeks up to a week its report reads besides the carry: the score window,
    the rating window and the gold-label window, each also for the week before."""
    return max(
        policy.score_window_weeks, policy.rating_window_weeks + 1, policy.gold_window_weeks + 1
    )


def week_statuses(
    policy: Policy,
    seller_id: str,
    week: IsoWeek,
    by_indicator: dict[Indicator, Measurement],
    exemptions: tuple[Exemption, ...],
) -> tuple[bool, tuple[bool, ...]]:
    """Whether ``week`` is a failing week, and whether each counted indicator failed:
    the two things the fold needs of a week, judged for those indicators only."""
    failing = any(
        _fails(policy, seller_id, week, by_indicator, exemptions, i) for i in policy.escalating
    )
    counted = tuple(
        _fails(policy, seller_id, week, by_indicator, exemptions, i) for i in CONSECUTIVE_COUNTED
    )
    return failing, counted


def _fails(
    policy: Policy,
    seller_id: str,
    week: IsoWeek,
    by_indicator: dict[Indicator, Measurement],
    exemptions: tuple[Exemption, ...],
    indicator: Indicator,
) -> bool:
    m = by_indicator.get(indicator)
    if m is None:
        return False  # no data is not a failure
    exemption = next((e for e in exemptions if e.covers(seller_id, indicator, week)), None)
    return judge_indicator(policy.rules[indicator], m, exemption).status is Status.FAIL


def advance(
    policy: Policy,
    carry: SellerCarry | None,
    history: SellerHistory,
    week: IsoWeek,
    failing: bool,
    counted: tuple[bool, ...],
    gold: GoldLabel | None = None,
) -> SellerCarry:
    """The carry after ``week``, given what was judged of it (and its gold label, where
    the week was reported)."""
    track = step_track(
        policy,
        carry.track if carry is not None else None,
        WeekInput(week, failing),
        history.plan_events,
        reopen_weeks(history.reopens),
    )
    before = carry.consecutive if carry is not None else (0,) * len(CONSECUTIVE_COUNTED)
    reviews = carry.reviews if carry is not None else 0
    rating_sum = carry.rating_sum if carry is not None else 0.0
    m = history.measurement(week, Indicator.REVIEWS)
    if m is not None and m.value is not None and m.denominator:
        reviews += m.denominator
        rating_sum += m.value * m.denominator
    return SellerCarry(
        first_week=carry.first_week if carry is not None else week,
        track=track,
        consecutive=tuple(n + 1 if f else 0 for n, f in zip(before, counted, strict=True)),
        reviews=reviews,
        rating_sum=rating_sum,
        gold=gold,
    )


def carry_week(
    policy: Policy, carry: SellerCarry | None, history: SellerHistory, week: IsoWeek
) -> SellerCarry | None:
    """One fold step: the carry after ``week`` from the carry after the week before
    (``None`` before the seller's first week with data, which stays ``None`` until then)."""
    by_indicator = history.measurements.get(week)
    if carry is None and not by_indicator:
        return None
    failing, counted = week_statuses(
        policy, history.seller_id, week, by_indicator or {}, history.exemptions
    )
    return advance(policy, carry, history, week, failing, counted)


def fold_carry(
    policy: Policy,
    history: SellerHistory,
    last: IsoWeek,
    start: SellerCarry | None = None,
) -> SellerCarry | None:
    """The carry after ``last``: from ``start`` (or the seller's first week) on, every
    calendar week folded in turn; ``history`` must hold the measurements of those weeks."""
    if start is not None:
        first = start.week.shift(1)
    elif (first_week := history.first_week) is not None:
        first = first_week
    else:
        return None
    carry = start
    for week in first.until(last):
        carry = carry_week(policy, carry, history, week)
    return carry


__all__ = [
    "CONSECUTIVE_COUNTED",
    "SellerCarry",
    "advance",
    "carry_week",
    "fold_carry",
    "reads_from",
    "week_statuses",
    "window_weeks",
]
