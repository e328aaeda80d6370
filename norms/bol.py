"""bol.com's own verdict (NORMS.md §9): the performance-status snapshot, as plain data.

Since Retailer API v11 bol.com states each seller's account state itself: the monitoring
system, the strikes it counts and why, the policy points left with every violation, and a
weekly quality score per shipping method. Where a snapshot is known it is the authority;
the derived track is the forecast beside it. bol.com may leave any part out, so every
part is optional: no snapshot (or no part), no claim.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from norms.weeks import IsoWeek

GROEISTART = "GroeiStart"

# The shipping methods of the quality score, as bol.com names them.
SHIPPING_METHODS: tuple[str, ...] = ("SHIPPING_VIA_BOL", "LOGISTICS_VIA_BOL", "OWN_SHIPPING")

# The orders after which bol.com evaluates a seller in GroeiStart.
GROEISTART_EVALUATIONS: tuple[int, ...] = (10, 50, 100)


@dataclass(frozen=True, slots=True)
class StrikeWeek:
    """A week bol.com counts as a strike, with the KPIs that caused it."""

    week: IsoWeek
    reasons: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Strikes:
    """bol.com's strike count over its monitor period (currently 22 weeks)."""

    count: int
    weeks: tuple[StrikeWeek, ...] = ()
    period_start: IsoWeek | None = None
    period_end: IsoWeek | None = None

    @property
    def strike_weeks(self) -> tuple[IsoWeek, ...]:
        return tuple(sorted(s.week for s in self.weeks))

    def in_period(self, week: IsoWeek) -> bool:
        """Whether ``week`` lies in the monitor period (any week, when none was sent)."""
        return (self.period_start is None or week >= self.period_start) and (
            self.period_end is None or week <= self.period_end
        )


@dataclass(frozen=True, slots=True)
class Violation:
    """One policy violation of the last 365 days, as bol.com registered it."""

    violation_id: str
    registered: datetime
    category: str
    sub_category: str
    violation_type: str  # POINTS_DEDUCTION, POINTS_ADDITION or WARNING
    points: int
    proportionality_applied: bool = False
    pre_proportional_points: int | None = None

    @property
    def deducts(self) -> bool:
        return self.violation_type == "POINTS_DEDUCTION"


@dataclass(frozen=True, slots=True)
class QualityKpi:
    """One KPI behind a shipping method's quality score; bol.com may leave either out."""

    kpi: str
    score: float | None
    norm: float | None
    aggregation_level: str | None = None


@dataclass(frozen=True, slots=True)
class MethodScore:
    """The quality score of one shipping method, its weight in the total, and its KPIs."""

    method: str
    score: int
    weight: float
    kpis: tuple[QualityKpi, ...] = ()


@dataclass(frozen=True, slots=True)
class QualityScore:
    """The weekly quality score (0–100) bol.com uses in the buy-box."""

    week: IsoWeek
    score: int
    by_method: tuple[MethodScore, ...] = ()


@dataclass(frozen=True, slots=True)
class PerformanceStatus:
    """One snapshot of ``GET /retailer/retailers/performance-status``, with when it was
    fetched. ``violations`` is ``None`` when bol.com sent no list (not: no violations)."""

    fetched_at: datetime
    system: str | None = None
    strikes: Strikes | None = None
    points_left: int | None = None
    violations: tuple[Violation, ...] | None = None
    quality: QualityScore | None = None

    @property
    def groeistart(self) -> bool:
        """The seller is in GroeiStart (its first orders; no strikes yet)."""
        return self.system is not None and self.system.casefold() == GROEISTART.casefold()

    def to_json(self) -> dict[str, Any]:
        """The ``bol_status`` of the ``check --json`` line (INTERFACES.md); parts bol.com
        did not send are ``null``."""
        strikes = self.strikes
        quality = self.quality
        return {
            "fetched_at": self.fetched_at.isoformat(),
            "system": self.system,
            "strikes": None
            if strikes is None
            else {
                "count": strikes.count,
                "weeks": [
                    {"week": str(s.week), "reasons": list(s.reasons)}
                    for s in sorted(strikes.weeks, key=lambda s: s.week)
                ],
            },
            "points_left": self.points_left,
            "quality_score": None
            if quality is None
            else {
                "week": str(quality.week),
                "score": quality.score,
                "by_method": [
                    {
                        "method": m.method,
                        "score": m.score,
                        "weight": m.weight,
                        "kpis": [{"kpi": k.kpi, "score": k.score, "norm": k.norm} for k in m.kpis],
                    }
                    for m in quality.by_method
                ],
            },
        }


