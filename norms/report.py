"""One seller's week, evaluated whole: verdicts, scores, track, rating, gold label, alerts."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any, Literal, get_args

from norms.bol import PerformanceStatus
from norms.carry import CONSECUTIVE_COUNTED, SellerCarry, advance, fold_carry
from norms.goldlabel import GoldLabel, gold_label
from norms.model import INDICATORS, Indicator, Measurement, SellerHistory, Status
from norms.policy import LadderKind, Policy
from norms.rating import RatingForWeek, RatingRisk, rating_risk, shop_rating
from norms.scores import POOLED, pooled_score
from norms.track import TrackWeek, WeekInput, fold_track, next_failing_step
from norms.verdicts import IndicatorVerdict, WeekVerdict, judge_week
from norms.weeks import IsoWeek

Alert = Literal[
    "closure",
    "last_warning",
    "suspension",
    "warning",
    "bol_strike",
    "groeistart",
    "rating_critical",
    "rating_danger",
    "policy_violation",
    "policy_points_low",
    "quality_score_drop",
    "quality_score_low",
    "norm_notice",
    "gold_label_reached",
    "gold_label_lost",
    "track_ended",
    "strikes_expired",
    "bol_strike_expired",
]

# The order of a week's message sections (NORMS.md §5), as ``Alert`` lists them; bol.com's
# own verdict (§9) after the section of the same weight: a new bol.com strike (and
# GroeiStart, which stands in for strikes) beside ``warning``, policy points and the
# quality score beside the rating alerts, an expired bol.com strike beside ours.
ALERT_ORDER: tuple[Alert, ...] = get_args(Alert)

# Alerts that must reach the seller even when muted or in quiet hours.
URGENT_ALERTS: frozenset[str] = frozenset(
    {"closure", "suspension", "last_warning", "rating_critical"}
)


@dataclass(frozen=True, slots=True)
class WhatItTakes:
    """For one escalating indicator: with about ``expected`` items this week, at most
    ``allowed_bad`` may go wrong (late, cancelled, unanswered) for the week to pass."""

    indicator: Indicator
    expected: int
    allowed_bad: int


@dataclass(frozen=True, slots=True)
class WeekReport:
    """Everything the engine concludes about one seller's week."""

    seller_id: str
    week: IsoWeek
    policy: Policy
    verdict: WeekVerdict
    scores_6w: dict[Indicator, float | None]
    track: TrackWeek | None
    rating: RatingForWeek | None
    risk: RatingRisk
    gold: GoldLabel
    previous_gold: GoldLabel | None
    consecutive_failures: dict[Indicator, int]
    alerts: tuple[Alert, ...]
    what_it_takes: tuple[WhatItTakes, ...]
    next_step: tuple[int, LadderKind] | None

    @property
    def indicators(self) -> dict[Indicator, IndicatorVerdict]:
        return self.verdict.indicators

    @property
    def failing_week(self) -> bool:
        return self.verdict.failing

    @property
    def has_data(self) -> bool:
        return self.verdict.has_data

    @property
    def track_message(self) -> LadderKind | None:
        return self.track.message if self.track and self.track.week == self.week else None

    def to_json(self, bol_status: PerformanceStatus | None = None) -> dict[str, Any]:
        """The ``check --json`` line of INTERFACES.md, with bol.com's latest performance
        status (``null`` when unknown)."""
        indicators: dict[str, Any] = {}
        for indicator in INDICATORS:
            v = self.indicators[indicator]
            indicators[indicator.value] = {
                "status": v.status.value,
                "value": v.value,
                "norm": v.norm,
                "condition": v.condition,
                "numerator": v.numerator,
                "denominator": v.denominator,
                "score_6w": self.scores_6w.get(indicator),
            }
        track = self.track
        return {
            "seller_id": self.seller_id,
            "week": str(self.week),
            "indicators": indicators,
            "failing_week": self.failing_week,
            "track": {
                "policy": self.policy.name,
                "state": track.state if track else "none",
                "step": track.step if track else 0,
                "compliant_weeks": track.compliant_weeks if track else 0,
                "weeks_to_end": track.weeks_to_end if track else None,
                "plan": track.plan if track else None,
            },
            "rating": {
                # Three decimals: enough that 6.004 never reads as the 6.0 danger line.
                "average": round(self.rating.average, 3) if self.rating else None,
                "risk": self.risk,
            },
            "gold_label": {"eligible": self.gold.eligible, "unmet": self.gold.unmet},
            "bol_status": bol_status.to_json() if bol_status is not None else None,
            "alerts": list(self.alerts),
        }


def verdict_history(policy: Policy, history: SellerHistory, last: IsoWeek) -> list[WeekVerdict]:
    """Verdicts for every calendar week from the seller's first week with data to ``last``."""
    first = history.first_week
    if first is None or first > last:
        return []
    return [
        judge_week(
            policy, history.seller_id, w, history.measurements.get(w, {}), history.exemptions
        )
        for w in first.until(last)
    ]


