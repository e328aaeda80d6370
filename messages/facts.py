"""What a message says about a seller's week: facts derived from the engine's WeekReport.

No wording here. Templates word these facts per language; this module only picks,
orders and computes (distances to the norm, what it takes, trends, the most useful tip).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from norms import Indicator, IsoWeek, Status, WeekReport
from norms.report import WhatItTakes
from norms.verdicts import IndicatorVerdict

HEADLINE: tuple[Indicator, ...] = (
    Indicator.FULFILMENT,
    Indicator.CANCELLATIONS,
    Indicator.RESPONSE_TIME,
    Indicator.REVIEWS,
)
OTHERS: tuple[Indicator, ...] = (
    Indicator.PHONE_AVAILABILITY,
    Indicator.TRACK_AND_TRACE,
    Indicator.CASE_ITEM_RATIO,
    Indicator.RETURNS,
)
# v11's split of on-time delivery: shown in a week that has them, never as "no data" in
# the weeks before bol.com measured them.
SPLIT: tuple[Indicator, ...] = (Indicator.HANDOVER, Indicator.ON_TIME)
# A 6-week score this close to its norm (in the unit) deserves a tip before it tips over.
_NEAR_PERCENT = 0.01
_NEAR_RATING = 0.3
_RISK_LEVEL = {"critical": 2, "danger": 1, "none": 0}

Arrow = Literal["↑", "↓", "→", ""]
# Where a week has no norm to say which way is good: fewer of these is better.
_LOWER_IS_BETTER = frozenset({"CANCELLATIONS", "CASE_ITEM_RATIO", "RETURNS"})


@dataclass(frozen=True)
class Score:
    """A performance score beside its norm: the 6-week score, or the week's value."""

    indicator: Indicator
    value: float | None
    norm: float | None
    condition: str
    six_weeks: bool

    @property
    def met(self) -> bool | None:
        if self.value is None or self.norm is None:
            return None
        if self.condition == ">=":
            return self.value >= self.norm - 1e-9
        return self.value <= self.norm + 1e-9

    @property
    def diff(self) -> float | None:
        """Value minus norm, in the indicator's unit (fraction, or rating points)."""
        if self.value is None or self.norm is None:
            return None
        return self.value - self.norm

    @property
    def near(self) -> bool:
        """Meets the norm, but only just."""
        diff = self.diff
        limit = _NEAR_RATING if self.indicator is Indicator.REVIEWS else _NEAR_PERCENT
        return bool(self.met) and diff is not None and abs(diff) < limit


@dataclass(frozen=True)
class Need:
    """What it takes next week for one escalating norm, in the seller's own numbers.

    ``allowed_bad`` avoids a failing week (the minimum count included); ``norm_bad`` is what
    the norm's percentage alone allows, which is fewer when the minimum is the higher bar."""

    indicator: Indicator
    expected: int
    allowed_bad: int
    norm: float | None = None
    norm_bad: int | None = None
    minimum: int | None = None

    @property
    def good(self) -> int:
        """Items that must go right (on time, not cancelled, answered in time)."""
        return self.expected - self.allowed_bad

    @property
    def norm_good(self) -> int | None:
        """Items that must go right to meet the norm's percentage itself."""
        return None if self.norm_bad is None else self.expected - self.norm_bad

    @property
    def cannot_fail(self) -> bool:
        """So few items expected that even all of them going wrong is not a failing week."""
        return self.allowed_bad >= self.expected

    @property
    def minimum_counts(self) -> bool:
        """The minimum count allows more than the norm's percentage would."""
        return self.norm_bad is not None and self.allowed_bad > self.norm_bad


@dataclass(frozen=True)
class TrackView:
    """The escalation track as a message tells it."""

    policy_kind: Literal["track", "strikes"]
    state: str
    step: int
    closing_step: int
    warnings_total: int
    plan_from_step: int
    step_kind: str | None
    message: str | None
    plan: str | None
    plan_since: IsoWeek | None
    opened: IsoWeek | None
    weeks_to_end: int | None
    end_week: IsoWeek | None
    compliant_weeks: int
    clean_weeks_to_end: int
    strikes: tuple[IsoWeek, ...]
    window: int
    next_expiry: IsoWeek | None
    clear_week: IsoWeek | None
    expired_strike: IsoWeek | None
    next_step: int | None
    next_kind: str | None
    escalating: tuple[Indicator, ...] = ()

    @property
    def strikes_policy(self) -> bool:
        return self.policy_kind == "strikes"

    @property
    def open(self) -> bool:
        return self.state == "open"

    @property
    def closed(self) -> bool:
        return self.state == "closed"