def bol_week(text: str) -> IsoWeek:
    """A week as v11 writes it, ``YYYY-WW`` (``2026-47``); ``2026-W47`` is read too.
    Raises ``ValueError`` for anything else or a week its year does not have."""
    body = text.strip()
    year, sep, week = body.partition("-")
    week = week.removeprefix("W").removeprefix("w")
    if not sep or len(year) != 4 or not year.isdigit() or not week.isdigit() or len(week) > 2:
        raise ValueError(f"{text!r} is not a week in the form YYYY-WW")
    return IsoWeek.parse(f"{year}-W{int(week):02d}")


class BodyError(ValueError):
    """A performance-status body that does not fit bol.com's schema: ``path`` names the
    field (``qualityScore.shippingMethodScores[0].score``), the message says why.

    ``kind`` says what was wrong in a word a reader can say in any language (``object``,
    ``list``, ``missing``, ``text``, ``number``, ``whole``, ``range``, ``boolean``, ``week``,
    ``moment``, ``zone``, ``order``), ``given`` the value found, ``low``/``high`` the range."""

    def __init__(
        self,
        path: str,
        reason: str,
        *,
        kind: str = "",
        given: object = None,
        low: float | None = None,
        high: float | None = None,
    ) -> None:
        super().__init__(f"{path}: {reason}" if path else reason)
        self.path = path
        self.reason = reason
        self.kind = kind
        self.given = given
        self.low = low
        self.high = high


def status_from_body(body: Mapping[str, Any], fetched_at: datetime) -> PerformanceStatus:
    """The snapshot in a ``performance-status`` body, as bol.com sends it (Retailer API
    v11). Each of the three parts may be absent; what is present must fit the schema (a
    strike count 0–7, points 0–100, a score 0–100, weeks as ``YYYY-WW``), or ``BodyError``
    names the field. Free texts (the system's name, categories, reasons) are kept as sent."""
    if fetched_at.tzinfo is None:
        raise ValueError("fetched_at must be time-zone aware")
    _object(body, "")
    system: str | None = None
    strikes: Strikes | None = None
    monitoring = body.get("monitoringSystem")
    if monitoring is not None:
        _object(monitoring, "monitoringSystem")
        system = _optional_text(monitoring, "description", "monitoringSystem")
        strike = monitoring.get("strike")
        if strike is not None:
            strikes = _strikes(strike, "monitoringSystem.strike")
    points_left: int | None = None
    violations: tuple[Violation, ...] | None = None
    policy = body.get("policy")
    if policy is not None:
        _object(policy, "policy")
        if policy.get("pointsLeft") is not None:
            points_left = _int(policy["pointsLeft"], "policy.pointsLeft", 0, 100)
        listed = policy.get("violations")
        if listed is not None:
            violations = tuple(
                _violation(v, f"policy.violations[{n}]")
                for n, v in enumerate(_list(listed, "policy.violations"))
            )
    quality: QualityScore | None = None
    score = body.get("qualityScore")
    if score is not None:
        quality = _quality(score, "qualityScore")
    return PerformanceStatus(fetched_at, system, strikes, points_left, violations, quality)


