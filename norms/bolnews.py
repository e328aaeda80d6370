"""What bol.com's own verdict means: against our derivation, where the score goes, what is new.

Three pure functions over ``norms.bol`` snapshots: ``compare_strikes`` (bol.com's strike
weeks against the ``strikes-22w`` fold, with the likely reason for each week that
differs), ``costliest`` (the KPIs that cost a shipping method's quality score the most)
and ``changes`` (what is new between two snapshots, and the alerts it plans).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from norms.bol import PerformanceStatus, QualityScore, StrikeWeek, Violation
from norms.model import Indicator, Status
from norms.policy import Policy
from norms.track import TrackWeek
from norms.verdicts import WeekVerdict
from norms.weeks import IsoWeek

# Why a week differs, most likely first: bol.com excluded it (or does not count it), we
# have no figures for it, an operator exempted it here, or the figures differ (a correction
# since, on either side).
DifferenceReason = Literal["bol_excluded", "no_figures", "exempt", "corrected"]

BolAlert = Literal[
    "bol_strike",
    "bol_strike_expired",
    "policy_violation",
    "policy_points_low",
    "quality_score_drop",
    "quality_score_low",
    "groeistart",
]


@dataclass(frozen=True, slots=True)
class StrikeDifference:
    """One week counted as a strike by one side only."""

    week: IsoWeek
    bol: bool  # bol.com counts it (we do not); else we count it and bol.com does not
    reason: DifferenceReason


@dataclass(frozen=True, slots=True)
class StrikeComparison:
    """bol.com's strikes beside the derivation; bol.com's count is the authority."""

    bol_count: int
    derived_count: int
    differences: tuple[StrikeDifference, ...]

    @property
    def agree(self) -> bool:
        return self.bol_count == self.derived_count and not self.differences


def compare_strikes(
    status: PerformanceStatus,
    derived: TrackWeek | None,
    verdicts: Mapping[IsoWeek, WeekVerdict],
) -> StrikeComparison | None:
    """Compare bol.com's strikes with ``derived``, the ``strikes-22w`` fold as of bol.com's
    last monitored week (``None``: no data). ``verdicts`` are our weeks, to say why a week
    differs. ``None`` when bol.com sent no strikes."""
    strikes = status.strikes
    if strikes is None:
        return None
    ours = {w for w in (derived.strikes if derived else ()) if strikes.in_period(w)}
    theirs = set(strikes.strike_weeks)
    differences = [
        StrikeDifference(w, True, _why_bol_only(verdicts.get(w))) for w in theirs - ours
    ] + [StrikeDifference(w, False, _why_ours_only(verdicts.get(w))) for w in ours - theirs]
    return StrikeComparison(
        bol_count=strikes.count,
        derived_count=len(ours),
        differences=tuple(sorted(differences, key=lambda d: d.week)),
    )


def _why_bol_only(verdict: WeekVerdict | None) -> DifferenceReason:
    if verdict is None or all(
        verdict.indicators[i].status is Status.NO_DATA for i in verdict.escalating
    ):
        return "no_figures"
    if any(
        verdict.indicators[i].status is Status.EXEMPT and not verdict.indicators[i].excluded_by_bol
        for i in verdict.escalating
    ):
        return "exempt"
    return "corrected"


def _why_ours_only(verdict: WeekVerdict | None) -> DifferenceReason:
    if verdict is not None and any(v.excluded_by_bol for v in verdict.indicators.values()):
        return "corrected"
    # A failing week of ours that bol.com does not count: most often a week it excluded
    # (a disruption) without our figures saying so.
    return "bol_excluded"


@dataclass(frozen=True, slots=True)
class KpiGap:
    """A KPI below its norm in a shipping method's score: the gap in the KPI's unit, and
    the gap relative to the norm weighted by the method's weight (what ranks them)."""

    kpi: str
    score: float
    norm: float
    gap: float
    weighted: float


@dataclass(frozen=True, slots=True)
class MethodCost:
    """One shipping method's score and the KPIs that cost it the most, worst first."""

    method: str
    score: int
    weight: float
    gaps: tuple[KpiGap, ...]


def costliest(quality: QualityScore, policy: Policy) -> tuple[MethodCost, ...]:
    """Per shipping method, the KPIs whose score misses its norm, the largest weighted gap
    first; methods with the largest gap first. A KPI without a score or norm is left out.
    Which way is good comes from the policy (``CANCELLATIONS``: lower); an unknown KPI
    is read as higher-is-better, as most are."""
    out: list[MethodCost] = []
    for method in quality.by_method:
        gaps: list[KpiGap] = []
        for k in method.kpis:
            if k.score is None or k.norm is None:
                continue
            lower = k.kpi in Indicator.__members__ and (
                policy.rules[Indicator(k.kpi)].condition == "<="
            )
            gap = k.score - k.norm if lower else k.norm - k.score
            if gap <= 1e-9:
                continue
            relative = gap / k.norm if k.norm > 0 else gap
            gaps.append(KpiGap(k.kpi, k.score, k.norm, gap, relative * method.weight))
        gaps.sort(key=lambda g: (-g.weighted, g.kpi))
        out.append(MethodCost(method.method, method.score, method.weight, tuple(gaps)))
    out.sort(key=lambda m: (-(m.gaps[0].weighted if m.gaps else 0.0), m.score, m.method))
    return tuple(out)