def track_view(report: WeekReport) -> TrackView:
    """The track of ``report``, with the weeks in which it ends or strikes expire."""
    policy, track = report.policy, report.track
    strikes = track.strikes if track else ()
    window = policy.strike_window_weeks
    nxt = report.next_step
    step = track.step if track else 0
    return TrackView(
        policy_kind=policy.kind,
        state=track.state if track else "none",
        step=step,
        closing_step=policy.closing_step,
        warnings_total=policy.warnings_total(),
        plan_from_step=policy.plan_from_step,
        step_kind=policy.kind_at(step) if step > 0 else None,
        message=report.track_message,
        plan=track.plan if track else None,
        plan_since=track.plan_since if track else None,
        opened=track.opened if track else None,
        weeks_to_end=track.weeks_to_end if track else None,
        end_week=track.end_week if track else None,
        compliant_weeks=track.compliant_weeks if track else 0,
        clean_weeks_to_end=policy.clean_weeks_to_end,
        strikes=strikes,
        window=window,
        next_expiry=min(strikes).shift(window) if strikes else None,
        clear_week=max(strikes).shift(window) if strikes else None,
        expired_strike=track.expired_strike if track and track.week == report.week else None,
        next_step=nxt[0] if nxt else None,
        next_kind=nxt[1] if nxt else None,
        escalating=_escalating_shown(report),
    )


def _escalating_shown(report: WeekReport) -> tuple[Indicator, ...]:
    """The norms that make a failing week, as this seller's week has them: HANDOVER and
    ON_TIME where the week measured them, FULFILMENT unless the week has only those."""
    measured = {i for i, v in report.indicators.items() if v.status is not Status.NO_DATA}
    split = measured & set(SPLIT)
    return tuple(
        i
        for i in report.policy.escalating
        if (i not in SPLIT or i in split)
        and not (i is Indicator.FULFILMENT and split and i not in measured)
    )


def ratings_to_rise_above(average: float, reviews: int, threshold: float) -> int:
    """The fewest 10-ratings that lift ``reviews`` ratings averaging ``average`` above
    ``threshold`` (strictly: bol.com acts at or below it)."""
    if average > threshold:
        return 0
    needed = round((threshold * reviews - average * reviews) / (10 - threshold), 6)
    return math.floor(needed) + 1


