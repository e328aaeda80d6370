"""Single cells: what each parser accepts, and the reason it gives when it does not."""

from __future__ import annotations

from datetime import date

import pytest

from bot.ingest.cells import (
    CellError,
    parse_count,
    parse_date,
    parse_fraction,
    parse_method,
    parse_rating,
    parse_week,
)
from norms.weeks import IsoWeek
from tests.ingest.support import TODAY


@pytest.mark.parametrize(
    ("text", "value"),
    [("0.93", 0.93), ("0,93", 0.93), ("93%", 0.93), ("93,5%", 0.935), ("93.5 %", 0.935),
     ("1", 1.0), ("0", 0.0), ("100%", 1.0), (",5", 0.5), ("0%", 0.0)],
)  # fmt: skip
def test_fractions(text: str, value: float) -> None:
    assert parse_fraction("value", text) == pytest.approx(value)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("1.01", "value '1.01' is outside 0–1 (0–100%)"),
        ("-0.1", "value '-0.1' is outside 0–1 (0–100%)"),
        ("101%", "value '101%' is outside 0–1 (0–100%)"),
        ("93", "value '93' is outside 0–1 (0–100%)"),
        ("nan", "value 'nan' is not a number like 0.93 or 93%"),
        ("1e-2", "value '1e-2' is not a number like 0.93 or 93%"),
        ("1.000,5", "value '1.000,5' is not a number like 0.93 or 93%"),
        ("%", "value '%' is not a number like 0.93 or 93%"),
    ],
)
def test_bad_fractions(text: str, reason: str) -> None:
    with pytest.raises(CellError) as caught:
        parse_fraction("value", text)
    assert caught.value.reason == reason and caught.value.field == "value"


def test_ratings() -> None:
    assert parse_rating("rating", "8,4") == 8.4
    assert parse_rating("rating", "10") == 10.0
    assert parse_rating("rating", "1") == 1.0
    for text in ("0.9", "10.1", "84%"):
        with pytest.raises(CellError, match=r"is not a rating 1–10"):
            parse_rating("rating", text)


def test_counts() -> None:
    assert parse_count("numerator", "0") == 0
    assert parse_count("numerator", "150") == 150
    for text in ("1.5", "-1", "1,000", "²", "1e3"):
        with pytest.raises(CellError, match=r"is not a whole number ≥ 0"):
            parse_count("numerator", text)


@pytest.mark.parametrize(
    ("week", "year", "expected"),
    [("46", "2026", IsoWeek(2026, 46)), ("2026-W46", "", IsoWeek(2026, 46)),
     ("2026-w46", None, IsoWeek(2026, 46)), ("2026W5", "2026", IsoWeek(2026, 5)),
     ("53", "2020", IsoWeek(2020, 53)), ("1", "2026", IsoWeek(2026, 1)),
     ("47", "2026", IsoWeek(2026, 47))],
)  # fmt: skip
def test_weeks(week: str, year: str | None, expected: IsoWeek) -> None:
    assert parse_week(week, year, TODAY) == expected


@pytest.mark.parametrize(
    ("week", "year", "field", "reason"),
    [
        ("", "2026", "week", "week is empty"),
        ("0", "2026", "week", "week 0 does not exist in ISO year 2026 (it has 53 weeks)"),
        ("53", "2025", "week", "week 53 does not exist in ISO year 2025 (it has 52 weeks)"),
        ("48", "2026", "week", "week 2026-W48 lies in the future (it starts on 2026-11-23)"),
        ("46", "26", "year", "year '26' is not a year like 2026"),
        ("46", "", "year", "year is empty; give it, or write the week as 2026-W46"),
        ("2026-W46", "2025", "year", "year '2025' does not match week '2026-W46'"),
        ("week 46", "2026", "week", "week 'week 46' is not a week number or a week like 2026-W46"),
    ],
)
def test_bad_weeks(week: str, year: str, field: str, reason: str) -> None:
    with pytest.raises(CellError) as caught:
        parse_week(week, year, TODAY)
    assert (caught.value.field, caught.value.reason) == (field, reason)


def test_dates_and_methods() -> None:
    assert parse_date("date", "2026-11-22", TODAY) == date(2026, 11, 22)
    for text in ("20261118", "2026-W47-1", "2026-11-31", "18-11-2026"):
        with pytest.raises(CellError, match=r"is not a date like 2026-11-18"):
            parse_date("date", text, TODAY)
    with pytest.raises(CellError, match=r"lies in the future"):
        parse_date("date", "2026-11-23", TODAY)
    assert parse_method("method", "three_months") == "THREE_MONTHS"
    with pytest.raises(CellError, match=r"is not THREE_MONTHS or ALL_REVIEWS"):
        parse_method("method", "ALL")