@dataclass(frozen=True, slots=True)
class StatusChanges:
    """What is new in ``current`` since ``previous`` (``None``: the first snapshot)."""

    current: PerformanceStatus
    previous: PerformanceStatus | None
    new_strikes: tuple[StrikeWeek, ...]
    expired_strikes: tuple[IsoWeek, ...]
    new_violations: tuple[Violation, ...]
    points_before: int | None
    score_before: int | None
    score_drop: bool
    score_low: bool
    points_low: bool
    groeistart_news: bool

    @property
    def points_changed(self) -> bool:
        return self.points_before != self.current.points_left and self.previous is not None

    @property
    def score_change(self) -> int | None:
        """This score minus the previous week's, when both are known and weeks differ."""
        quality = self.current.quality
        if quality is None or self.score_before is None:
            return None
        return quality.score - self.score_before

    @property
    def alerts(self) -> tuple[BolAlert, ...]:
        """The alert sections these changes plan, in the order of ``BOL_ALERTS``."""
        planned = {
            "bol_strike": bool(self.new_strikes),
            "bol_strike_expired": bool(self.expired_strikes),
            "policy_violation": bool(self.new_violations),
            "policy_points_low": self.points_low,
            "quality_score_drop": self.score_drop,
            "quality_score_low": self.score_low,
            "groeistart": self.groeistart_news,
        }
        return tuple(a for a in BOL_ALERTS if planned[a])


BOL_ALERTS: tuple[BolAlert, ...] = (
    "bol_strike",
    "bol_strike_expired",
    "policy_violation",
    "policy_points_low",
    "quality_score_drop",
    "quality_score_low",
    "groeistart",
)


def changes(
    policy: Policy, current: PerformanceStatus, previous: PerformanceStatus | None
) -> StatusChanges:
    """What ``current`` brings since ``previous``. A part bol.com left out of either
    snapshot brings no news (absence is not a figure). The first snapshot brings the
    strikes and violations it holds as news only when they are recent: the strike of its
    last monitored week, violations registered in the week before it was fetched.
    ``points_low`` and ``score_low`` hold while the level holds (a warning in every week's
    plan, like the shop rating's danger zone)."""
    before_strikes = previous.strikes if previous is not None else None
    now_strikes = current.strikes
    new_strikes: tuple[StrikeWeek, ...] = ()
    expired: tuple[IsoWeek, ...] = ()
    if now_strikes is not None and before_strikes is not None:
        known = set(before_strikes.strike_weeks)
        new_strikes = tuple(s for s in now_strikes.weeks if s.week not in known)
        kept = set(now_strikes.strike_weeks)
        expired = tuple(w for w in before_strikes.strike_weeks if w not in kept)
    elif now_strikes is not None and previous is None and now_strikes.period_end is not None:
        new_strikes = tuple(s for s in now_strikes.weeks if s.week == now_strikes.period_end)
    new_violations: tuple[Violation, ...] = ()
    if current.violations is not None:
        if previous is not None and previous.violations is not None:
            seen = {v.violation_id for v in previous.violations}
            fresh = [v for v in current.violations if v.violation_id not in seen]
        elif previous is None:
            fresh = [v for v in current.violations if (current.fetched_at - v.registered).days < 7]
        else:
            fresh = []
        new_violations = tuple(sorted(fresh, key=lambda v: (v.registered, v.violation_id)))
    quality, before_quality = current.quality, previous.quality if previous else None
    score_before = (
        before_quality.score
        if before_quality is not None and quality is not None and before_quality.week < quality.week
        else None
    )
    drop = (
        quality is not None
        and score_before is not None
        and score_before - quality.score >= policy.quality_score_drop
    )
    was_groeistart = previous.groeistart if previous is not None else False
    return StatusChanges(
        current=current,
        previous=previous,
        new_strikes=new_strikes,
        expired_strikes=expired,
        new_violations=new_violations,
        points_before=previous.points_left if previous is not None else None,
        score_before=score_before,
        score_drop=drop,
        score_low=quality is not None and quality.score < policy.quality_score_alert,
        points_low=current.points_left is not None
        and current.points_left <= policy.policy_points_alert,
        groeistart_news=current.groeistart and not was_groeistart,
    )


# Our derivation's ladder sections, which bol.com's own strikes replace where it sent them.
_DERIVED_LADDER = frozenset({"closure", "last_warning", "suspension", "warning", "strikes_expired"})


def merge_alerts(
    derived: tuple[str, ...], news: StatusChanges | None, order: tuple[str, ...]
) -> tuple[str, ...]:
    """A week's alert sections with bol.com's own verdict in them, in ``order``
    (``norms.report.ALERT_ORDER``). Where bol.com sent its strikes, its count is the
    authority: our derived ladder sections give way to its own (a seller is never told two
    counts); a seller in GroeiStart gets no strike sections at all, as none apply yet."""
    if news is None:
        return tuple(a for a in order if a in derived)
    planned = set(derived) | set(news.alerts)
    if news.current.strikes is not None or news.current.groeistart:
        planned -= _DERIVED_LADDER
    if news.current.groeistart:
        planned -= {"bol_strike", "bol_strike_expired"}
    return tuple(a for a in order if a in planned)


__all__ = [
    "BOL_ALERTS",
    "BolAlert",
    "DifferenceReason",
    "KpiGap",
    "MethodCost",
    "StatusChanges",
    "StrikeComparison",
    "StrikeDifference",
    "changes",
    "compare_strikes",
    "costliest",
    "merge_alerts",
]
