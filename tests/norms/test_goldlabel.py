from collections.abc import Iterable

import pytest

from norms import IsoWeek, Measurement
from norms.goldlabel import GoldLabel, gold_label, items_sold, ratings_needed
from norms.rating import RatingForWeek, shop_rating
from tests.norms.builders import CIR, RET, REV, TRACK, F, history

W = IsoWeek.parse("2026-W46")
ASPECTS_OK = {"product_information": 9.6, "delivery_time": 9.4, "shipping": 9.4, "service": 8.5}


def rating(average: float = 9.1, reviews: int | None = 64, **aspects: float) -> RatingForWeek:
    return RatingForWeek(average, reviews, "imported", aspects or dict(ASPECTS_OK))


def volume(reviews_per_week: int = 6, items_per_week: int = 13) -> list[Measurement]:
    """Four weeks W-3..W: 24 reviews and 52 items sold by default."""
    out: list[Measurement] = []
    for i in range(4):
        week = W.shift(-i)
        out.append(Measurement(REV, week, None, reviews_per_week, value=9.2))
        out.append(Measurement(CIR, week, 1, items_per_week, norm=0.1))
    return out


def label(r: RatingForWeek | None, measurements: Iterable[Measurement]) -> GoldLabel:
    return gold_label(TRACK, W, r, history(measurements).measurements)


def cond(g: GoldLabel, name: str) -> tuple[object, ...]:
    c = next(c for c in g.conditions if c.name == name)
    return (c.value, c.threshold, c.met, c.gap, c.strict)


def test_eligible_when_every_condition_is_met() -> None:
    g = label(rating(), volume())
    assert g.eligible is True
    assert g.no_data is False
    assert g.unmet == []
    assert [c.name for c in g.conditions] == [
        "average_rating",
        "aspect_ratings",
        "reviews_per_month",
        "items_sold_per_month",
    ]
    assert cond(g, "average_rating") == (9.1, 9.0, True, 0, False)
    assert cond(g, "aspect_ratings") == (8.5, 8.5, True, 0, False)
    assert cond(g, "reviews_per_month") == (24, 20, True, 0, True)
    assert cond(g, "items_sold_per_month") == (52, 50, True, 0, True)


@pytest.mark.parametrize(("average", "met"), [(9.0, True), (8.99, False), (10.0, True)])
def test_average_rating_9_or_higher(average: float, met: bool) -> None:
    g = label(rating(average), volume())
    assert g.eligible is met
    assert g.unmet == ([] if met else ["average_rating"])


def test_every_aspect_present_must_be_8_5_or_higher() -> None:
    g = label(rating(product_information=9.0, delivery_time=8.4, service=8.49), volume())
    assert g.eligible is False
    assert g.unmet == ["aspect_ratings"]
    c = g.conditions[1]
    assert (c.value, c.met, c.gap, c.below) == (8.4, False, 2, ("delivery_time", "service"))


def test_aspects_are_checked_only_where_present() -> None:
    g = label(RatingForWeek(9.2, 40, "imported", {}), volume())
    assert g.eligible is True
    assert cond(g, "aspect_ratings") == (None, 8.5, True, 0, False)
    g = label(rating(shipping=8.5), volume())
    assert g.eligible is True


@pytest.mark.parametrize(("per_week", "total", "met", "gap"), [(5, 20, False, 1), (6, 24, True, 0)])
def test_more_than_20_reviews_per_month(per_week: int, total: int, met: bool, gap: int) -> None:
    g = label(rating(), volume(reviews_per_week=per_week))
    assert cond(g, "reviews_per_month") == (total, 20, met, gap, True)
    assert g.eligible is met


def test_exactly_21_reviews_is_enough_and_only_weeks_w_minus_3_to_w_count() -> None:
    data = [
        *volume(reviews_per_week=5),
        Measurement(REV, W, None, 6, value=9.0),  # replaces W's 5: 21 in all
        Measurement(REV, W.shift(-4), None, 100, value=9.0),
        Measurement(REV, W.shift(1), None, 100, value=9.0),
    ]
    g = label(rating(), data)
    assert cond(g, "reviews_per_month") == (21, 20, True, 0, True)


def test_what_it_takes_in_reviews() -> None:
    g = label(rating(), volume(reviews_per_week=3, items_per_week=10))
    assert cond(g, "reviews_per_month") == (12, 20, False, 9, True)
    assert cond(g, "items_sold_per_month") == (40, 50, False, 11, True)
    assert g.unmet == ["reviews_per_month", "items_sold_per_month"]


