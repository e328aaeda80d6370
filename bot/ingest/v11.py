"""bol.com Retailer API v11 bodies, located in their file, turned into rows and issues.

Beside v10's bodies a wrapper may hold ``kpiScore`` (one body of ``kpi-scores``: one KPI of
one week, a measurement; none when bol.com sent no score), ``ratings`` (the body of
``current/ratings``: a shop rating dated today) or ``performanceStatus`` (a snapshot of
bol.com's own verdict, fetched at the wrapper's ``fetched_at``, else at the import's
moment). Field names, and which fields are required, follow bol.com's OpenAPI document
(Retailers API 11.1.0); a field that does not fit is named where it starts.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, time
from typing import Any, cast

from bot.ingest.bodies import (
    _ASPECTS,
    ApiBodies,
    BodyReader,
    _as_float,
    _is_count,
    _is_number,
    _missing,
    _must_be_object,
    _not_boolean,
    _not_count,
    _not_number,
)
from bot.ingest.cells import (
    CellError,
    check_count,
    check_rating,
    numerator_above,
    parse_week,
    unknown_indicator,
)
from bot.ingest.located import Lines, Node
from bot.ingest.rows import Issue, MeasurementRow, RatingRow, Row, StatusRow
from messages.reasons import N_, Reason
from norms.bol import BodyError, status_from_body
from norms.model import INDICATORS, Condition, Indicator, Measurement, ShopRating
from norms.weeks import IsoWeek

_KPIS = {i.value: i for i in INDICATORS}
# v11 writes a norm's condition as bol.com's API always did (>=) or in words (gte).
_CONDITIONS: dict[str, Condition] = {">=": ">=", "<=": "<=", "gte": ">=", "lte": "<="}
_NORM_TYPES = ("DYNAMIC", "FIXED")
# v11's rating methods, and ours (the shop ratings' THREE_MONTHS is v11's RECENT_REVIEWS).
_METHODS = {"RECENT_REVIEWS": "THREE_MONTHS", "ALL_REVIEWS": "ALL_REVIEWS"}
_REVIEW_COUNTS = (
    "totalReviewCount",
    "positiveReviewCount",
    "neutralReviewCount",
    "negativeReviewCount",
)
_V11_WEEK = re.compile(r"(\d{4})-W?(\d{1,2})", re.ASCII)
_PATH_PART = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def _not_one_of(field: str, given: Any, first: str, second: str) -> Reason:
    return Reason(
        N_("%(column)s %(given)s is not %(first)s or %(second)s"),
        column=field,
        given=repr(given),
        first=first,
        second=second,
    )


class V11Bodies(ApiBodies):
    """Turns located v10 and v11 API bodies into rows and issues.

    ``now`` is the import's moment: a snapshot without ``fetched_at`` was fetched then, and
    one fetched later is refused. Without it (a file read but not imported) a snapshot
    without ``fetched_at`` is dated at the start of ``today``."""

    def __init__(self, file: str, lines: Lines, today: date, now: datetime | None = None) -> None:
        super().__init__(file, lines, today)
        self.now = now

    def readers(self) -> dict[str, BodyReader]:
        return {
            **super().readers(),
            "kpiScore": self.kpi_score,
            "performanceStatus": self.performance_status,
            "ratings": self.ratings,
        }

    # --- kpi-scores ------------------------------------------------------------------------

    def kpi_score(
        self, node: Node, seller: str | None, wrapper: dict[str, Node]
    ) -> Iterator[Row | Issue]:
        """One KPI of one week; no row when it has no score (absence is not a figure)."""
        if not isinstance(node.value, dict):
            yield self.issue(node, _must_be_object("kpiScore"))
            return
        fields: dict[str, Node] = node.value
        issues: list[Issue] = []
        indicator = self._kpi(node, fields, issues)
        week = self._kpi_period(node, fields, issues)
        excluded = self._required(node, fields, "excluded", issues)
        if excluded is not None and not isinstance(excluded.value, bool):
            issues.append(self.issue(excluded, _not_boolean("excluded")))
        norm, condition = self._kpi_norm(node, fields, indicator, issues)
        score = fields.get("score")
        if score is None or score.value is None:
            yield from issues  # bol.com sends no score for a week without data: no row
            return
        if not isinstance(score.value, dict):
            issues.append(self.issue(score, _must_be_object("score")))
            yield from issues
            return
        scored = self._kpi_figures(score, indicator, issues)
        if issues or seller is None or indicator is None or week is None or scored is None:
            yield from issues
            return
        assert excluded is not None
        numerator, denominator, value, conforms = scored
        measurement = Measurement(
            indicator,
            week,
            numerator,
            denominator,
            value,
            norm,
            condition,
            conforms,
            excluded=bool(excluded.value),
        )
        line, column = self.lines.position(node.offset)
        yield MeasurementRow(seller, measurement, self.file, line, column)

    def _required(
        self, parent: Node, fields: dict[str, Node], key: str, issues: list[Issue], path: str = ""
    ) -> Node | None:
        found = fields.get(key)
        if found is None or found.value is None:
            issues.append(self.issue(found or parent, _missing(f"{path}{key}")))
            return None
        return found

    def _kpi(self, node: Node, fields: dict[str, Node], issues: list[Issue]) -> Indicator | None:
        name = self._required(node, fields, "kpi", issues)
        if name is None:
            return None
        indicator = _KPIS.get(name.value) if isinstance(name.value, str) else None
        if indicator is None:
            issues.append(self.issue(name, unknown_indicator(repr(name.value))))
        return indicator

    def _kpi_period(
        self, node: Node, fields: dict[str, Node], issues: list[Issue]
    ) -> IsoWeek | None:
        period = self._required(node, fields, "period", issues)
        if period is None:
            return None
        if not isinstance(period.value, dict):
            issues.append(self.issue(period, _must_be_object("period")))
            return None
        kind = self._required(period, period.value, "type", issues, "period.")
        if kind is not None and kind.value != "WEEK":
            issues.append(
                self.issue(
                    kind,
                    Reason(
                        N_("%(field)s %(given)s is not %(expected)s"),
                        field="period.type",
                        given=repr(kind.value),
                        expected="WEEK",
                    ),
                )
            )
        found = self._required(period, period.value, "id", issues, "period.")
        if found is None:
            return None
        try:
            return self.week(found.value, "period.id")
        except CellError as exc:
            issues.append(self.issue(found, exc.reason))
            return None

    def week(self, given: object, field: str) -> IsoWeek:
        """A week as v11 writes it (``2026-46``), that exists and has begun."""
        match = _V11_WEEK.fullmatch(given) if isinstance(given, str) else None
        if match is None:
            raise CellError(_not_week(field, given), field)
        return parse_week(f"{match.group(1)}-W{int(match.group(2)):02d}", None, self.today)

    def _kpi_norm(
        self, node: Node, fields: dict[str, Node], indicator: Indicator | None, issues: list[Issue]
    ) -> tuple[float | None, Condition | None]:
        norm = self._required(node, fields, "norm", issues)
        if norm is None:
            return None, None
        if not isinstance(norm.value, dict):
            issues.append(self.issue(norm, _must_be_object("norm")))
            return None, None
        parts: dict[str, Node] = norm.value
        kind = self._required(norm, parts, "type", issues, "norm.")
        if kind is not None and kind.value not in _NORM_TYPES:
            issues.append(self.issue(kind, _not_one_of("norm.type", kind.value, *_NORM_TYPES)))
        condition: Condition | None = None
        said = self._required(norm, parts, "condition", issues, "norm.")
        if said is not None:
            text = said.value.strip().lower() if isinstance(said.value, str) else None
            condition = _CONDITIONS.get(text) if text is not None else None
            if condition is None:
                issues.append(
                    self.issue(
                        said,
                        Reason(
                            N_("norm condition %(given)s is not >= or <="), given=repr(said.value)
                        ),
                    )
                )
        value: float | None = None
        found = self._required(norm, parts, "value", issues, "norm.")
        if found is not None:
            if not _is_number(found.value):
                issues.append(self.issue(found, _not_number("norm.value", found.value)))
            else:
                try:
                    value = float(self._check(indicator, "norm.value", found.value))
                except CellError as exc:
                    issues.append(self.issue(found, exc.reason))
        return value, condition

    def _kpi_figures(
        self, score: Node, indicator: Indicator | None, issues: list[Issue]
    ) -> tuple[int, int, float | None, bool] | None:
        """The score's five fields, each required: counts, value, distance, conformance."""
        fields: dict[str, Node] = score.value
        before = len(issues)
        counts: dict[str, int] = {}
        for key in ("numerator", "denominator"):
            found = self._required(score, fields, key, issues, "score.")
            if found is None:
                continue
            if not _is_count(found.value):
                issues.append(self.issue(found, _not_count(f"score.{key}", found.value)))
                continue
            try:
                counts[key] = check_count(f"score.{key}", found.value)
            except CellError as exc:
                issues.append(self.issue(found, exc.reason))
        value: float | None = None
        found = self._required(score, fields, "value", issues, "score.")
        if found is not None:
            if not _is_number(found.value):
                issues.append(self.issue(found, _not_number("score.value", found.value)))
            elif counts.get("denominator") == 0:
                # A week without data: the value means nothing (and may not even be a float).
                value = _as_float(found.value)
            else:
                try:
                    value = float(self._check(indicator, "score.value", found.value))
                except CellError as exc:
                    issues.append(self.issue(found, exc.reason))
                else:
                    reason = self._disagreement(
                        indicator, counts.get("numerator"), counts.get("denominator"), value
                    )
                    if reason is not None:
                        issues.append(self.issue(found, reason))
        distance = self._required(score, fields, "distanceToNorm", issues, "score.")
        if distance is not None and not _is_number(distance.value):
            issues.append(self.issue(distance, _not_number("score.distanceToNorm", distance.value)))
        conforms = self._required(score, fields, "conformsToNorm", issues, "score.")
        if conforms is not None and not isinstance(conforms.value, bool):
            issues.append(self.issue(conforms, _not_boolean("score.conformsToNorm")))
        numerator, denominator = counts.get("numerator"), counts.get("denominator")
        if (
            indicator is not Indicator.REVIEWS  # an average: its numerator is no count of it
            and numerator is not None
            and denominator is not None
            and numerator > denominator
        ):
            issues.append(self.issue(fields["numerator"], numerator_above(numerator, denominator)))
        if len(issues) > before or numerator is None or denominator is None:
            return None
        assert conforms is not None
        return numerator, denominator, value, bool(conforms.value)

    # --- current/ratings -------------------------------------------------------------------

    def ratings(
        self, node: Node, seller: str | None, wrapper: dict[str, Node]
    ) -> Iterator[Row | Issue]:
        """The shop rating, its aspects, reviews and top-retailer flag, dated today; none
        before the first review."""
        if not isinstance(node.value, dict):
            yield self.issue(node, _must_be_object("ratings"))
            return
        fields: dict[str, Node] = node.value
        issues: list[Issue] = []
        method: str | None = None
        said = self._required(node, fields, "ratingMethod", issues)
        if said is not None:
            method = _METHODS.get(said.value) if isinstance(said.value, str) else None
            if method is None:
                issues.append(self.issue(said, _not_one_of("ratingMethod", said.value, *_METHODS)))
        reviews = self._reviews(node, fields, issues)
        top = fields.get("isTopRetailer")  # required, and may be null
        if top is None:
            issues.append(self.issue(node, _missing("isTopRetailer")))
        elif top.value is not None and not isinstance(top.value, bool):
            issues.append(self.issue(top, _not_boolean("isTopRetailer")))
        rating: float | None = None
        aspects: dict[str, float] = {}
        figures = self._required(node, fields, "retailerRating", issues)
        if figures is not None and not isinstance(figures.value, dict):
            issues.append(self.issue(figures, _must_be_object("retailerRating")))
        elif figures is not None and reviews != 0:  # no reviews, no rating, whatever it says
            average = self._required(figures, figures.value, "retailerRating", issues)
            if average is not None:
                rating = self._rating(average, "retailerRating.retailerRating", issues)
            for key, aspect in _ASPECTS.items():
                found = figures.value.get(key)
                if found is not None and found.value is not None:
                    number = self._rating(found, f"retailerRating.{key}", issues)
                    if number is not None:
                        aspects[aspect] = number
        if issues or seller is None or rating is None or reviews is None:
            yield from issues
            return
        shop_rating = ShopRating(
            on=self.today,
            rating=rating,
            aspects=aspects,
            reviews=reviews,
            method=method,
            top_retailer=None if top is None else cast(bool | None, top.value),
        )
        line, column = self.lines.position(node.offset)
        yield RatingRow(seller, shop_rating, self.file, line, column)

    def _reviews(self, node: Node, fields: dict[str, Node], issues: list[Issue]) -> int | None:
        """``retailerReview``'s total, after its four counts and approval are checked."""
        review = self._required(node, fields, "retailerReview", issues)
        if review is None:
            return None
        if not isinstance(review.value, dict):
            issues.append(self.issue(review, _must_be_object("retailerReview")))
            return None
        counts: dict[str, int] = {}
        for key in _REVIEW_COUNTS:
            found = self._required(review, review.value, key, issues, "retailerReview.")
            if found is None:
                continue
            if not _is_count(found.value):
                issues.append(self.issue(found, _not_count(f"retailerReview.{key}", found.value)))
                continue
            try:
                counts[key] = check_count(f"retailerReview.{key}", found.value)
            except CellError as exc:
                issues.append(self.issue(found, exc.reason))
        approval = review.value.get("approvalPercentage")
        if approval is not None and approval.value is not None:
            if not _is_number(approval.value):
                issues.append(
                    self.issue(
                        approval, _not_number("retailerReview.approvalPercentage", approval.value)
                    )
                )
            elif not 0 <= approval.value <= 100:
                issues.append(
                    self.issue(
                        approval,
                        _outside("retailerReview.approvalPercentage", approval.value, 0, 100),
                    )
                )
        return counts.get("totalReviewCount")

    def _rating(self, node: Node, key: str, issues: list[Issue]) -> float | None:
        try:
            if not _is_number(node.value):
                raise CellError(_not_rating(key, node.value))
            return float(check_rating(key, node.value))
        except CellError as exc:
            issues.append(self.issue(node, exc.reason))
            return None

    # --- performance-status ----------------------------------------------------------------

    def performance_status(
        self, node: Node, seller: str | None, wrapper: dict[str, Node]
    ) -> Iterator[Row | Issue]:
        """A snapshot of bol.com's verdict, fetched at the wrapper's ``fetched_at`` or now."""
        issues: list[Issue] = []
        fetched = self._fetched_at(wrapper.get("fetched_at"), issues)
        try:
            status = status_from_body(_plain(node), fetched)
        except BodyError as exc:
            issues.append(self.issue(_node_at(node, exc.path), _body_reason(exc)))
        if issues or seller is None:
            yield from issues
            return
        line, column = self.lines.position(node.offset)
        yield StatusRow(seller, status, self.file, line, column)

    def _fetched_at(self, found: Node | None, issues: list[Issue]) -> datetime:
        default = self.now or datetime.combine(self.today, time(), UTC)
        if found is None or found.value is None:
            return default
        given = found.value
        try:
            if not isinstance(given, str):
                raise ValueError(given)
            moment = datetime.fromisoformat(given.strip().replace("Z", "+00:00"))
            if moment.tzinfo is None:
                raise ValueError(given)
        except ValueError:
            issues.append(self.issue(found, _not_moment("fetched_at", given)))
            return default
        if self.now is not None and moment > self.now:
            issues.append(
                self.issue(
                    found,
                    Reason(
                        N_("%(column)s %(given)s lies in the future"),
                        column="fetched_at",
                        given=given,
                    ),
                )
            )
        return moment


