"""The shop rating (the average on the shop page) and the risk of instant closure."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal

from norms.model import Indicator, Measurement, ShopRating
from norms.policy import Policy
from norms.weeks import IsoWeek

RatingRisk = Literal["none", "danger", "critical"]


@dataclass(frozen=True, slots=True)
class RatingForWeek:
    """The shop rating that holds for a week, and where it came from."""

    average: float
    reviews: int | None
    source: Literal["imported", "computed"]
    aspects: dict[str, float] = field(default_factory=dict)
    top_retailer: bool | None = None


def shop_rating(
    policy: Policy,
    week: IsoWeek,
    ratings: Iterable[ShopRating],
    measurements: Mapping[IsoWeek, Mapping[Indicator, Measurement]],
    all_reviews: tuple[int, float] | None = None,
) -> RatingForWeek | None:
    """The shop rating for ``week``: the latest one dated by the Wednesday after it, else
    the review-weighted average of the weekly ``REVIEWS`` measurements; ``None`` if unknown.

    ``all_reviews`` (reviews, rating sum of every week up to ``week``) stands in for the
    whole history when ``measurements`` holds only the rating window."""
    cutoff = week.check_day
    dated = [r for r in ratings if r.on <= cutoff]
    if dated:
        latest = max(dated, key=lambda r: r.on)
        return RatingForWeek(
            average=latest.rating,
            reviews=latest.reviews,
            source="imported",
            aspects=dict(latest.aspects),
            top_retailer=latest.top_retailer,
        )
    recent = [
        (w, m)
        for back in range(policy.rating_window_weeks - 1, -1, -1)
        if (by_indicator := measurements.get(w := week.shift(-back))) is not None
        and (m := _reviews(by_indicator)) is not None
    ]
    count = sum(m.denominator or 0 for _, m in recent)
    if count >= policy.rating_min_reviews:
        return _weighted(recent)
    if all_reviews is not None:
        return _average(*all_reviews)
    history = sorted(
        (w, m)
        for w, by_indicator in measurements.items()
        if w <= week and (m := _reviews(by_indicator)) is not None
    )
    return _weighted(history)


def _reviews(by_indicator: Mapping[Indicator, Measurement]) -> Measurement | None:
    m = by_indicator.get(Indicator.REVIEWS)
    if m is None or m.value is None or not m.denominator:
        return None
    return m


def _weighted(weeks: list[tuple[IsoWeek, Measurement]]) -> RatingForWeek | None:
    count = sum(m.denominator or 0 for _, m in weeks)
    total = sum((m.value or 0.0) * (m.denominator or 0) for _, m in weeks)
    return _average(count, total)


def _average(count: int, total: float) -> RatingForWeek | None:
    if count == 0:
        return None
    # Rounding drops float noise (5.000000000000001) that would miss "at or below 5.0".
    return RatingForWeek(average=round(total / count, 9), reviews=count, source="computed")


def rating_risk(policy: Policy, rating: RatingForWeek | None) -> RatingRisk:
    """``critical`` at or below the closure line, ``danger`` at or below the warning line."""
    if rating is None:
        return "none"
    if rating.average <= policy.rating_critical:
        return "critical"
    if rating.average <= policy.rating_danger:
        return "danger"
    return "none"
