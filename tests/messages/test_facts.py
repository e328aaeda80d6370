"""The facts behind the messages: ordering, tips, what it takes, numbers and weeks."""

from __future__ import annotations

from messages.facts import ReportView, most_useful_tip, ratings_to_rise_above, riskiest_first
from messages.locale import compact_percent, decimal, percent, week_label, weeks_label
from norms import IsoWeek
from tests.messages.stories import STORIES


def _view(story: str) -> ReportView:
    return ReportView(STORIES[story].report(), STORIES[story].previous())


def test_team_order_puts_the_riskiest_first() -> None:
    views = [(STORIES[name].seller.name, _view(name)) for name in STORIES]
    order = [STORIES_BY_NAME[name] for name, _ in riskiest_first(views)]
    # A critical shop rating can close the shop at once: right after closed shops.
    assert order[:6] == ["closed", "critical", "lastwarning", "suspension", "strikes", "warning2"]
    assert order.index("notice") < order.index("gold")
    assert order.index("nodata") < order.index("gold")


STORIES_BY_NAME = {s.seller.name: s.name for s in STORIES.values()}


def test_the_most_useful_tip() -> None:
    assert most_useful_tip(_view("nodata")) == "no_data"
    assert most_useful_tip(_view("closed")) == "closed"
    assert most_useful_tip(_view("critical")) == "rating"
    assert most_useful_tip(_view("suspension")) == "plan"
    assert most_useful_tip(_view("strikes")) == "FULFILMENT"
    assert most_useful_tip(_view("notice")) == "RETURNS"
    assert most_useful_tip(_view("gold")) == "keep"
    assert most_useful_tip(_view("ended")) == "gold_average_rating"
    assert most_useful_tip(_view("small")) == "gold_items_sold_per_month"


def test_ratings_needed_to_rise_above_a_line() -> None:
    # 30 reviews averaging 4.6 sum to 138; above 5.0 needs (138 + 10k) / (30 + k) > 5.
    assert ratings_to_rise_above(4.6, 30, 5.0) == 3
    assert ratings_to_rise_above(5.0, 10, 5.0) == 1  # exactly at the line is not above it
    assert ratings_to_rise_above(5.2, 10, 5.0) == 0


def test_views_expose_scores_trends_and_needs() -> None:
    view = _view("warning2")
    assert [s.met for s in view.headline] == [True, True, True, True]
    assert view.trend("FULFILMENT") == "↓" and view.trend("RESPONSE_TIME") == "→"
    assert [(n.indicator.value, n.expected, n.good) for n in view.needs][2] == (
        "RESPONSE_TIME",
        40,
        31,
    )
    response = view.needs[2]
    assert (response.norm_good, response.minimum_counts, response.cannot_fail) == (36, True, False)
    small = _view("small").needs
    assert [(n.allowed_bad, n.norm_bad, n.cannot_fail) for n in small] == [
        (2, 0, False),
        (2, 0, False),
        (5, 0, True),
    ]
    assert _view("nodata").trend("FULFILMENT") == ""
    strikes = _view("strikes").track
    assert strikes.strikes_policy and strikes.next_expiry == IsoWeek(2026, 52)
    assert strikes.clear_week == IsoWeek(2027, 15) and strikes.expired_strike == IsoWeek(2026, 24)


def test_numbers_per_language() -> None:
    assert decimal(8.44, "nl") == "8,4" and decimal(8.44, "en") == "8.4"
    assert decimal(1234.5, "nl") == "1.234,5" and decimal(1234.5, "en") == "1,234.5"
    assert percent(0.935, "nl") == "93,5%" and percent(0.935, "en") == "93.5%"
    assert compact_percent(0.93, "nl") == "93%" and compact_percent(0.045, "nl") == "4,5%"


def test_weeks_per_language() -> None:
    assert week_label(IsoWeek(2026, 46), "nl") == "week 46 (9–15 nov)"
    assert week_label(IsoWeek(2026, 46), "en") == "week 46 (9–15 Nov)"
    assert week_label(IsoWeek(2026, 44), "nl") == "week 44 (26 okt – 1 nov)"
    assert week_label(IsoWeek(2026, 1), "en") == "week 1 (29 Dec 2025 – 4 Jan 2026)"
    assert (
        week_label(IsoWeek(2026, 53), "nl", with_year=True) == "week 53 van 2026 (28 dec – 3 jan)"
    )
    weeks = [IsoWeek(2026, 44), IsoWeek(2026, 45), IsoWeek(2026, 46)]
    assert weeks_label(weeks, "nl") == "weken 44 t/m 46 van 2026"
    assert weeks_label([IsoWeek(2026, 53), IsoWeek(2027, 1)], "en") == (
        "weeks 53 of 2026 and 1 of 2027"
    )
    # Two weeks in a row read as a pair, not as a range.
    assert weeks_label([IsoWeek(2026, 47), IsoWeek(2026, 48)], "nl") == "weken 47 en 48 van 2026"
    assert weeks_label([IsoWeek(2026, 47), IsoWeek(2026, 48)], "fr") == (
        "semaines 47 et 48 de 2026"
    )
    assert weeks_label([IsoWeek(2026, 40), IsoWeek(2026, 46)], "en") == "weeks 40 and 46 of 2026"
    scattered = [IsoWeek(2026, n) for n in range(2, 40, 3)]
    assert weeks_label(scattered, "nl") == "13 weken tussen week 2 en 38 van 2026"