def status_body(status: PerformanceStatus) -> dict[str, Any]:
    """The snapshot as bol.com's body again (``status_from_body`` reads it back to an equal
    snapshot): how the store keeps it. Parts bol.com did not send stay absent."""
    out: dict[str, Any] = {}
    if status.system is not None or status.strikes is not None:
        monitoring: dict[str, Any] = {}
        if status.system is not None:
            monitoring["description"] = status.system
        if (s := status.strikes) is not None:
            strike: dict[str, Any] = {
                "count": s.count,
                "weeks": [
                    {"week": _week_text(w.week), "reasons": list(w.reasons)} for w in s.weeks
                ],
            }
            if s.period_start is not None or s.period_end is not None:
                strike["monitorPeriod"] = {
                    k: _week_text(w)
                    for k, w in (("startWeek", s.period_start), ("endWeek", s.period_end))
                    if w is not None
                }
            monitoring["strike"] = strike
        out["monitoringSystem"] = monitoring
    if status.points_left is not None or status.violations is not None:
        policy: dict[str, Any] = {}
        if status.points_left is not None:
            policy["pointsLeft"] = status.points_left
        if status.violations is not None:
            policy["violations"] = [_violation_body(v) for v in status.violations]
        out["policy"] = policy
    if (q := status.quality) is not None:
        out["qualityScore"] = {
            "yearWeek": _week_text(q.week),
            "score": q.score,
            "shippingMethodScores": [
                {
                    "shippingMethod": m.method,
                    "score": m.score,
                    "weight": m.weight,
                    "kpiScores": [
                        {
                            k: v
                            for k, v in (
                                ("kpiName", kpi.kpi),
                                ("score", kpi.score),
                                ("norm", kpi.norm),
                                ("aggregationLevel", kpi.aggregation_level),
                            )
                            if v is not None or k in ("score", "norm")
                        }
                        for kpi in m.kpis
                    ],
                }
                for m in q.by_method
            ],
        }
    return out


def _week_text(week: IsoWeek) -> str:
    return f"{week.year}-{week.week:02d}"


def _violation_body(v: Violation) -> dict[str, Any]:
    out: dict[str, Any] = {
        "violationId": v.violation_id,
        "registrationDateTime": v.registered.isoformat(),
        "category": v.category,
        "violationType": v.violation_type,
        "points": v.points,
        "isProportionalityApplied": v.proportionality_applied,
    }
    # bol.com may leave the sub-category out (read as ""); an empty text is not one.
    if v.sub_category:
        out["subCategory"] = v.sub_category
    if v.pre_proportional_points is not None:
        out["preProportionalPoints"] = v.pre_proportional_points
    return out


# --- reading a body, field by field ------------------------------------------------------


