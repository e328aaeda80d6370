"""bol.com Retailer API v10 bodies, located in their file, turned into rows and issues.

Performance indicator items become measurements (a week without data has no ``score``:
no row, no issue); a ``retailers/current`` body becomes a shop rating dated today.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
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
    not_method,
    not_rating,
    numerator_above,
    parse_week,
    seller_problem,
    unknown_indicator,
)
from bot.ingest.located import Lines, Node
from bot.ingest.rows import Issue, MeasurementRow, RatingRow, Row
from messages.reasons import N_, Reason
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
# What reads one body of a wrapper: the body, its seller (None when the wrapper's is
# wrong), and the wrapper's fields (where a body's companions, like fetched_at, are).
BodyReader = Callable[[Node, str | None, dict[str, Node]], Iterator[Row | Issue]]


def _shape(readers: dict[str, BodyReader]) -> str:
    names = list(readers)
    listed = names[0] if len(names) == 1 else f"{', '.join(names[:-1])} or {names[-1]}"
    return f"an object with seller_id and {'one of ' if len(names) > 2 else ''}{listed}"


def _must_be_object(field: str) -> Reason:
    return Reason(N_("%(field)s must be an object"), field=field)


def _missing(field: str) -> Reason:
    return Reason(N_("%(field)s is missing"), field=field)


def _not_boolean(field: str) -> Reason:
    return Reason(N_("%(field)s must be true or false"), field=field)


def _not_number(field: str, given: Any) -> Reason:
    return Reason(N_("%(field)s %(given)s is not a number"), field=field, given=repr(given))


def _not_count(field: str, given: Any) -> Reason:
    return Reason(
        N_("%(column)s %(given)s is not a whole number ≥ 0"), column=field, given=repr(given)
    )


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

    def issue(self, node: Node, reason: Reason) -> Issue:
        line, column = self.lines.position(node.offset)
        return Issue(self.file, line, column, reason)

    def readers(self) -> dict[str, BodyReader]:
        """What reads each body a wrapper may hold, by its key."""
        return {"performanceIndicators": self.performance_indicators, "retailer": self.retailer}

    def wrapper(self, node: Node) -> Iterator[Row | Issue]:
        """One wrapped body (or several beside one ``seller_id``), as rows and issues."""
        readers = self.readers()
        shape = Reason(N_("expected %(shape)s"), shape=_shape(readers))
        if not isinstance(node.value, dict):
            yield self.issue(node, shape)
            return
        fields: dict[str, Node] = node.value
        seller: str | None = None
        seller_node = fields.get("seller_id")
        if seller_node is None:
            yield self.issue(node, _missing("seller_id"))
        elif not isinstance(seller_node.value, str):
            yield self.issue(seller_node, Reason(N_("seller_id must be a string")))
        elif not seller_node.value.strip() or not seller_node.value.strip().isprintable():
            yield self.issue(seller_node, seller_problem(seller_node.value.strip()))
        else:
            seller = seller_node.value.strip()
        bodies = [(key, fields[key]) for key in readers if key in fields]
        if not bodies:
            yield self.issue(node, shape)
        for key, body in bodies:
            yield from readers[key](body, seller, fields)

    def performance_indicators(
        self, node: Node, seller: str | None, wrapper: dict[str, Node]
    ) -> Iterator[Row | Issue]:
        """The body of ``performance/indicator``: a list of indicators."""
        if not isinstance(node.value, list):
            yield self.issue(node, Reason(N_("performanceIndicators must be a list")))
            return
        for item in node.value:
            yield from self.indicator(item, seller)

    def indicator(self, node: Node, seller: str | None) -> Iterator[Row | Issue]:
        """One item of ``performanceIndicators``; no row when it has no score (no data)."""
        fields = node.value
        if not isinstance(fields, dict):
            yield self.issue(node, Reason(N_("a performance indicator must be an object")))
            return
        issues: list[Issue] = []
        indicator = self._indicator_name(node, fields, issues)
        details = fields.get("details")
        if details is None or not isinstance(details.value, dict):
            issues.append(self.issue(details or node, _must_be_object("details")))
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
            issues.append(self.issue(score, _must_be_object("score")))
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
            issues.append(self.issue(node, _missing("name")))
            return None
        indicator = _INDICATOR_NAMES.get(name.value) if isinstance(name.value, str) else None
        if indicator is None:
            issues.append(self.issue(name, unknown_indicator(repr(name.value))))
        return indicator

    def _period(self, details: Node, issues: list[Issue]) -> IsoWeek | None:
        period = details.value.get("period")
        if period is None or not isinstance(period.value, dict):
            issues.append(self.issue(period or details, _must_be_object("period")))
            return None
        texts: dict[str, str] = {}
        for key in ("year", "week"):
            part = period.value.get(key)
            raw = None if part is None else part.value
            if isinstance(raw, int) and not isinstance(raw, bool):
                raw = str(raw)
            if not isinstance(raw, str) or not raw.isascii() or not raw.isdigit():
                issues.append(
                    self.issue(
                        part or period,
                        Reason(N_("%(field)s must be a whole number"), field=f"period.{key}"),
                    )
                )
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
            issues.append(self.issue(norm, _must_be_object("norm")))
            return None, None
        condition = norm.value.get("condition")
        value = norm.value.get("value")
        result: float | None = None
        if condition is not None and condition.value not in (">=", "<="):
            issues.append(
                self.issue(
                    condition,
                    Reason(
                        N_("norm condition %(given)s is not >= or <="), given=repr(condition.value)
                    ),
                )
            )
        if value is not None and value.value is not None:
            if not _is_number(value.value):
                issues.append(self.issue(value, _not_number("norm value", value.value)))
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
                issues.append(self.issue(node, _not_count(key, node.value)))
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
                issues.append(self.issue(value_node, _not_number("value", value_node.value)))
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
            issues.append(self.issue(conforms_node or score, _not_boolean("conforms")))
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
    ) -> Reason | None:
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
    ) -> tuple[Reason, str] | None:
        """What is wrong with the score as a whole, and the field to point at."""
        if indicator is Indicator.REVIEWS:
            if not has_value and denominator != 0:
                return Reason(
                    N_("score has no value; REVIEWS needs the average rating 1–10")
                ), "value"
            return None
        if numerator is not None and denominator is not None:
            if numerator > denominator:
                reason = numerator_above(numerator, denominator)
                return reason, "numerator"
        elif numerator is not None:
            return Reason(N_("score has a numerator but no denominator")), "numerator"
        elif denominator is not None:
            return Reason(N_("score has a denominator but no numerator")), "denominator"
        elif not has_value:
            return Reason(N_("score has neither a value nor numerator and denominator")), ""
        return None

    def retailer(
        self, node: Node, seller: str | None, wrapper: dict[str, Node] | None = None
    ) -> Iterator[Row | Issue]:
        """The retailers/current body: a shop rating dated today; none before any review."""
        fields = node.value
        if not isinstance(fields, dict):
            yield self.issue(node, _must_be_object("retailer"))
            return
        issues: list[Issue] = []
        reviews = self._optional(fields.get("retailerReview"), "totalReviewCount", issues)
        ratings = fields.get("retailerRating")
        if ratings is None or ratings.value is None or reviews == 0:
            yield from issues  # no reviews, no rating (whatever figure the body holds)
            return
        if not isinstance(ratings.value, dict):
            yield self.issue(ratings, _must_be_object("retailerRating"))
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
            issues.append(self.issue(method, not_method("ratingMethod", repr(method.value))))
        top = fields.get("topRetailer")
        if top is not None and top.value is not None and not isinstance(top.value, bool):
            issues.append(self.issue(top, _not_boolean("topRetailer")))
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
                raise CellError(not_rating(key, repr(node.value)))
            return float(check_rating(key, node.value))
        except CellError as exc:
            issues.append(self.issue(node, exc.reason))
            return None

    def _optional(self, parent: Node | None, key: str, issues: list[Issue]) -> int | None:
        if parent is None or parent.value is None:
            return None
        if not isinstance(parent.value, dict):
            issues.append(self.issue(parent, _must_be_object("retailerReview")))
            return None
        node = parent.value.get(key)
        if node is None or node.value is None:
            return None
        if not _is_count(node.value):
            issues.append(self.issue(node, _not_count(key, node.value)))
            return None
        try:
            return check_count(key, node.value)
        except CellError as exc:
            issues.append(self.issue(node, exc.reason))
            return None
