"""Weekly indicator tables: one record (seller, week, indicator, counts, value, norm) a row."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from bot.ingest.cells import (
    CellError,
    count_problem,
    disagreement,
    empty_cell,
    exact_fraction,
    numerator_above,
    parse_decimal,
    parse_fraction,
    parse_rating,
    parse_week,
    seller_problem,
    unknown_indicator,
)
from bot.ingest.rows import Figures, Issue, MeasurementRow
from messages.reasons import N_, Reason
from norms.model import INDICATORS, Indicator, Measurement
from norms.policy import Policy
from norms.weeks import IsoWeek

INDICATOR_COLUMNS: tuple[str, ...] = (
    "seller_id",
    "year",
    "week",
    "indicator",
    "numerator",
    "denominator",
    "value",
    "norm",
)
_INDICATOR_NAMES = {i.value: i for i in INDICATORS}
_CACHE_SIZE = 4096


def _any_number(column: str, text: str) -> float:
    return parse_decimal(column, text)[0]


# How a value or norm is read: for an unknown indicator only its form can be checked.
_UNKNOWN, _RATING, _FRACTION = 0, 1, 2


def _count(column: str, cell: str) -> tuple[int | None, Reason | None]:
    """A count cell: (the whole number or None when empty, why it is not valid or None)."""
    text = cell.strip()
    if not text:
        return None, None
    problem = count_problem(column, text)
    return (None, problem) if problem is not None else (int(text), None)


_PARSERS: tuple[Callable[[str, str], float], ...] = (_any_number, parse_rating, parse_fraction)


class IndicatorReader:
    """Turns a record of a weekly indicators table into a measurement row (``figures``:
    a well-formed record into plain ``Figures``)."""

    def __init__(self, file: str, today: date, policy: Policy, *, figures: bool = False) -> None:
        self.file = file
        self.today = today
        self.figures = figures
        # Weeks, values and norms repeat down a file: parse each text once.
        self.weeks: dict[tuple[str, str | None], IsoWeek | CellError] = {}
        self.numbers: dict[tuple[int, str, str], float | str] = {}

    def locate(self, columns: dict[str, int]) -> None:
        self.columns = columns
        self.year = columns.get("year")
        self.positions = tuple(columns[name] for name in INDICATOR_COLUMNS if name != "year")

    def _week(self, week_text: str, year_text: str | None) -> IsoWeek | CellError:
        key = (week_text, year_text)
        found = self.weeks.get(key)
        if found is None:
            try:
                found = parse_week(week_text, year_text, self.today)
            except CellError as exc:
                found = exc
            if len(self.weeks) >= _CACHE_SIZE:
                self.weeks.clear()
            self.weeks[key] = found
        return found

    def _number(self, kind: int, column: str, text: str) -> float | str:
        """The number in a value or norm cell, or the reason it is not one (cached)."""
        key = (kind, column, text)
        found = self.numbers.get(key)
        if found is None:
            try:
                found = _PARSERS[kind](column, text)
            except CellError as exc:
                found = exc.reason
            if len(self.numbers) >= _CACHE_SIZE:
                self.numbers.clear()
            self.numbers[key] = found
        return found

    def _indicator(self, text: str) -> Indicator | None:
        indicator = _INDICATOR_NAMES.get(text)
        return _INDICATOR_NAMES.get(text.upper()) if indicator is None else indicator

    def row(self, line: int, cells: list[str]) -> MeasurementRow | Figures | list[Issue]:
        """The measurement of a record, or the issues that reject it (in column order)."""
        # The hot path of a 400,000-row import: a well-formed record is read here in one go,
        # with plain locals. Anything this path does not accept outright (a problem, an
        # indicator not written in capitals, a count of ten digits) is read again by
        # ``_checked``, which names every problem.
        i_seller, i_week, i_indicator, i_numerator, i_denominator, i_value, i_norm = self.positions
        seller = cells[i_seller].strip()
        indicator = _INDICATOR_NAMES.get(cells[i_indicator].strip())
        if indicator is None or not seller or not seller.isprintable():
            return self._checked(line, cells)
        year = self.year
        week_key = (cells[i_week].strip(), None if year is None else cells[year].strip())
        week = self.weeks.get(week_key)
        if week is None:
            week = self._week(*week_key)
        if isinstance(week, CellError):
            return self._checked(line, cells)
        # Counts of up to nine digits are below the largest count accepted.
        text = cells[i_numerator].strip()
        numerator: int | None = None
        if text:
            if len(text) > 9 or not text.isdigit() or not text.isascii():
                return self._checked(line, cells)
            numerator = int(text)
        text = cells[i_denominator].strip()
        denominator: int | None = None
        if text:
            if len(text) > 9 or not text.isdigit() or not text.isascii():
                return self._checked(line, cells)
            denominator = int(text)
        average = indicator is Indicator.REVIEWS
        kind = _RATING if average else _FRACTION
        numbers = self.numbers
        value_text = cells[i_value].strip()
        value: float | None = None
        if value_text:
            number = numbers.get((kind, "value", value_text))
            if number is None:
                number = self._number(kind, "value", value_text)
            if isinstance(number, str):
                return self._checked(line, cells)
            value = number
        text = cells[i_norm].strip()
        norm: float | None = None
        if text:
            number = numbers.get((kind, "norm", text))
            if number is None:
                number = self._number(kind, "norm", text)
            if isinstance(number, str):
                return self._checked(line, cells)
            norm = number
        if average:
            if not value_text and denominator != 0:
                return self._checked(line, cells)
        elif numerator is not None and denominator is not None:
            if numerator > denominator:
                return self._checked(line, cells)
            if value_text and denominator:
                exact = exact_fraction("value", value_text)
                if disagreement(value_text, exact, numerator, denominator) is not None:
                    return self._checked(line, cells)
        elif not value_text:
            return self._checked(line, cells)
        return self._read(seller, week, indicator, numerator, denominator, value, norm, line)

    def _checked(self, line: int, cells: list[str]) -> MeasurementRow | Figures | list[Issue]:
        """A record read cell by cell: its measurement, or every problem it has."""
        file = self.file
        issues: list[Issue] = []
        i_seller, i_week, i_indicator, i_numerator, i_denominator, i_value, i_norm = self.positions
        seller = cells[i_seller].strip()
        if not seller or not seller.isprintable():
            issues.append(Issue(file, line, i_seller + 1, seller_problem(seller)))
        indicator_text = cells[i_indicator].strip()
        indicator = self._indicator(indicator_text)
        if indicator is None:
            reason = (
                empty_cell("indicator")
                if not indicator_text
                else unknown_indicator(repr(indicator_text))
            )
            issues.append(Issue(file, line, i_indicator + 1, reason))
        year = self.year
        week = self._week(cells[i_week].strip(), None if year is None else cells[year].strip())
        if isinstance(week, CellError):
            issues.append(Issue(file, line, self.columns[week.field] + 1, week.reason))

        numerator, numerator_problem = _count("numerator", cells[i_numerator])
        denominator, denominator_problem = _count("denominator", cells[i_denominator])
        if numerator_problem is not None:
            issues.append(Issue(file, line, i_numerator + 1, numerator_problem))
        if denominator_problem is not None:
            issues.append(Issue(file, line, i_denominator + 1, denominator_problem))
        counts_ok = numerator_problem is None and denominator_problem is None

        average = indicator is Indicator.REVIEWS
        kind = _UNKNOWN if indicator is None else _RATING if average else _FRACTION
        value: float | None = None
        value_text = cells[i_value].strip()
        if value_text:
            number = self._number(kind, "value", value_text)
            if isinstance(number, str):
                issues.append(Issue(file, line, i_value + 1, number))
            else:
                value = number
        norm: float | None = None
        text = cells[i_norm].strip()
        if text:
            number = self._number(kind, "norm", text)
            if isinstance(number, str):
                issues.append(Issue(file, line, i_norm + 1, number))
            else:
                norm = number
        # An empty norm takes the policy default; the personal norms (CASE_ITEM_RATIO,
        # RETURNS) have none, and the week gets no verdict for them (status no_norm).

        if counts_ok and indicator is not None:
            issue = self._completeness(line, average, numerator, denominator, value_text)
            if issue is not None:
                issues.append(issue)
            elif value is not None and not average and numerator is not None and denominator:
                exact = exact_fraction("value", value_text)
                disagrees = disagreement(value_text, exact, numerator, denominator)
                if disagrees is not None:
                    issues.append(Issue(file, line, i_value + 1, disagrees))
        if issues or indicator is None or isinstance(week, CellError):
            return issues
        return self._read(seller, week, indicator, numerator, denominator, value, norm, line)

    def _read(
        self,
        seller: str,
        week: IsoWeek,
        indicator: Indicator,
        numerator: int | None,
        denominator: int | None,
        value: float | None,
        norm: float | None,
        line: int,
    ) -> MeasurementRow | Figures:
        """A record's measurement as the reader hands it on: plain ``Figures`` for an
        import, else a ``MeasurementRow``."""
        column = self.positions[0] + 1
        if self.figures:
            return (
                seller,
                week,
                indicator,
                numerator,
                denominator,
                value,
                norm,
                self.file,
                line,
                column,
            )
        measurement = Measurement(indicator, week, numerator, denominator, value, norm)
        return MeasurementRow(seller, measurement, self.file, line, column)

    def _completeness(
        self,
        line: int,
        average: bool,
        numerator: int | None,
        denominator: int | None,
        value_text: str,
    ) -> Issue | None:
        """A value or both counts; numerator ≤ denominator (REVIEWS: a value, any counts)."""
        file = self.file
        _, _, _, i_numerator, i_denominator, i_value, _ = self.positions
        if average:
            # REVIEWS is an average: the counts cannot give the value (denominator = reviews).
            if not value_text and denominator != 0:
                return Issue(
                    file,
                    line,
                    i_value + 1,
                    Reason(
                        N_("value is empty; REVIEWS needs the average rating 1–10 as its value")
                    ),
                )
            return None
        if numerator is not None and denominator is not None:
            if numerator > denominator:
                return Issue(
                    file,
                    line,
                    i_numerator + 1,
                    numerator_above(numerator, denominator),
                )
        elif value_text:
            # The value decides; a lone count (items sold, say) is kept as given.
            return None
        elif numerator is not None:
            return Issue(
                file,
                line,
                i_denominator + 1,
                Reason(N_("denominator is empty but numerator is given")),
            )
        elif denominator is not None:
            return Issue(
                file,
                line,
                i_numerator + 1,
                Reason(N_("numerator is empty but denominator is given")),
            )
        else:
            return Issue(
                file,
                line,
                i_value + 1,
                Reason(N_("value is empty and numerator and denominator are not given")),
            )
        return None
