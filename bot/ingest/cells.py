"""Strict parsing of single cells (or JSON fields): counts, fractions, ratings, weeks, dates.

Every parser raises :class:`CellError` whose message is the reason shown to the user (a
:class:`~messages.reasons.Reason`: English here, the chat's language in a chat); it names
the column, so that the same words serve CSV, XLSX and JSON.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

from messages.reasons import N_, Number, Reason
from norms.model import INDICATORS
from norms.weeks import IsoWeek, weeks_in_year

METHODS = ("THREE_MONTHS", "ALL_REVIEWS")

# INTERFACES.md: counts are whole numbers from 0 to a billion. Beyond that SQLite cannot
# store them (2^63) or Python will not even read them (4,300 digits), and no shop sells that.
MAX_COUNT = 1_000_000_000
_MAX_COUNT_DIGITS = len(str(MAX_COUNT))
# A rejected text is quoted in the reason; a 5,000-digit cell is shown by its start.
_QUOTED = 24

_DECIMAL = re.compile(r"-?(?:\d+(?:[.,]\d*)?|[.,]\d+)")
_ISO_WEEK = re.compile(r"(\d{4})-?W(\d{1,2})", re.IGNORECASE)
_YEAR = re.compile(r"\d{4}")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


class CellError(ValueError):
    """A cell that cannot be used; ``field`` is the column the reason is about."""

    def __init__(self, reason: Reason, field: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.field = field


def seller_problem(seller: str) -> Reason:
    """Why ``seller`` (stripped) cannot be a seller id: empty, or holding control characters."""
    if not seller:
        return Reason(N_("seller_id is empty"))
    return Reason(N_("seller_id %(given)s contains control characters"), given=repr(seller))


def quoted(text: str, unit: str = "characters") -> str:
    """``text`` as a reason quotes it: in full when short, else its start and its length."""
    if len(text) <= _QUOTED:
        return repr(text)
    start, length = repr(text[:_QUOTED]), Number(len(text))
    if unit == "digits":
        return Reason(N_("%(start)s… (%(length)s digits)"), start=start, length=length)
    return Reason(N_("%(start)s… (%(length)s characters)"), start=start, length=length)


def _above_max(column: str, shown: str) -> Reason:
    return Reason(
        N_("%(column)s %(given)s is above %(limit)s, the largest count accepted"),
        column=column,
        given=shown,
        limit=Number(MAX_COUNT),
    )


def _not_count(column: str, shown: str) -> Reason:
    return Reason(N_("%(column)s %(given)s is not a whole number ≥ 0"), column=column, given=shown)


def count_problem(column: str, text: str) -> Reason | None:
    """Why ``text`` (stripped) is not a count 0 … 1,000,000,000, or None when it is one."""
    if not (text.isascii() and text.isdigit()):
        return _not_count(column, quoted(text))
    # Digits are counted before int(): Python refuses to convert more than 4,300 of them.
    if len(text.lstrip("0")) > _MAX_COUNT_DIGITS or int(text) > MAX_COUNT:
        return _above_max(column, quoted(text, "digits"))
    return None


def parse_count(column: str, text: str) -> int:
    """A whole number 0 … 1,000,000,000, digits only (``150``)."""
    problem = count_problem(column, text)
    if problem is not None:
        raise CellError(problem, column)
    return int(text)


def check_count(column: str, number: int) -> int:
    """A whole number already parsed (JSON) that must be a count 0 … 1,000,000,000."""
    if number < 0:
        raise CellError(_not_count(column, repr(number)), column)
    if number > MAX_COUNT:
        digits = str(number)  # a number, not a text: shown without quotes
        shown: str = digits
        if len(digits) > _QUOTED:
            length = Number(len(digits))
            shown = Reason(
                N_("%(start)s… (%(length)s digits)"), start=digits[:_QUOTED], length=length
            )
        raise CellError(_above_max(column, shown), column)
    return number


def parse_exact(column: str, text: str) -> tuple[Decimal, bool]:
    """``0.93``, ``0,93``, ``93%`` or ``93,5%`` exactly: (the number as written, percentage).

    Exact, so that ``93.1%`` and ``0.931`` are the same figure (93.1 / 100 in floats is
    0.9309999999999999) and the digits written say how precise the figure is.
    """
    percent = text.endswith("%")
    body = text[:-1].rstrip() if percent else text
    if _DECIMAL.fullmatch(body) is None:
        raise CellError(
            Reason(
                N_("%(column)s %(given)s is not a number like 0.93 or 93%%"),
                column=column,
                given=quoted(text),
            ),
            column,
        )
    return Decimal(body.replace(",", ".")), percent


def parse_decimal(column: str, text: str) -> tuple[float, bool]:
    """``0.93``, ``0,93``, ``93%`` or ``93,5%`` as (number, whether it was a percentage)."""
    number, percent = parse_exact(column, text)
    return float(number), percent


def exact_fraction(column: str, text: str) -> Decimal:
    """A fraction 0–1 as written, ``0.93`` or ``93%`` (moved two places: exact)."""
    number, percent = parse_exact(column, text)
    value = number.scaleb(-2) if percent else number
    if not 0 <= value <= 1:
        raise CellError(_outside_fraction(column, quoted(text)), column)
    return value


def disagreement(written: str, value: Decimal, numerator: int, denominator: int) -> Reason | None:
    """Why the fraction ``value`` (``written`` so) is not ``numerator / denominator``, or None.

    They agree to the precision written: within half a unit of the last digit given, and
    at least to the whole percent (a bare ``1`` beside 140/150 is no figure for 93%);
    past nine digits float noise from a spreadsheet would decide.
    """
    places = min(max(-int(value.as_tuple().exponent), 2), 9)
    quotient = Decimal(numerator) / Decimal(denominator)
    if abs(value - quotient) <= Decimal(5).scaleb(-places - 1):
        return None
    return Reason(
        N_(
            "value %(given)s does not agree with numerator %(numerator)s / denominator "
            "%(denominator)s = %(quotient)s (%(percent)s%%); correct one of them, or leave "
            "value empty"
        ),
        given=quoted(written),
        numerator=numerator,
        denominator=denominator,
        quotient=Number(float(quotient), 4),
        percent=Number(float(quotient) * 100, 2),
    )


def parse_fraction(column: str, text: str) -> float:
    """A fraction 0–1, given as ``0.93`` or as a percentage ``93%`` (divided by 100)."""
    return float(exact_fraction(column, text))


def parse_rating(column: str, text: str) -> float:
    """A rating 1–10 (``8.4`` or ``8,4``); never a percentage."""
    number, percent = parse_exact(column, text)
    if percent or not 1 <= number <= 10:
        raise CellError(not_rating(column, quoted(text)), column)
    return float(number)


def check_rating(column: str, number: float) -> float:
    """A number already parsed (JSON) that must be a rating 1–10."""
    if not 1.0 <= number <= 10.0:
        raise CellError(not_rating(column, repr(number)), column)
    return number


def check_fraction(column: str, number: float) -> float:
    """A number already parsed (JSON) that must be a fraction 0–1."""
    if not 0.0 <= number <= 1.0:
        raise CellError(_outside_fraction(column, repr(number)), column)
    return number


def parse_week(week_text: str, year_text: str | None, today: date) -> IsoWeek:
    """``46`` with a year, or ``2026-W46`` (year may be empty); existing and not in the future.

    ``year_text`` is ``None`` when there is no year column at all.
    """
    if not week_text:
        raise CellError(empty_cell("week"), "week")
    if week_text.isascii() and week_text.isdigit():
        if year_text is None:
            raise CellError(
                Reason(
                    N_("week %(given)s needs a year: add a year column or write it as 2026-W46"),
                    given=repr(week_text),
                ),
                "week",
            )
        if not year_text:
            raise CellError(
                Reason(N_("year is empty; give it, or write the week as 2026-W46")), "year"
            )
        if len(week_text.lstrip("0")) > 2:  # no year has 100 weeks; 5,000 digits are not read
            raise CellError(
                Reason(N_("week %(given)s is not a week number 1–53"), given=quoted(week_text)),
                "week",
            )
        year, number = _parse_year(year_text), int(week_text)
    else:
        match = _ISO_WEEK.fullmatch(week_text)
        if match is None:
            raise CellError(
                Reason(
                    N_("week %(given)s is not a week number or a week like 2026-W46"),
                    given=repr(week_text),
                ),
                "week",
            )
        year, number = int(match.group(1)), int(match.group(2))
        if year_text and _parse_year(year_text) != year:
            raise CellError(
                Reason(
                    N_("year %(given)s does not match week %(week)s"),
                    given=repr(year_text),
                    week=repr(week_text),
                ),
                "year",
            )
    if year < 1:
        raise CellError(Reason(N_("year %(given)s is not a year like 2026"), given=year), "year")
    weeks = weeks_in_year(year)
    if not 1 <= number <= weeks:
        raise CellError(
            Reason(
                N_("week %(week)s does not exist in ISO year %(year)s (it has %(weeks)s weeks)"),
                week=number,
                year=year,
                weeks=weeks,
            ),
            "week",
        )
    week = IsoWeek(year, number)
    if week.monday > today:
        raise CellError(
            Reason(
                N_("week %(week)s lies in the future (it starts on %(monday)s)"),
                week=str(week),
                monday=str(week.monday),
            ),
            "week",
        )
    return week


def _parse_year(text: str) -> int:
    if _YEAR.fullmatch(text) is None or int(text) < 1:
        raise CellError(
            Reason(N_("year %(given)s is not a year like 2026"), given=repr(text)), "year"
        )
    return int(text)


def parse_date(column: str, text: str, today: date) -> date:
    """An ISO date ``2026-11-18`` that is not after ``today``."""
    try:
        if _DATE.fullmatch(text) is None:
            raise ValueError(text)
        day = date.fromisoformat(text)
    except ValueError:
        reason = Reason(
            N_("%(column)s %(given)s is not a date like 2026-11-18"),
            column=column,
            given=repr(text),
        )
        raise CellError(reason, column) from None
    if day > today:
        raise CellError(
            Reason(N_("%(column)s %(given)s lies in the future"), column=column, given=str(day)),
            column,
        )
    return day


def parse_method(column: str, text: str) -> str:
    """How the shop rating is averaged: ``THREE_MONTHS`` or ``ALL_REVIEWS``."""
    method = text.upper()
    if method not in METHODS:
        raise CellError(not_method(column, repr(text)), column)
    return method


def not_method(column: str, shown: str) -> Reason:
    """The reason a rating method is neither of :data:`METHODS`."""
    return Reason(
        N_("%(column)s %(given)s is not %(first)s or %(second)s"),
        column=column,
        given=shown,
        first=METHODS[0],
        second=METHODS[1],
    )


def not_rating(column: str, shown: str) -> Reason:
    """The reason a figure is not a rating 1–10 (``shown`` as the file gives it)."""
    return Reason(N_("%(column)s %(given)s is not a rating 1–10"), column=column, given=shown)


def _outside_fraction(column: str, shown: str) -> Reason:
    return Reason(N_("%(column)s %(given)s is outside 0–1 (0–100%%)"), column=column, given=shown)


def numerator_above(numerator: int, denominator: int) -> Reason:
    """The reason a numerator cannot be greater than its denominator."""
    return Reason(
        N_("numerator %(numerator)s is greater than denominator %(denominator)s"),
        numerator=numerator,
        denominator=denominator,
    )


def empty_cell(column: str) -> Reason:
    """The reason a cell that must hold something is empty."""
    return Reason(N_("%(column)s is empty"), column=column)


def unknown_indicator(shown: str) -> Reason:
    """The reason an indicator's name (``shown`` as the file gives it) is not one we know."""
    return Reason(
        N_("indicator %(given)s is unknown; use one of %(known)s"),
        given=shown,
        known=", ".join(INDICATORS),
    )
