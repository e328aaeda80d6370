from collections.abc import Iterable
from datetime import date

import pytest

from norms import IsoWeek, Measurement, ShopRating
from norms.rating import RatingForWeek, rating_risk, shop_rating
from tests.norms.builders import REV, TRACK, history

W = IsoWeek.parse("2026-W46")  # Wednesday after: 2026-11-18


def reviews(week: IsoWeek, value: float, count: int) -> Measurement:
    return Measurement(REV, week, None, count, value=value)


def rating_of(
    ratings: list[ShopRating], measurements: Iterable[Measurement] = ()
) -> RatingForWeek | None:
    h = history(measurements, ratings=ratings)
    return shop_rating(TRACK, W, h.ratings, h.measurements)


def test_latest_imported_rating_on_or_before_the_wednesday_after() -> None:
    ratings = [
        ShopRating(date(2026, 11, 1), 8.0, reviews=50),
        ShopRating(date(2026, 11, 18), 9.1, {"service": 9.4}, reviews=64, top_retailer=True),
        ShopRating(date(2026, 11, 19), 4.0, reviews=70),
        ShopRating(date(2026, 10, 1), 7.0),
    ]
    r = rating_of(ratings, [reviews(W, 2.0, 100)])
    assert r is not None
    assert (r.average, r.reviews, r.source, r.aspects, r.top_retailer) == (
        9.1,
        64,
        "imported",
        {"service": 9.4},
        True,
    )


def test_a_rating_dated_after_the_wednesday_is_not_used() -> None:
    r = rating_of([ShopRating(date(2026, 11, 19), 4.0)], [reviews(W, 8.5, 10)])
    assert r is not None
    assert (r.average, r.source) == (8.5, "computed")


def test_fallback_is_review_weighted_over_13_weeks() -> None:
    r = rating_of(
        [],
        [
            reviews(W, 9.0, 30),
            reviews(W.shift(-12), 6.0, 10),
            reviews(W.shift(-13), 1.0, 100),  # fourteenth week back: outside
            reviews(W.shift(1), 1.0, 100),  # after W: outside
        ],
    )
    assert r is not None
    assert r.average == pytest.approx((9.0 * 30 + 6.0 * 10) / 40)
    assert r.average != pytest.approx((9.0 + 6.0) / 2)
    assert (r.reviews, r.source) == (40, "computed")


def test_fallback_uses_all_weeks_when_13_weeks_hold_fewer_than_5_reviews() -> None:
    data = [reviews(W, 9.0, 4), reviews(W.shift(-20), 5.0, 4), reviews(W.shift(-40), 6.0, 2)]
    r = rating_of([], data)
    assert r is not None
    assert r.average == pytest.approx((36 + 20 + 12) / 10)
    assert r.reviews == 10


def test_five_reviews_in_13_weeks_are_enough() -> None:
    r = rating_of([], [reviews(W, 9.0, 5), reviews(W.shift(-20), 5.0, 100)])
    assert r is not None
    assert (r.average, r.reviews) == (9.0, 5)


def test_zero_review_weeks_are_ignored() -> None:
    r = rating_of([], [reviews(W, 2.0, 0), reviews(W.shift(-1), 8.0, 6)])
    assert r is not None
    assert (r.average, r.reviews) == (8.0, 6)


def test_unknown_rating_is_none() -> None:
    assert rating_of([]) is None
    assert rating_of([], [Measurement(REV, W, None, 0, value=None)]) is None
    assert rating_of([ShopRating(date(2026, 12, 1), 9.0)]) is None


def test_computed_average_exactly_at_a_line_is_at_the_line() -> None:
    # 1.6 × 3 + 8.4 × 3 in floats is 5.000000000000001; the average is exactly 5.0.
    r = rating_of([], [reviews(W, 1.6, 3), reviews(W.shift(-1), 8.4, 3)])
    assert r is not None
    assert r.average == 5.0
    assert rating_risk(TRACK, r) == "critical"


def rated(average: float) -> RatingForWeek:
    return RatingForWeek(average=average, reviews=10, source="imported")


@pytest.mark.parametrize(
    ("average", "risk"),
    [
        (9.5, "none"),
        (6.1, "none"),
        (6.0, "danger"),
        (5.5, "danger"),
        (5.01, "danger"),
        (5.0, "critical"),
        (1.0, "critical"),
    ],
)
def test_rating_risk(average: float, risk: str) -> None:
    assert rating_risk(TRACK, rated(average)) == risk


def test_unknown_rating_has_no_risk() -> None:
    assert rating_risk(TRACK, None) == "none"
