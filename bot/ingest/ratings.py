"""Shop rating tables: one record (seller, date, rating, aspects, reviews, method) a row."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import TypeVar

from bot.ingest.cells import (
    CellError,
    empty_cell,
    parse_count,
    parse_date,
    parse_method,
    parse_rating,
    seller_problem,
)
from bot.ingest.rows import Issue, RatingRow
from norms.model import ASPECTS, ShopRating

RATING_COLUMNS: tuple[str, ...] = ("seller_id", "date", "rating", *ASPECTS, "reviews", "method")
_T = TypeVar("_T")


class RatingReader:
    """Turns a record of a shop ratings table into a rating row."""

    def __init__(self, file: str, today: date) -> None:
        self.file = file
        self.today = today

    def locate(self, columns: dict[str, int]) -> None:
        self.columns = columns

    def _date(self, column: str, text: str) -> date:
        return parse_date(column, text, self.today)

    def row(self, line: int, cells: list[str]) -> RatingRow | list[Issue]:
        file, columns = self.file, self.columns
        issues: list[Issue] = []

        def cell(
            name: str, parse: Callable[[str, str], _T], *, optional: bool = False
        ) -> _T | None:
            text = cells[columns[name]].strip()
            if not text:
                if not optional:
                    issues.append(Issue(file, line, columns[name] + 1, empty_cell(name)))
                return None
            try:
                return parse(name, text)
            except CellError as exc:
                issues.append(Issue(file, line, columns[name] + 1, exc.reason))
                return None

        seller = cells[columns["seller_id"]].strip()
        if not seller or not seller.isprintable():
            issues.append(Issue(file, line, columns["seller_id"] + 1, seller_problem(seller)))
        on = cell("date", self._date)
        rating = cell("rating", parse_rating)
        aspects = {name: cell(name, parse_rating, optional=True) for name in ASPECTS}
        reviews = cell("reviews", parse_count)
        method = cell("method", parse_method)
        if issues or on is None or rating is None:
            return issues
        shop_rating = ShopRating(
            on=on,
            rating=rating,
            aspects={name: value for name, value in aspects.items() if value is not None},
            reviews=reviews,
            method=method,
        )
        return RatingRow(seller, shop_rating, file, line, columns["seller_id"] + 1)
