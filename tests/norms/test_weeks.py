from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from norms import IsoWeek, weeks_in_year

AMSTERDAM = ZoneInfo("Europe/Amsterdam")


def test_parse_and_str() -> None:
    w = IsoWeek.parse("2026-W46")
    assert (w.year, w.week) == (2026, 46)
    assert str(w) == "2026-W46"
    assert str(IsoWeek.parse(" 2026w07 ")) == "2026-W07"
    assert str(IsoWeek(2026, 7)) == "2026-W07"


@pytest.mark.parametrize("text", ["2026-46", "W46", "2026-W", "26-W46", "2026-W146", ""])
def test_parse_rejects_malformed_text(text: str) -> None:
    with pytest.raises(ValueError, match="is not a week like 2026-W46"):
        IsoWeek.parse(text)


@pytest.mark.parametrize("text", ["2026-W00", "2027-W53", "2026-W54"])
def test_parse_rejects_weeks_that_do_not_exist(text: str) -> None:
    with pytest.raises(ValueError, match="does not exist in ISO year"):
        IsoWeek.parse(text)


def test_53_week_years() -> None:
    assert weeks_in_year(2026) == 53
    assert weeks_in_year(2027) == 52
    assert weeks_in_year(2020) == 53
    assert weeks_in_year(2025) == 52
    assert str(IsoWeek.parse("2026-W53")) == "2026-W53"
    with pytest.raises(ValueError):
        IsoWeek(2027, 53)


@pytest.mark.parametrize(
    ("start", "n", "expected"),
    [
        ("2026-W52", 1, "2026-W53"),
        ("2026-W53", 1, "2027-W01"),
        ("2027-W01", -1, "2026-W53"),
        ("2025-W52", 1, "2026-W01"),
        ("2026-W01", -1, "2025-W52"),
        ("2026-W46", -22, "2026-W24"),
        ("2026-W10", 52, "2027-W09"),
        ("2027-W02", -3, "2026-W52"),
        ("2026-W30", 0, "2026-W30"),
    ],
)
def test_shift_across_year_ends(start: str, n: int, expected: str) -> None:
    assert str(IsoWeek.parse(start).shift(n)) == expected
    assert str(IsoWeek.parse(start) + n) == expected


def test_difference_in_weeks() -> None:
    assert IsoWeek.parse("2027-W01") - IsoWeek.parse("2026-W52") == 2
    assert IsoWeek.parse("2026-W52") - IsoWeek.parse("2027-W01") == -2
    assert IsoWeek.parse("2027-W01") - IsoWeek.parse("2026-W01") == 53


def test_until_walks_every_calendar_week() -> None:
    weeks = IsoWeek.parse("2026-W52").until(IsoWeek.parse("2027-W02"))
    assert [str(w) for w in weeks] == ["2026-W52", "2026-W53", "2027-W01", "2027-W02"]
    assert IsoWeek.parse("2026-W05").until(IsoWeek.parse("2026-W05")) == [IsoWeek(2026, 5)]
    assert IsoWeek.parse("2026-W05").until(IsoWeek.parse("2026-W04")) == []


def test_ordering_across_years() -> None:
    weeks = [IsoWeek(2027, 1), IsoWeek(2026, 53), IsoWeek(2026, 2)]
    assert sorted(weeks) == [IsoWeek(2026, 2), IsoWeek(2026, 53), IsoWeek(2027, 1)]
    assert IsoWeek(2026, 53) < IsoWeek(2027, 1)


def test_days_of_a_week() -> None:
    w = IsoWeek.parse("2026-W01")
    assert w.monday == date(2025, 12, 29)
    assert w.sunday == date(2026, 1, 4)


@pytest.mark.parametrize(
    ("week", "wednesday"),
    [
        ("2026-W46", date(2026, 11, 18)),
        ("2026-W53", date(2027, 1, 6)),
        ("2025-W52", date(2025, 12, 31)),
    ],
)
def test_check_day_is_the_wednesday_after_the_week(week: str, wednesday: date) -> None:
    check = IsoWeek.parse(week).check_day
    assert check == wednesday
    assert check.isoweekday() == 3
    assert IsoWeek.of(check) == IsoWeek.parse(week).shift(1)


def test_week_of_a_day() -> None:
    assert IsoWeek.of(date(2027, 1, 1)) == IsoWeek(2026, 53)
    assert IsoWeek.of(date(2027, 1, 4)) == IsoWeek(2027, 1)
    assert IsoWeek.of(date(2025, 12, 29)) == IsoWeek(2026, 1)


def test_containing_uses_the_time_zone() -> None:
    # Sunday 23:30 UTC is already Monday 00:30 in Amsterdam (CET).
    moment = datetime(2026, 11, 15, 23, 30, tzinfo=UTC)
    assert IsoWeek.containing(moment, ZoneInfo("UTC")) == IsoWeek(2026, 46)
    assert IsoWeek.containing(moment, AMSTERDAM) == IsoWeek(2026, 47)


weeks_st = st.builds(
    lambda d: IsoWeek.of(d), st.dates(min_value=date(2000, 1, 10), max_value=date(2090, 12, 20))
)


@settings(max_examples=150)
@given(weeks_st, st.integers(min_value=-200, max_value=200))
def test_shift_is_consistent(week: IsoWeek, n: int) -> None:
    moved = week.shift(n)
    assert moved.shift(-n) == week
    assert moved - week == n
    assert (moved > week) == (n > 0)
    assert IsoWeek.parse(str(week)) == week
    assert len(week.until(moved)) == max(0, n + 1)
