"""Random seller histories for property tests: measurements that pass, fail, miss the
minimum or hold no data, exemptions, shop ratings, plan events and reopens."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from hypothesis import strategies as st

from norms import (
    INDICATORS,
    Exemption,
    Indicator,
    IsoWeek,
    Measurement,
    PlanEvent,
    Policy,
    Reopen,
    SellerHistory,
    ShopRating,
)
from tests.norms.builders import STRIKES, TRACK

# Across a year end (2025 has 52 ISO weeks) so that week arithmetic is exercised too.
FIRST = IsoWeek(2025, 40)
MAX_WEEKS = 40

# The shipped policies, and short-window variants so that tracks end and strikes expire
# within a short random history.
POLICIES: tuple[Policy, ...] = (
    TRACK,
    STRIKES,
    replace(TRACK, clean_weeks_to_end=3, rating_window_weeks=3, rating_min_reviews=9),
    replace(STRIKES, strike_window_weeks=4, score_window_weeks=2, gold_window_weeks=2),
)


@st.composite
def measurement(draw: st.DrawFn, indicator: Indicator, week: IsoWeek) -> Measurement:
    if indicator is Indicator.REVIEWS:
        value = draw(st.integers(10, 100)) / 10
        return Measurement(indicator, week, None, draw(st.integers(0, 9)), value)
    denominator = draw(st.integers(0, 40))
    if draw(st.integers(0, 9)) == 0:
        # Only a value, no counts: the minimum cannot be checked.
        return Measurement(indicator, week, value=draw(st.integers(0, 100)) / 100)
    numerator = draw(st.integers(0, denominator))
    norm = None
    if indicator in (Indicator.RETURNS, Indicator.CASE_ITEM_RATIO):
        numerator = min(numerator, draw(st.integers(0, 6)))
        norm = draw(st.sampled_from([0.05, 0.1]))
    elif indicator is Indicator.CANCELLATIONS:
        numerator = min(numerator, draw(st.integers(0, 6)))
    # Now and then a week bol.com excluded from its strike calculation (v11 ``excluded``).
    excluded = draw(st.integers(0, 14)) == 0
    return Measurement(indicator, week, numerator, denominator, norm=norm, excluded=excluded)


@st.composite
def seller_histories(draw: st.DrawFn) -> tuple[SellerHistory, int]:
    """A history of ``weeks`` calendar weeks from ``FIRST`` (some weeks without data)."""
    weeks = draw(st.integers(1, MAX_WEEKS))
    data: dict[IsoWeek, dict[Indicator, Measurement]] = {}
    for i in range(weeks):
        week = FIRST.shift(i)
        if draw(st.integers(0, 5)) == 0:
            continue  # a week without any data
        chosen = draw(st.sets(st.sampled_from(INDICATORS), min_size=1))
        data[week] = {ind: draw(measurement(ind, week)) for ind in INDICATORS if ind in chosen}
    day = st.integers(0, weeks * 7 + 14).map(lambda d: FIRST.monday + timedelta(days=d))
    exemptions = draw(
        st.lists(
            st.builds(
                Exemption,
                week=st.integers(0, weeks).map(FIRST.shift),
                reason=st.just("outage"),
                indicators=st.frozensets(st.sampled_from(INDICATORS), max_size=2),
                sellers=st.sampled_from([frozenset(), frozenset({"shop-1"})]),
            ),
            max_size=3,
        )
    )
    ratings = draw(
        st.lists(
            st.builds(
                ShopRating,
                on=day,
                rating=st.integers(40, 100).map(lambda r: r / 10),
                aspects=st.just({}),
                reviews=st.integers(0, 60),
            ),
            max_size=2,
            unique_by=lambda r: r.on,
        )
    )
    plan_events = draw(
        st.lists(
            st.builds(PlanEvent, on=day, status=st.sampled_from(["submitted", "approved"])),
            max_size=2,
        )
    )
    reopens = draw(st.lists(st.builds(Reopen, on=day), max_size=2))
    history = SellerHistory(
        seller_id="shop-1",
        measurements=data,
        ratings=tuple(ratings),
        exemptions=tuple(exemptions),
        plan_events=tuple(plan_events),
        reopens=tuple(reopens),
    )
    return history, weeks
