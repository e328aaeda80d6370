import pytest

from norms import Indicator, IsoWeek, Measurement
from norms.scores import POOLED, pooled_score
from tests.norms.builders import RT, C, F, history

W = IsoWeek.parse("2026-W46")


def test_pooled_indicators() -> None:
    assert POOLED == (F, C, RT)


def test_score_is_pooled_not_the_mean_of_weekly_percentages() -> None:
    h = history([Measurement(F, W.shift(-1), 10, 10), Measurement(F, W, 90, 100)])
    score = pooled_score(h.measurements, F, W, 6)
    assert score == pytest.approx(100 / 110)
    assert score != pytest.approx((1.0 + 0.9) / 2)


def test_window_is_six_weeks_up_to_and_including_the_week() -> None:
    h = history(
        [
            Measurement(F, W.shift(-6), 0, 1000),  # seventh week back: outside
            Measurement(F, W.shift(-5), 45, 50),
            Measurement(F, W.shift(-2), 50, 50),
            Measurement(F, W, 95, 100),
            Measurement(F, W.shift(1), 0, 1000),  # after the week: outside
        ]
    )
    assert pooled_score(h.measurements, F, W, 6) == pytest.approx(190 / 200)


def test_zero_denominator_weeks_and_weeks_without_counts_are_skipped() -> None:
    h = history(
        [
            Measurement(C, W.shift(-1), 0, 0),
            Measurement(C, W.shift(-2), value=0.5),
            Measurement(C, W, 2, 100),
        ]
    )
    assert pooled_score(h.measurements, C, W, 6) == pytest.approx(0.02)


def test_no_data_in_the_window_gives_none() -> None:
    h = history([Measurement(RT, W, 0, 0), Measurement(RT, W.shift(-6), 5, 10)])
    assert pooled_score(h.measurements, RT, W, 6) is None
    assert pooled_score({}, RT, W, 6) is None


def test_window_crosses_the_53rd_week() -> None:
    last = IsoWeek.parse("2027-W02")
    h = history(
        [
            Measurement(Indicator.RESPONSE_TIME, IsoWeek.parse("2026-W53"), 8, 10),
            Measurement(Indicator.RESPONSE_TIME, IsoWeek.parse("2026-W49"), 10, 10),
            Measurement(Indicator.RESPONSE_TIME, IsoWeek.parse("2026-W48"), 0, 100),
            Measurement(Indicator.RESPONSE_TIME, last, 2, 10),
        ]
    )
    # W02, W01, W53, W52, W51, W50: W49 and W48 fall outside.
    assert pooled_score(h.measurements, RT, last, 6) == pytest.approx(10 / 20)
