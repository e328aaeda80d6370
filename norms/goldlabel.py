"""The gold label: which conditions a shop meets, and what it takes to meet the rest."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from norms.model import Indicator, Measurement
from norms.policy import Policy
from norms.rating import RatingForWeek
from norms.weeks import IsoWeek

Condition = Literal["average_rating", "aspect_ratings", "reviews_per_month", "items_sold_per_month"]

# Items sold in a week: the first of these with a denominator. A denominator of 0 is a
# measurement (0 items sold that week, NORMS.md §7), not a reason to look further.
ITEMS_SOLD_FROM = (Indicator.CASE_ITEM_RATIO, Indicator.RETURNS, Indicator.FULFILMENT)


@dataclass(frozen=True, slots=True)
class GoldCondition:
    """One gold-label condition: its value, threshold, verdict and the gap to close."""

    name: Condition
    value: float | None
    threshold: float
    met: bool
    gap: int | None
    strict: bool
    below: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class GoldLabel:
    """Eligibility for the gold label in one week, condition by condition."""

    week: IsoWeek
    eligible: bool
    conditions: tuple[GoldCondition, ...]
    no_data: bool
    top_retailer: bool | None

    @property
    def unmet(self) -> list[str]:
        if self.no_data:
            return ["no_data"]
        return [c.name for c in self.conditions if not c.met]


def ratings_needed(average: float, reviews: int, target: float) -> int:
    """The fewest 10-ratings that lift ``reviews`` ratings averaging ``average`` to ``target``."""
    total = average * reviews
    # Rounding guards against 8.999999 from float sums; ratings are given to 1-2 decimals.
    needed = math.ceil(round((target * reviews - total) / (10 - target), 6))
    return max(0, needed)


def items_sold(by_indicator: Mapping[Indicator, Measurement]) -> int | None:
    """Items sold in one week, from the first indicator that counts them."""
    for indicator in ITEMS_SOLD_FROM:
        m = by_indicator.get(indicator)
        if m is not None and m.denominator is not None:
            return m.denominator
    return None


def gold_label(
    policy: Policy,
    week: IsoWeek,
    rating: RatingForWeek | None,
    measurements: Mapping[IsoWeek, Mapping[Indicator, Measurement]],
) -> GoldLabel:
    """Evaluate every gold-label condition for ``week``."""
    window = [week.shift(-i) for i in range(policy.gold_window_weeks)]
    reviews_weeks = [
        m
        for w in window
        if (m := measurements.get(w, {}).get(Indicator.REVIEWS)) is not None and m.denominator
    ]
    reviews = sum(m.denominator or 0 for m in reviews_weeks)
    items = sum(n for w in window if (n := items_sold(measurements.get(w, {}))) is not None)
    top = rating.top_retailer if rating else None
    if rating is None and not reviews_weeks:
        return GoldLabel(week, False, (), True, top)

    conditions: list[GoldCondition] = []
    if rating is None:
        conditions.append(
            GoldCondition("average_rating", None, policy.gold_average, False, None, False)
        )
    else:
        met = rating.average >= policy.gold_average
        gap = (
            ratings_needed(rating.average, rating.reviews, policy.gold_average)
            if rating.reviews and not met
            else (0 if met else None)
        )
        conditions.append(
            GoldCondition("average_rating", rating.average, policy.gold_average, met, gap, False)
        )
    aspects = rating.aspects if rating else {}
    below = tuple(sorted(a for a, v in aspects.items() if v < policy.gold_aspects))
    conditions.append(
        GoldCondition(
            "aspect_ratings",
            min(aspects.values()) if aspects else None,
            policy.gold_aspects,
            not below,
            len(below),
            False,
            below,
        )
    )
    # "More than 20": the threshold itself is not enough.
    need_reviews = policy.gold_reviews_per_month + 1
    conditions.append(
        GoldCondition(
            "reviews_per_month",
            reviews,
            policy.gold_reviews_per_month,
            reviews >= need_reviews,
            max(0, need_reviews - reviews),
            True,
        )
    )
    need_items = policy.gold_items_per_month + 1
    conditions.append(
        GoldCondition(
            "items_sold_per_month",
            items,
            policy.gold_items_per_month,
            items >= need_items,
            max(0, need_items - items),
            True,
        )
    )
    eligible = all(c.met for c in conditions)
    return GoldLabel(week, eligible, tuple(conditions), False, top)