def fold_history(policy: Policy, history: SellerHistory, last: IsoWeek) -> list[TrackWeek]:
    """The track after each week up to ``last``."""
    verdicts = verdict_history(policy, history, last)
    return fold_track(
        policy,
        [WeekInput(v.week, v.failing) for v in verdicts],
        history.plan_events,
        history.reopens,
    )


def evaluate_week(policy: Policy, history: SellerHistory, week: IsoWeek) -> WeekReport:
    """Evaluate ``week`` for one seller: the pure core of the weekly check."""
    carry = fold_carry(policy, history, week.shift(-1))
    return evaluate_next(policy, carry, history, week)[0]


def evaluate_next(
    policy: Policy, carry: SellerCarry | None, history: SellerHistory, week: IsoWeek
) -> tuple[WeekReport, SellerCarry | None]:
    """Evaluate ``week`` from the carry after the week before (``None``: no data before
    ``week``); ``history`` needs only the measurements of ``window_weeks`` up to ``week``.
    Returns the report and the carry after ``week``."""
    m = history.measurements
    verdict = judge_week(policy, history.seller_id, week, m.get(week, {}), history.exemptions)
    after: SellerCarry | None = None
    if carry is not None or week in m:
        counted = tuple(verdict.indicators[i].status is Status.FAIL for i in CONSECUTIVE_COUNTED)
        after = advance(policy, carry, history, week, verdict.failing, counted)
    track = after.track if after is not None else None
    scores = {i: pooled_score(m, i, week, policy.score_window_weeks) for i in POOLED}
    totals = (after.reviews, after.rating_sum) if after is not None else None
    rating = shop_rating(policy, week, history.ratings, m, totals)
    risk = rating_risk(policy, rating)
    gold = gold_label(policy, week, rating, m)
    if after is not None:
        after = replace(after, gold=gold)
    previous_gold: GoldLabel | None = None
    if carry is not None:
        prev = week.shift(-1)
        previous_gold = carry.gold
        if previous_gold is None or previous_gold.week != prev:
            totals_before = (carry.reviews, carry.rating_sum)
            before = shop_rating(policy, prev, history.ratings, m, totals_before)
            previous_gold = gold_label(policy, prev, before, m)
    consecutive = dict(
        zip(
            CONSECUTIVE_COUNTED,
            after.consecutive if after is not None else (0,) * len(CONSECUTIVE_COUNTED),
            strict=True,
        )
    )
    first_week = carry is None and after is not None
    alerts = _plan_alerts(verdict, track, risk, gold, previous_gold, first_week=first_week)
    report = WeekReport(
        seller_id=history.seller_id,
        week=week,
        policy=policy,
        verdict=verdict,
        scores_6w=scores,
        track=track,
        rating=rating,
        risk=risk,
        gold=gold,
        previous_gold=previous_gold,
        consecutive_failures=consecutive,
        alerts=alerts,
        what_it_takes=what_it_takes(policy, history, week),
        next_step=next_failing_step(policy, track),
    )
    return report, after


def _plan_alerts(
    verdict: WeekVerdict,
    track: TrackWeek | None,
    risk: RatingRisk,
    gold: GoldLabel,
    previous_gold: GoldLabel | None,
    *,
    first_week: bool,
) -> tuple[Alert, ...]:
    planned: set[Alert] = set()
    if track is not None and track.week == verdict.week:
        if track.message is not None:
            planned.add(track.message)
        if track.ended:
            planned.add("track_ended")
        if track.expired_strike is not None and track.state != "closed":
            planned.add("strikes_expired")
    if risk == "critical":
        planned.add("rating_critical")
    elif risk == "danger":
        planned.add("rating_danger")
    if verdict.failed_other:
        planned.add("norm_notice")
    was_eligible = previous_gold.eligible if previous_gold is not None else False
    if gold.eligible and (first_week or not was_eligible):
        planned.add("gold_label_reached")
    elif not gold.eligible and was_eligible:
        planned.add("gold_label_lost")
    return tuple(a for a in ALERT_ORDER if a in planned)


def what_it_takes(policy: Policy, history: SellerHistory, week: IsoWeek) -> tuple[WhatItTakes, ...]:
    """For each escalating indicator, how many items may go wrong next week, judged on the
    average volume of the last score window."""
    out: list[WhatItTakes] = []
    empty: dict[Indicator, Measurement] = {}
    window = [
        history.measurements.get(week.shift(-i), empty) for i in range(policy.score_window_weeks)
    ]
    for indicator in policy.escalating:
        rule = policy.rules[indicator]
        volumes = [
            m.denominator
            for by_indicator in window
            if (m := by_indicator.get(indicator)) is not None and m.denominator
        ]
        latest = window[0].get(indicator) if window else history.measurement(week, indicator)
        norm = latest.norm if latest is not None and latest.norm is not None else rule.norm
        if not volumes or norm is None:
            continue
        expected = round(sum(volumes) / len(volumes))
        if expected == 0:
            continue
        if rule.condition == ">=":
            allowed = math.floor(expected * (1 - norm) + 1e-9)
        else:
            allowed = math.floor(expected * norm + 1e-9)
        if rule.minimum is not None:
            allowed = max(allowed, rule.minimum - 1)
        out.append(WhatItTakes(indicator, expected, min(allowed, expected)))
    return tuple(out)