def _object(value: object, path: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise BodyError(path, "expected an object", kind="object", given=value)
    return value


def _list(value: object, path: str) -> list[Any]:
    if not isinstance(value, list):
        raise BodyError(path, "expected a list", kind="list", given=value)
    return value


def _required(body: Mapping[str, Any], key: str, path: str) -> Any:
    value = body.get(key)
    if value is None:
        raise BodyError(_at(path, key), "required field missing", kind="missing")
    return value


def _at(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _text(value: object, path: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise BodyError(path, "expected a text", kind="text", given=value)
    return value


def _optional_text(body: Mapping[str, Any], key: str, path: str) -> str | None:
    value = body.get(key)
    return None if value is None else _text(value, _at(path, key))


def _number(value: object, path: str, low: float | None = None, high: float | None = None) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise BodyError(path, f"{value!r} is not a number", kind="number", given=value)
    if (low is not None and value < low) or (high is not None and value > high):
        raise BodyError(
            path,
            f"{value!r} is outside {low:g}–{high:g}",
            kind="range",
            given=value,
            low=low,
            high=high,
        )
    return float(value)


def _int(value: object, path: str, low: int | None = None, high: int | None = None) -> int:
    number = _number(value, path, low, high)
    if number != int(number):
        raise BodyError(path, f"{value!r} is not a whole number", kind="whole", given=value)
    return int(number)


def _week(value: object, path: str) -> IsoWeek:
    try:
        return bol_week(_text(value, path))
    except ValueError as exc:
        raise BodyError(path, str(exc), kind="week", given=value) from None


def _strikes(value: object, path: str) -> Strikes:
    strike = _object(value, path)
    count = _int(_required(strike, "count", path), _at(path, "count"), 0, 7)
    weeks = tuple(
        _strike_week(w, f"{path}.weeks[{n}]")
        for n, w in enumerate(_list(strike.get("weeks") or [], _at(path, "weeks")))
    )
    start = end = None
    period = strike.get("monitorPeriod")
    if period is not None:
        where = _at(path, "monitorPeriod")
        _object(period, where)
        if period.get("startWeek") is not None:
            start = _week(period["startWeek"], _at(where, "startWeek"))
        if period.get("endWeek") is not None:
            end = _week(period["endWeek"], _at(where, "endWeek"))
        if start is not None and end is not None and start > end:
            raise BodyError(
                where, f"starts ({start}) after it ends ({end})", kind="order", given=start
            )
    return Strikes(count, weeks, start, end)


def _strike_week(value: object, path: str) -> StrikeWeek:
    item = _object(value, path)
    week = _week(_required(item, "week", path), _at(path, "week"))
    reasons = _list(item.get("reasons") or [], _at(path, "reasons"))
    return StrikeWeek(week, tuple(_text(r, f"{path}.reasons[{n}]") for n, r in enumerate(reasons)))


def _violation(value: object, path: str) -> Violation:
    item = _object(value, path)
    registered_text = _text(
        _required(item, "registrationDateTime", path), _at(path, "registrationDateTime")
    )
    try:
        registered = datetime.fromisoformat(registered_text.replace("Z", "+00:00"))
    except ValueError:
        raise BodyError(
            _at(path, "registrationDateTime"),
            f"{registered_text!r} is not a date and time",
            kind="moment",
            given=registered_text,
        ) from None
    if registered.tzinfo is None:
        raise BodyError(
            _at(path, "registrationDateTime"),
            "has no time zone",
            kind="zone",
            given=registered_text,
        )
    applied = item.get("isProportionalityApplied", False)
    if not isinstance(applied, bool):
        raise BodyError(
            _at(path, "isProportionalityApplied"),
            f"{applied!r} is not true or false",
            kind="boolean",
            given=applied,
        )
    before = item.get("preProportionalPoints")
    return Violation(
        violation_id=_text(_required(item, "violationId", path), _at(path, "violationId")),
        registered=registered,
        category=_text(_required(item, "category", path), _at(path, "category")),
        sub_category=_optional_text(item, "subCategory", path) or "",
        violation_type=_text(_required(item, "violationType", path), _at(path, "violationType")),
        points=_int(item.get("points", 0), _at(path, "points"), 0, 100),
        proportionality_applied=applied,
        pre_proportional_points=None
        if before is None
        else _int(before, _at(path, "preProportionalPoints"), 0, 100),
    )


def _quality(value: object, path: str) -> QualityScore:
    quality = _object(value, path)
    week = _week(_required(quality, "yearWeek", path), _at(path, "yearWeek"))
    score = _int(_required(quality, "score", path), _at(path, "score"), 0, 100)
    methods = []
    listed = _list(quality.get("shippingMethodScores") or [], _at(path, "shippingMethodScores"))
    for n, m in enumerate(listed):
        where = f"{path}.shippingMethodScores[{n}]"
        method = _object(m, where)
        kpis = []
        for k, kpi in enumerate(_list(method.get("kpiScores") or [], _at(where, "kpiScores"))):
            at = f"{where}.kpiScores[{k}]"
            item = _object(kpi, at)
            kpis.append(
                QualityKpi(
                    kpi=_text(_required(item, "kpiName", at), _at(at, "kpiName")),
                    score=None
                    if item.get("score") is None
                    else _number(item["score"], _at(at, "score")),
                    norm=None
                    if item.get("norm") is None
                    else _number(item["norm"], _at(at, "norm")),
                    aggregation_level=_optional_text(item, "aggregationLevel", at),
                )
            )
        methods.append(
            MethodScore(
                method=_text(
                    _required(method, "shippingMethod", where), _at(where, "shippingMethod")
                ),
                score=_int(_required(method, "score", where), _at(where, "score"), 0, 100),
                # Its share of the total score, a fraction (0.25), as the messages show it.
                weight=_number(method.get("weight", 0), _at(where, "weight"), 0, 1),
                kpis=tuple(kpis),
            )
        )
    return QualityScore(week, score, tuple(methods))


__all__ = [
    "GROEISTART",
    "GROEISTART_EVALUATIONS",
    "SHIPPING_METHODS",
    "BodyError",
    "MethodScore",
    "PerformanceStatus",
    "QualityKpi",
    "QualityScore",
    "StrikeWeek",
    "Strikes",
    "Violation",
    "bol_week",
    "status_body",
    "status_from_body",
]