class ReportView:
    """One seller's week for the templates: the report, plus what messages derive from it."""

    def __init__(self, report: WeekReport, previous: WeekReport | None = None) -> None:
        self.report = report
        self.previous = previous
        self.policy = report.policy
        self.week = report.week
        self.track = track_view(report)
        self.rating = report.rating
        self.risk = report.risk
        self.gold = report.gold
        self.alerts: tuple[str, ...] = report.alerts
        self.has_data = report.has_data
        self.failing_week = report.failing_week
        self.window_hours = report.policy.response_time_window_hours

    def v(self, indicator: str) -> IndicatorVerdict:
        """The verdict of one indicator this week."""
        return self.report.indicators[Indicator(indicator)]

    @property
    def verdicts(self) -> list[IndicatorVerdict]:
        return [v for v in self.report.indicators.values() if _shown(v)]

    @property
    def failed(self) -> list[IndicatorVerdict]:
        """Escalating norms that failed this week: the ones that make it a failing week."""
        return [self.report.indicators[i] for i in self.report.verdict.failed_escalating]

    @property
    def failed_other(self) -> list[IndicatorVerdict]:
        """Norms that failed this week but do not escalate (bol.com still e-mails)."""
        return [self.report.indicators[i] for i in self.report.verdict.failed_other]

    @property
    def exempt(self) -> list[IndicatorVerdict]:
        return [v for v in self.verdicts if v.status is Status.EXEMPT]

    @property
    def close_calls(self) -> list[IndicatorVerdict]:
        """Missed the norm, but with fewer bad items than the minimum: not a failing week."""
        return [v for v in self.verdicts if v.below_minimum]

    @property
    def headline(self) -> list[Score]:
        """The four performance scores: 6-week on-time, cancellations and response time,
        and this week's rating."""
        scores: list[Score] = []
        for indicator in HEADLINE:
            verdict = self.report.indicators[indicator]
            rule = self.policy.rules[indicator]
            norm = verdict.norm if verdict.norm is not None else rule.norm
            six = indicator is not Indicator.REVIEWS
            value = self.report.scores_6w.get(indicator) if six else verdict.value
            scores.append(Score(indicator, value, norm, verdict.condition, six))
        return scores

    @property
    def others(self) -> list[IndicatorVerdict]:
        """The week's values beside the performance scores: HANDOVER and ON_TIME first
        where the week has them, then the four other norms."""
        split = [v for i in SPLIT if _shown(v := self.report.indicators[i])]
        return split + [self.report.indicators[i] for i in OTHERS]

    @property
    def needs(self) -> list[Need]:
        return [self._need(w) for w in self.report.what_it_takes]

    def _need(self, w: WhatItTakes) -> Need:
        rule = self.policy.rules[w.indicator]
        verdict = self.report.indicators[w.indicator]
        norm = verdict.norm if verdict.norm is not None else rule.norm
        norm_bad: int | None = None
        if norm is not None:
            share = (1 - norm) if rule.condition == ">=" else norm
            norm_bad = min(math.floor(w.expected * share + 1e-9), w.expected)
        return Need(w.indicator, w.expected, w.allowed_bad, norm, norm_bad, rule.minimum)

    def consecutive(self, indicator: str) -> int:
        return self.report.consecutive_failures.get(Indicator(indicator), 0)

    def closure_risk(self, indicator: str) -> bool:
        """Failed so many weeks in a row that bol.com may close the account."""
        return self.consecutive(indicator) >= self.policy.consecutive_notice_weeks

    def rating_lift(self, threshold: float) -> int | None:
        """10-ratings needed to lift the shop rating above ``threshold``; unknown without counts."""
        if self.rating is None or not self.rating.reviews:
            return None
        return ratings_to_rise_above(self.rating.average, self.rating.reviews, threshold)

    @property
    def gold_met(self) -> int:
        """Conditions known to be met: an unknown one (no aspect ratings) is not counted."""
        return sum(1 for c in self.gold.conditions if c.met and c.value is not None)

    def trend(self, indicator: str) -> Arrow:
        """The week's value against the week before: up, down or level; empty if unknown."""
        if self.previous is None:
            return ""
        now = self.report.indicators[Indicator(indicator)].value
        before = self.previous.indicators[Indicator(indicator)].value
        if now is None or before is None:
            return ""
        step = 0.05 if indicator == Indicator.REVIEWS else 0.0005
        if now > before + step:
            return "↑"
        if now < before - step:
            return "↓"
        return "→"

    def trend_meaning(self, indicator: str) -> Literal["better", "worse", ""]:
        """Which way the trend goes for the seller: for cancellations up is worse."""
        arrow = self.trend(indicator)
        if arrow not in ("↑", "↓"):
            return ""
        condition = self.report.indicators[Indicator(indicator)].condition
        lower_is_better = (
            condition == "<=" if condition is not None else indicator in _LOWER_IS_BETTER
        )
        return "better" if (arrow == "↓") == lower_is_better else "worse"

    @property
    def tip(self) -> str:
        """The one most useful tip: an indicator name, or a topic such as ``rating``."""
        return most_useful_tip(self)

    @property
    def risk_rank(self) -> tuple[int, int, int, int, int, int, int]:
        """Smaller is riskier: closed, a critical shop rating (bol.com may close the shop at
        once), higher step, shop rating risk, failing this week, norm notices, missing data."""
        track = self.track
        return (
            0 if track.closed else 1,
            0 if self.risk == "critical" else 1,
            -track.step,
            -_RISK_LEVEL[self.risk],
            0 if self.failing_week else 1,
            -len(self.failed_other),
            0 if not self.has_data else 1,
        )


def _shown(v: IndicatorVerdict) -> bool:
    return v.indicator not in SPLIT or v.status is not Status.NO_DATA


def most_useful_tip(view: ReportView) -> str:
    """Pick the tip that matters most this week, from the worst risk down."""
    if not view.has_data:
        return "no_data"
    if view.track.closed:
        return "closed"
    if view.risk == "critical":
        return "rating"
    if view.track.plan == "required":
        return "plan"
    if view.failed:
        return str(max(view.failed, key=_shortfall).indicator)
    if view.risk == "danger":
        return "rating"
    red = [s for s in view.headline if s.met is False and s.six_weeks]
    if red:
        return str(red[0].indicator)
    if view.failed_other:
        worst = max(view.failed_other, key=lambda v: (view.consecutive(v.indicator), _shortfall(v)))
        return str(worst.indicator)
    near = [v.indicator for v in view.close_calls] + [s.indicator for s in view.headline if s.near]
    if near:
        return str(near[0])
    gold = view.gold
    if gold.no_data or gold.eligible:
        return "keep"
    unmet = [c.name for c in gold.conditions if not c.met]
    return f"gold_{unmet[0]}"


def _shortfall(v: IndicatorVerdict) -> float:
    """How far a failing value is from its norm, relative to the norm's room."""
    if v.value is None or v.norm is None:
        return 0.0
    gap = v.norm - v.value if v.condition == ">=" else v.value - v.norm
    room = (1 - v.norm) if v.condition == ">=" and v.norm < 1 else max(v.norm, 0.01)
    return gap / room


def riskiest_first(views: Sequence[tuple[str, ReportView]]) -> list[tuple[str, ReportView]]:
    """Order (name, view) pairs for a team digest: the seller in most danger first."""
    return sorted(views, key=lambda pair: (pair[1].risk_rank, pair[0].casefold()))