@pytest.mark.parametrize(("items", "met"), [(50, False), (51, True)])
def test_more_than_50_items_sold(items: int, met: bool) -> None:
    data = [*volume(items_per_week=0), Measurement(CIR, W, 1, items, norm=0.1)]
    g = label(rating(), data)
    assert cond(g, "items_sold_per_month")[:3] == (items, 50, met)


def test_items_sold_come_from_case_item_ratio_else_returns_else_fulfilment() -> None:
    both = {CIR: Measurement(CIR, W, 1, 30), RET: Measurement(RET, W, 1, 40)}
    assert items_sold(both) == 30
    assert items_sold({RET: Measurement(RET, W, 1, 40), F: Measurement(F, W, 1, 50)}) == 40
    assert items_sold({F: Measurement(F, W, 45, 50)}) == 50
    assert items_sold({CIR: Measurement(CIR, W, value=0.1), F: Measurement(F, W, 45, 50)}) == 50
    assert items_sold({REV: Measurement(REV, W, None, 10, value=9.0)}) is None
    assert items_sold({}) is None


def test_a_zero_denominator_is_zero_items_sold_not_a_fall_through() -> None:
    # NORMS.md §7: 0 items sold that week is a measurement; RETURNS' 40 is not looked at.
    assert items_sold({CIR: Measurement(CIR, W, 0, 0), RET: Measurement(RET, W, 2, 40)}) == 0
    assert items_sold({RET: Measurement(RET, W, 0, 0), F: Measurement(F, W, 45, 50)}) == 0


def test_items_sold_per_week_source_over_the_window() -> None:
    data = [
        Measurement(CIR, W, 1, 20),
        Measurement(RET, W, 1, 999),
        Measurement(RET, W.shift(-1), 1, 15),
        Measurement(F, W.shift(-1), 1, 999),
        Measurement(F, W.shift(-2), 10, 10),
        Measurement(F, W.shift(-4), 10, 1000),
        Measurement(REV, W, None, 30, value=9.3),
    ]
    g = label(rating(), data)
    assert cond(g, "items_sold_per_month")[0] == 45


def test_no_rating_and_no_reviews_is_no_data() -> None:
    g = label(None, [Measurement(CIR, W, 1, 1000)])
    assert (g.eligible, g.no_data, g.conditions, g.unmet) == (False, True, (), ["no_data"])
    g = label(None, [Measurement(REV, W, None, 0, value=None)])
    assert g.unmet == ["no_data"]


def test_reviews_without_a_rating_leave_the_average_unknown() -> None:
    g = label(None, [Measurement(REV, W, None, 30), Measurement(CIR, W, 1, 60)])
    assert g.no_data is False
    assert g.unmet == ["average_rating"]
    assert cond(g, "average_rating") == (None, 9.0, False, None, False)


@pytest.mark.parametrize(
    ("average", "n", "k"),
    [
        (8.5, 10, 5),
        (8.9, 10, 1),
        (9.0, 10, 0),
        (9.5, 10, 0),
        (8.0, 1, 1),
        (8.0, 3, 3),
        (7.3, 64, 109),
    ],
)
def test_ratings_needed(average: float, n: int, k: int) -> None:
    assert ratings_needed(average, n, 9.0) == k


def test_ratings_needed_lifts_the_average_to_9() -> None:
    # n = 10 ratings summing to S = 85: five 10s give 135 / 15 = 9.0; four give 125 / 14.
    k = ratings_needed(8.5, 10, 9.0)
    assert k == 5
    assert (85 + 10 * k) / (10 + k) == 9.0
    assert (85 + 10 * (k - 1)) / (10 + k - 1) < 9.0


def test_average_gap_in_the_condition() -> None:
    g = label(rating(8.5, reviews=10), volume())
    assert cond(g, "average_rating") == (8.5, 9.0, False, 5, False)
    g = label(rating(8.5, reviews=None), volume())
    assert cond(g, "average_rating") == (8.5, 9.0, False, None, False)


def test_computed_rating_feeds_the_label() -> None:
    data = [
        Measurement(REV, W, None, 10, value=8.0),
        Measurement(REV, W.shift(-1), None, 12, value=9.5),
        Measurement(CIR, W, 1, 60),
    ]
    h = history(data)
    r = shop_rating(TRACK, W, (), h.measurements)
    g = gold_label(TRACK, W, r, h.measurements)
    assert r is not None
    assert r.average == pytest.approx((80 + 114) / 22)
    assert cond(g, "average_rating")[2:4] == (False, 4)  # 9 × 22 − 194 = 4
    assert cond(g, "reviews_per_month")[0] == 22


def test_top_retailer_is_shown() -> None:
    r = RatingForWeek(9.1, 64, "imported", dict(ASPECTS_OK), top_retailer=True)
    assert label(r, volume()).top_retailer is True
    assert label(rating(), volume()).top_retailer is None
