"""bol.com's own verdict (NORMS.md §9): the performance-status snapshot, as plain data.

Since Retailer API v11 bol.com states each seller's account state itself: the monitoring
system, the strikes it counts and why, the policy points left with every violation, and a
weekly quality score per shipping method. Where a snapshot is known it is the authority;
the derived track is the forecast beside it. bol.com may leave any part out, so every
part is optional: no snapshot (or no part), no claim.
"""

from __future__ import annotations

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


__all__ = [
    "GROEISTART",
    "GROEISTART_EVALUATIONS",
    "SHIPPING_METHODS",
    "MethodScore",
    "PerformanceStatus",
    "QualityKpi",
    "QualityScore",
    "StrikeWeek",
    "Strikes",
    "Violation",
    "bol_week",
]
