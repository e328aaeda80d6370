"""Strict parsing of single cells (or JSON fields): counts, fractions, ratings, weeks, dates.

Every parser raises :class:`CellError` whose message is the reason shown to the user; it
names the column, so that the same words serve CSV, XLSX and JSON.
"""

from __future__ import annotations

import re
from datetime import date

from norms.weeks import IsoWeek, weeks_in_year

METHODS = ("THREE_MONTHS", "ALL_REVIEWS")

_DECIMAL = re.compile(r"-?(?:\d+(?:[.,]\d*)?|[.,]\d+)")
_ISO_WEEK = re.compile(r"(\d{4})-?W(\d{1,2})", re.IGNORECASE)
_YEAR = re.compile(r"\d{4}")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


class CellError(ValueError):
    """A cell that cannot be used; ``field`` is the column the reason is about."""

    def __init__(self, reason: str, field: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.field = field


def seller_problem(seller: str) -> str:
    """Why ``seller`` (stripped) cannot be a seller id: empty, or holding control characters."""
    if not seller:
        return "seller_id is empty"
    return f"seller_id {seller!r} contains control characters"


def parse_count(column: str, text: str) -> int:
    """A whole number ≥ 0, digits only (``150``)."""
    if text.isascii() and text.isdigit():
        return int(text)
    raise CellError(f"{column} {text!r} is not a whole number ≥ 0", column)


def parse_decimal(column: str, text: str) -> tuple[float, bool]:
    """``0.93``, ``0,93``, ``93%`` or ``93,5%`` as (number, whether it was a percentage)."""
    percent = text.endswith("%")
    body = text[:-1].rstrip() if percent else text
    if _DECIMAL.fullmatch(body) is None:
        raise CellError(f"{column} {text!r} is not a number like 0.93 or 93%", column)
    return float(body.replace(",", ".")), percent


def parse_fraction(column: str, text: str) -> float:
    """A fraction 0–1, given as ``0.93`` or as a percentage ``93%`` (divided by 100)."""
    number, percent = parse_decimal(column, text)
    value = number / 100 if percent else number
    if not 0.0 <= value <= 1.0:
        raise CellError(f"{column} {text!r} is outside 0–1 (0–100%)", column)
    return value


def parse_rating(column: str, text: str) -> float:
    """A rating 1–10 (``8.4`` or ``8,4``); never a percentage."""
    number, percent = parse_decimal(column, text)
    if percent or not 1.0 <= number <= 10.0:
        raise CellError(f"{column} {text!r} is not a rating 1–10", column)
    return number


def check_rating(column: str, number: float) -> float:
    """A number already parsed (JSON) that must be a rating 1–10."""
    if not 1.0 <= number <= 10.0:
        raise CellError(f"{column} {number!r} is not a rating 1–10", column)
    return number


def check_fraction(column: str, number: float) -> float:
    """A number already parsed (JSON) that must be a fraction 0–1."""
    if not 0.0 <= number <= 1.0:
        raise CellError(f"{column} {number!r} is outside 0–1 (0–100%)", column)
    return number


def parse_week(week_text: str, year_text: str | None, today: date) -> IsoWeek:
    """``46`` with a year, or ``2026-W46`` (year may be empty); existing and not in the future.

    ``year_text`` is ``None`` when there is no year column at all.
    """
    if not week_text:
        raise CellError("week is empty", "week")
    if week_text.isascii() and week_text.isdigit():
        if year_text is None:
            raise CellError(
                f"week {week_text!r} needs a year: add a year column or write it as 2026-W46",
                "week",
            )
        if not year_text:
            raise CellError("year is empty; give it, or write the week as 2026-W46", "year")
        year, number = _parse_year(year_text), int(week_text)
    else:
        match = _ISO_WEEK.fullmatch(week_text)
        if match is None:
            raise CellError(
                f"week {week_text!r} is not a week number or a week like 2026-W46", "week"
            )
        year, number = int(match.group(1)), int(match.group(2))
        if year_text and _parse_year(year_text) != year:
            raise CellError(f"year {year_text!r} does not match week {week_text!r}", "year")
    if year < 1:
        raise CellError(f"year {year} is not a year like 2026", "year")
    weeks = weeks_in_year(year)
    if not 1 <= number <= weeks:
        raise CellError(
            f"week {number} does not exist in ISO year {year} (it has {weeks} weeks)", "week"
        )
    week = IsoWeek(year, number)
    if week.monday > today:
        raise CellError(f"week {week} lies in the future (it starts on {week.monday})", "week")
    return week


def _parse_year(text: str) -> int:
    if _YEAR.fullmatch(text) is None or int(text) < 1:
        raise CellError(f"year {text!r} is not a year like 2026", "year")
    return int(text)


def parse_date(column: str, text: str, today: date) -> date:
    """An ISO date ``2026-11-18`` that is not after ``today``."""
    try:
        if _DATE.fullmatch(text) is None:
            raise ValueError(text)
        day = date.fromisoformat(text)
    except ValueError:
        raise CellError(f"{column} {text!r} is not a date like 2026-11-18", column) from None
    if day > today:
        raise CellError(f"{column} {day} lies in the future", column)
    return day


def parse_method(column: str, text: str) -> str:
    """How the shop rating is averaged: ``THREE_MONTHS`` or ``ALL_REVIEWS``."""
    method = text.upper()
    if method not in METHODS:
        raise CellError(f"{column} {text!r} is not {' or '.join(METHODS)}", column)
    return method
