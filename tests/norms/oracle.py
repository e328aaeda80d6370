"""The fold as it was written before it was split into steps, kept as the oracle that the
stepped fold is checked against: a whole history folded from its first week at once."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from norms.carry import CONSECUTIVE_COUNTED
from norms.goldlabel import GoldLabel, gold_label
from norms.model import (
    Indicator,
    Measurement,
    PlanEvent,
    PlanStatus,
    Reopen,
    SellerHistory,
    ShopRating,
    Status,
)
from norms.policy import LadderKind, Policy
from norms.rating import RatingForWeek, RatingRisk, rating_risk
from norms.report import ALERT_ORDER, Alert, WeekReport, what_it_takes
from norms.scores import POOLED, pooled_score
from norms.track import TrackState, TrackWeek, WeekInput, next_failing_step
from norms.verdicts import WeekVerdict, judge_week
from norms.weeks import IsoWeek


def fold_track(
    policy: Policy,
    weeks: Sequence[WeekInput],
    plan_events: Iterable[PlanEvent] = (),
    reopens: Iterable[Reopen] = (),
) -> list[TrackWeek]:
    """Fold consecutive calendar weeks into the track state after each of them."""
    plan_events = tuple(plan_events)
    reopen_weeks = sorted({IsoWeek.of(r.on) for r in reopens})
    if policy.kind == "strikes":
        return _fold_strikes(policy, weeks, plan_events, reopen_weeks)
    return _fold_steps(policy, weeks, plan_events, reopen_weeks)


def _plan_status(plan_events: tuple[PlanEvent, ...], since: IsoWeek | None) -> PlanStatus | None:
    if since is None:
        return None
    relevant = {e.status for e in plan_events if IsoWeek.of(e.on) >= since}
    if "approved" in relevant:
        return "approved"
    if "submitted" in relevant:
        return "submitted"
    return "required"


def _reopened(reopen_weeks: list[IsoWeek], previous: IsoWeek | None, week: IsoWeek) -> bool:
    """An operator reopened the seller between the previous folded week and this one."""
    return any((previous is None or previous < r) and r <= week for r in reopen_weeks)


def _fold_steps(
    policy: Policy,
    weeks: Sequence[WeekInput],
    plan_events: tuple[PlanEvent, ...],
    reopen_weeks: list[IsoWeek],
) -> list[TrackWeek]:
    out: list[TrackWeek] = []
    state: TrackState = "none"
    step = compliant = 0
    plan_since: IsoWeek | None = None
    opened: IsoWeek | None = None
    previous: IsoWeek | None = None
    for item in weeks:
        if state == "closed" and _reopened(reopen_weeks, previous, item.week):
            state, step, compliant, plan_since, opened = "none", 0, 0, None, None
        previous = item.week
        message: LadderKind | None = None
        ended = False
        if state == "closed":
            pass
        elif item.failing:
            if state == "none":
                state, step, opened = "open", 0, item.week
            step += 1
            compliant = 0
            message = policy.kind_at(step)
            if step == policy.plan_from_step and plan_since is None:
                plan_since = item.week
            if step >= policy.closing_step:
                state = "closed"
        elif state == "open":
            compliant += 1
            if compliant >= policy.clean_weeks_to_end:
                state, step, compliant, plan_since, opened = "none", 0, 0, None, None
                ended = True
        out.append(
            TrackWeek(
                week=item.week,
                state=state,
                step=step,
                compliant_weeks=compliant,
                weeks_to_end=policy.clean_weeks_to_end - compliant if state == "open" else None,
                plan=_plan_status(plan_events, plan_since) if state == "open" else None,
                failing=item.failing,
                message=message,
                ended=ended,
                plan_since=plan_since if state == "open" else None,
                opened=opened if state != "none" else None,
            )
        )
    return out


def _fold_strikes(
    policy: Policy,
    weeks: Sequence[WeekInput],
    plan_events: tuple[PlanEvent, ...],
    reopen_weeks: list[IsoWeek],
) -> list[TrackWeek]:
    out: list[TrackWeek] = []
    window = policy.strike_window_weeks
    strikes: list[IsoWeek] = []
    closed = False
    clean_run = 0
    plan_since: IsoWeek | None = None
    opened: IsoWeek | None = None
    previous: IsoWeek | None = None
    for item in weeks:
        clean_run = 0 if item.failing else clean_run + 1
        if closed and _reopened(reopen_weeks, previous, item.week):
            closed, strikes, plan_since, opened = False, [], None, None
        previous = item.week
        message: LadderKind | None = None
        expired: IsoWeek | None = None
        if not closed:
            # The strike of week W-window drops out in week W.
            dropped = item.week.shift(-window)
            if dropped in strikes:
                strikes.remove(dropped)
                expired = dropped
            if item.failing:
                strikes.append(item.week)
                message = policy.kind_at(len(strikes))
                if len(strikes) >= policy.plan_from_step and plan_since is None:
                    plan_since = item.week
                if len(strikes) >= policy.closing_step:
                    closed = True
            if not strikes:
                plan_since, opened = None, None
            elif opened is None:
                opened = strikes[0]
        count = len(strikes)
        state: TrackState = "closed" if closed else ("open" if count else "none")
        out.append(
            TrackWeek(
                week=item.week,
                state=state,
                step=count,
                compliant_weeks=clean_run,
                weeks_to_end=None,
                plan=_plan_status(plan_events, plan_since) if state == "open" else None,
                failing=item.failing,
                message=message,
                expired_strike=expired,
                plan_since=plan_since if state == "open" else None,
                opened=opened if state != "none" else None,
                strikes=tuple(strikes),
            )
        )
    return out


def shop_rating(
    policy: Policy,
    week: IsoWeek,
    ratings: Iterable[ShopRating],
    measurements: Mapping[IsoWeek, Mapping[Indicator, Measurement]],
) -> RatingForWeek | None:
    """The shop rating for ``week``: the latest one dated by the Wednesday after it, else
    the review-weighted average of the weekly ``REVIEWS`` measurements; ``None`` if unknown."""
    cutoff = week.check_day
    dated = [r for r in ratings if r.on <= cutoff]
    if dated:
        latest = max(dated, key=lambda r: r.on)
        return RatingForWeek(
            average=latest.rating,
            reviews=latest.reviews,
            source="imported",
            aspects=dict(latest.aspects),
            top_retailer=latest.top_retailer,
        )
    history = sorted(
        (w, m)
        for w, by_indicator in measurements.items()
        if w <= week and (m := _reviews(by_indicator)) is not None
    )
    recent = [(w, m) for w, m in history if w > week.shift(-policy.rating_window_weeks)]
    count = sum(m.denominator or 0 for _, m in recent)
    if count < policy.rating_min_reviews:
        recent = history
    return _weighted(recent)


def _reviews(by_indicator: Mapping[Indicator, Measurement]) -> Measurement | None:
    m = by_indicator.get(Indicator.REVIEWS)
    if m is None or m.value is None or not m.denominator:
        return None
    return m


def _weighted(weeks: list[tuple[IsoWeek, Measurement]]) -> RatingForWeek | None:
    count = sum(m.denominator or 0 for _, m in weeks)
    if count == 0:
        return None
    total = sum((m.value or 0.0) * (m.denominator or 0) for _, m in weeks)
    # Rounding drops float noise (5.000000000000001) that would miss "at or below 5.0".
    return RatingForWeek(average=round(total / count, 9), reviews=count, source="computed")


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
    verdicts = verdict_history(policy, history, week)
    folded = fold_track(
        policy,
        [WeekInput(v.week, v.failing) for v in verdicts],
        history.plan_events,
        history.reopens,
    )
    if verdicts:
        verdict = verdicts[-1]
    else:
        verdict = judge_week(policy, history.seller_id, week, {}, history.exemptions)
    track = folded[-1] if folded else None
    m = history.measurements
    scores = {i: pooled_score(m, i, week, policy.score_window_weeks) for i in POOLED}
    rating = shop_rating(policy, week, history.ratings, m)
    risk = rating_risk(policy, rating)
    gold = gold_label(policy, week, rating, m)
    previous_gold: GoldLabel | None = None
    if len(verdicts) >= 2:
        prev = week.shift(-1)
        previous_gold = gold_label(policy, prev, shop_rating(policy, prev, history.ratings, m), m)
    consecutive = {i: _consecutive_failures(verdicts, i) for i in CONSECUTIVE_COUNTED}
    alerts = _plan_alerts(verdict, track, risk, gold, previous_gold, first_week=len(verdicts) == 1)
    return WeekReport(
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


def _consecutive_failures(verdicts: list[WeekVerdict], indicator: Indicator) -> int:
    run = 0
    for v in reversed(verdicts):
        if v.indicators[indicator].status is not Status.FAIL:
            break
        run += 1
    return run


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