def _plain(node: Node) -> Any:
    """The located value as plain JSON again (objects and lists of values)."""
    value = node.value
    if isinstance(value, dict):
        return {key: _plain(child) for key, child in value.items()}
    if isinstance(value, list):
        return [_plain(child) for child in value]
    return value


def _node_at(root: Node, path: str) -> Node:
    """The node ``path`` names (``qualityScore.shippingMethodScores[0].score``), or the
    deepest one on the way that is there (the object a missing field belongs in)."""
    node = root
    for name, index in _PATH_PART.findall(path):
        value = node.value
        if name and isinstance(value, dict) and isinstance(value.get(name), Node):
            node = value[name]
        elif index and isinstance(value, list) and int(index) < len(value):
            node = value[int(index)]
        else:
            break
    return node


def _body_reason(exc: BodyError) -> Reason:
    """A snapshot's field that does not fit, said as the catalog says it."""
    field = exc.path or "performanceStatus"
    given = exc.given
    match exc.kind:
        case "object":
            return _must_be_object(field)
        case "list":
            return Reason(N_("%(field)s must be a list"), field=field)
        case "missing":
            return _missing(field)
        case "text":
            return Reason(N_("%(field)s must be a text"), field=field)
        case "number":
            return _not_number(field, given)
        case "whole":
            return Reason(N_("%(field)s must be a whole number"), field=field)
        case "range" if exc.low is not None and exc.high is not None:
            return _outside(field, given, exc.low, exc.high)
        case "boolean":
            return _not_boolean(field)
        case "week":
            return _not_week(field, given)
        case "moment" | "zone":
            return _not_moment(field, given)
        case "order":
            return Reason(N_("%(field)s starts after it ends"), field=field)
    return Reason(N_("%(field)s: %(detail)s"), field=field, detail=exc.reason)


def _bound(number: float) -> str:
    return f"{number:g}"


def _outside(field: str, given: Any, low: float, high: float) -> Reason:
    return Reason(
        N_("%(field)s %(given)s is outside %(low)s–%(high)s"),
        field=field,
        given=repr(given),
        low=_bound(low),
        high=_bound(high),
    )


def _not_week(field: str, given: Any) -> Reason:
    return Reason(
        N_("%(field)s %(given)s is not a week like 2026-47"), field=field, given=repr(given)
    )


def _not_moment(field: str, given: Any) -> Reason:
    return Reason(
        N_("%(field)s %(given)s is not a date and time with its time zone, like %(example)s"),
        field=field,
        given=repr(given),
        example="2026-11-18T09:00:00+01:00",
    )


def _not_rating(field: str, given: Any) -> Reason:
    return Reason(N_("%(column)s %(given)s is not a rating 1–10"), column=field, given=repr(given))
