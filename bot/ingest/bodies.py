"""bol.com Retailer API v10 bodies, located in their file, turned into rows and issues.

Performance indicator items become measurements (a week without data has no ``score``:
no row, no issue); a ``retailers/current`` body becomes a shop rating dated today.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from typing import Any, cast

from bot.ingest.cells import (
    METHODS,
    CellError,
    check_count,
    check_fraction,
    check_rating,
    disagreement,
    parse_week,
    seller_problem,
)
from bot.ingest.located import Lines, Node
from bot.ingest.rows import Issue, MeasurementRow, RatingRow, Row
from norms.model import INDICATORS, Condition, Indicator, Measurement, ShopRating
from norms.weeks import IsoWeek

_INDICATOR_NAMES = {i.value: i for i in INDICATORS}
# retailers/current names of the aspect ratings, and ours (norms.model.ASPECTS)
_ASPECTS = {
    "productInformationRating": "product_information",
    "deliveryTimeRating": "delivery_time",
    "shippingRating": "shipping",
    "serviceRating": "service",
}
_WRAPPER = "an object with seller_id and performanceIndicators or retailer"


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _as_float(number: int | float) -> float | None:
    """``number`` as a float; None for an integer beyond the floats (10^400)."""
    try:
        return float(number)
    except OverflowError:
        return None


def _is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


class ApiBodies:
    """Turns located API bodies into rows and issues."""

    def __init__(self, file: str, lines: Lines, today: date) -> None:
        self.file, self.lines, self.today = file, lines, today

    def issue(self, node: Node, reason: str) -> Issue:
        line, column = self.lines.position(node.offset)
        return Issue(self.file, line, column, reason)

    def wrapper(self, node: Node) -> Iterator[Row | Issue]:
        if not isinstance(node.value, dict):
            yield self.issue(node, f"expected {_WRAPPER}")
            return
        fields: dict[str, Node] = node.value
        seller: str | None = None
        seller_node = fields.get("seller_id")
        if seller_node is None:
            yield self.issue(node, "seller_id is missing")
        elif not isinstance(seller_node.value, str):
            yield self.issue(seller_node, "seller_id must be a string")
        elif not seller_node.value.strip() or not seller_node.value.strip().isprintable():
            yield self.issue(seller_node, seller_problem(seller_node.value.strip()))
        else:
            seller = seller_node.value.strip()
        indicators, retailer = fields.get("performanceIndicators"), fields.get("retailer")
        if indicators is None and retailer is None:
            yield self.issue(node, "has neither performanceIndicators nor retailer")
        if indicators is not None:
            if not isinstance(indicators.value, list):
                yield self.issue(indicators, "performanceIndicators must be a list")
            else:
                for item in indicators.value:
                    yield from self.indicator(item, seller)
        if retailer is not None:
            yield from self.retailer(retailer, seller)

    def indicator(self, node: Node, seller: str | None) -> Iterator[Row | Issue]:
        """One item of ``performanceIndicators``; no row when it has no score (no data)."""
        fields = node.value
        if not isinstance(fields, dict):
            yield self.issue(node, "a performance indicator must be an object")
            return
        issues: list[Issue] = []
        indicator = self._indicator_name(node, fields, issues)
        details = fields.get("details")
        if details is None or not isinstance(details.value, dict):
            issues.append(self.issue(details or node, "details must be an object"))
            yield from issues
            return
        week = self._period(details, issues)
        score = details.value.get("score")
        norm, condition = self._norm(details, indicator, issues)
        if score is None or score.value is None:
            # bol.com gives no score for a week without data. Absence is not a figure: no
            # row, so what was stored for that week (an upload, an earlier poll) stays.
            yield from issues
            return
        if not isinstance(score.value, dict):
            issues.append(self.issue(score, "score must be an object"))
            yield from issues
            return
        scored = self._score(score, indicator, issues)
        if issues or seller is None or indicator is None or week is None or scored is None:
            yield from issues
            return
        numerator, denominator, value, conforms = scored
        measurement = Measurement(
            indicator, week, numerator, denominator, value, norm, condition, conforms
        )
        line, column = self.lines.position(node.offset)
        yield MeasurementRow(seller, measurement, self.file, line, column)

    def _indicator_name(
        self, node: Node, fields: dict[str, Node], issues: list[Issue]
    ) -> Indicator | None:
        name = fields.get("name")
        if name is None:
            issues.append(self.issue(node, "name is missing"))
            return None
        indicator = _INDICATOR_NAMES.get(name.value) if isinstance(name.value, str) else None
        if indicator is None:
            issues.append(
                self.issue(
                    name, f"indicator {name.value!r} is unknown; use one of {', '.join(INDICATORS)}"
                )
            )
        return indicator

    def _period(self, details: Node, issues: list[Issue]) -> IsoWeek | None:
        period = details.value.get("period")
        if period is None or not isinstance(period.value, dict):
            issues.append(self.issue(period or details, "period must be an object"))
            return None
        texts: dict[str, str] = {}
        for key in ("year", "week"):
            part = period.value.get(key)
            raw = None if part is None else part.value
            if isinstance(raw, int) and not isinstance(raw, bool):
                raw = str(raw)
            if not isinstance(raw, str) or not raw.isascii() or not raw.isdigit():
                issues.append(self.issue(part or period, f"period.{key} must be a whole number"))
                return None
            texts[key] = raw
        try:
            return parse_week(texts["week"], texts["year"], self.today)
        except CellError as exc:
            issues.append(self.issue(period, exc.reason))
            return None

    def _norm(
        self, details: Node, indicator: Indicator | None, issues: list[Issue]
    ) -> tuple[float | None, Condition | None]:
        norm = details.value.get("norm")
        if norm is None or norm.value is None:
            return None, None
        if not isinstance(norm.value, dict):
            issues.append(self.issue(norm, "norm must be an object"))
            return None, None
        condition = norm.value.get("condition")
        value = norm.value.get("value")
        result: float | None = None
        if condition is not None and condition.value not in (">=", "<="):
            issues.append(
                self.issue(condition, f"norm condition {condition.value!r} is not >= or <=")
            )
        if value is not None and value.value is not None:
            if not _is_number(value.value):
                issues.append(self.issue(value, f"norm value {value.value!r} is not a number"))
            else:
                try:
                    result = float(self._check(indicator, "norm value", value.value))
                except CellError as exc:
                    issues.append(self.issue(value, exc.reason))
        if condition is None or condition.value not in (">=", "<="):
            return result, None
        return result, cast(Condition, condition.value)

    def _check(self, indicator: Indicator | None, column: str, number: float) -> float:
        if indicator is Indicator.REVIEWS:
            return check_rating(column, number)
        if indicator is None:
            return number
        return check_fraction(column, number)

    def _score(
        self, score: Node, indicator: Indicator | None, issues: list[Issue]
    ) -> tuple[int | None, int | None, float | None, bool | None] | None:
        fields: dict[str, Node] = score.value
        before = len(issues)
        counts: dict[str, int | None] = {}
        for key in ("numerator", "denominator"):
            node = fields.get(key)
            counts[key] = None
            if node is None or node.value is None:
                continue
            if not _is_count(node.value):
                issues.append(self.issue(node, f"{key} {node.value!r} is not a whole number ≥ 0"))
                continue
            try:
                counts[key] = check_count(key, node.value)
            except CellError as exc:
                issues.append(self.issue(node, exc.reason))
        numerator, denominator = counts["numerator"], counts["denominator"]
        counts_ok = len(issues) == before
        value: float | None = None
        value_node = fields.get("value")
        has_value = value_node is not None and value_node.value is not None
        if value_node is not None and value_node.value is not None:
            if not _is_number(value_node.value):
                issues.append(self.issue(value_node, f"value {value_node.value!r} is not a number"))
            elif denominator == 0:
                # A week without data: the value means nothing (and may not even be a float).
                value = _as_float(value_node.value)
            else:
                try:
                    value = float(self._check(indicator, "value", value_node.value))
                except CellError as exc:
                    issues.append(self.issue(value_node, exc.reason))
                else:
                    reason = self._disagreement(indicator, numerator, denominator, value)
                    if reason is not None:
                        issues.append(self.issue(value_node, reason))
        conforms_node = fields.get("conforms")
        conforms = None if conforms_node is None else conforms_node.value
        if conforms is not None and not isinstance(conforms, bool):
            issues.append(self.issue(conforms_node or score, "conforms must be true or false"))
        if counts_ok:
            problem = self._completeness(indicator, numerator, denominator, has_value)
            if problem is not None:
                reason, key = problem
                issues.append(self.issue(fields.get(key) or score, reason))
        if len(issues) > before:
            return None
        return numerator, denominator, value, conforms

    @staticmethod
    def _disagreement(
        indicator: Indicator | None, numerator: int | None, denominator: int | None, value: float
    ) -> str | None:
        """Why a value and the counts beside it disagree (an average has no such relation)."""
        if indicator in (None, Indicator.REVIEWS) or numerator is None or not denominator:
            return None
        # The shortest decimal that reads back as the float is the figure as written.
        written = repr(value)
        return disagreement(written, Decimal(written), numerator, denominator)

    @staticmethod
    def _completeness(
        indicator: Indicator | None,
        numerator: int | None,
        denominator: int | None,
        has_value: bool,
    ) -> tuple[str, str] | None:
        """What is wrong with the score as a whole, and the field to point at."""
        if indicator is Indicator.REVIEWS:
            if not has_value and denominator != 0:
                return "score has no value; REVIEWS needs the average rating 1–10", "value"
            return None
        if numerator is not None and denominator is not None:
            if numerator > denominator:
                reason = f"numerator {numerator} is greater than denominator {denominator}"
                return reason, "numerator"
        elif numerator is not None:
            return "score has a numerator but no denominator", "numerator"
        elif denominator is not None:
            return "score has a denominator but no numerator", "denominator"
        elif not has_value:
            return "score has neither a value nor numerator and denominator", ""
        return None

    def retailer(self, node: Node, seller: str | None) -> Iterator[Row | Issue]:
        """The retailers/current body: a shop rating dated today; none before any review."""
        fields = node.value
        if not isinstance(fields, dict):
            yield self.issue(node, "retailer must be an object")
            return
        issues: list[Issue] = []
        reviews = self._optional(fields.get("retailerReview"), "totalReviewCount", issues)
        ratings = fields.get("retailerRating")
        if ratings is None or ratings.value is None or reviews == 0:
            yield from issues  # no reviews, no rating (whatever figure the body holds)
            return
        if not isinstance(ratings.value, dict):
            yield self.issue(ratings, "retailerRating must be an object")
            return
        average = ratings.value.get("retailerRating")
        rating: float | None = None
        if average is not None and average.value is not None:
            rating = self._rating(average, "retailerRating", issues)
        aspects: dict[str, float] = {}
        for key, aspect in _ASPECTS.items():
            found = ratings.value.get(key)
            if found is not None and found.value is not None:
                number = self._rating(found, key, issues)
                if number is not None:
                    aspects[aspect] = number
        method = fields.get("ratingMethod")
        if method is not None and method.value is not None and method.value not in METHODS:
            issues.append(
                self.issue(method, f"ratingMethod {method.value!r} is not {' or '.join(METHODS)}")
            )
        top = fields.get("topRetailer")
        if top is not None and top.value is not None and not isinstance(top.value, bool):
            issues.append(self.issue(top, "topRetailer must be true or false"))
        if issues or seller is None or rating is None:
            yield from issues
            return
        shop_rating = ShopRating(
            on=self.today,
            rating=rating,
            aspects=aspects,
            reviews=reviews,
            method=None if method is None else method.value,
            top_retailer=None if top is None else top.value,
        )
        line, column = self.lines.position(node.offset)
        yield RatingRow(seller, shop_rating, self.file, line, column)

    def _rating(self, node: Node, key: str, issues: list[Issue]) -> float | None:
        try:
            if not _is_number(node.value):
                raise CellError(f"{key} {node.value!r} is not a rating 1–10")
            return float(check_rating(key, node.value))
        except CellError as exc:
            issues.append(self.issue(node, exc.reason))
            return None

    def _optional(self, parent: Node | None, key: str, issues: list[Issue]) -> int | None:
        if parent is None or parent.value is None:
            return None
        if not isinstance(parent.value, dict):
            issues.append(self.issue(parent, "retailerReview must be an object"))
            return None
        node = parent.value.get(key)
        if node is None or node.value is None:
            return None
        if not _is_count(node.value):
            issues.append(self.issue(node, f"{key} {node.value!r} is not a whole number ≥ 0"))
            return None
        try:
            return check_count(key, node.value)
        except CellError as exc:
            issues.append(self.issue(node, exc.reason))
            return None
