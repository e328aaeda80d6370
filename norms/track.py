"""The escalation track, derived: a fold over weekly verdicts, never stored state.

Two policies share the ladder of messages. Under ``track`` (verbetertraject) every failing
week adds a step and a run of clean weeks ends the track; under ``strikes`` the step is the
number of failing weeks in a sliding window.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Literal

from norms.model import PlanEvent, PlanStatus, Reopen
from norms.policy import LadderKind, Policy
from norms.weeks import IsoWeek

TrackState = Literal["none", "open", "closed"]


@dataclass(frozen=True, slots=True)
class TrackWeek:
    """The track as it stands after week ``week``, and what that week changed."""

    week: IsoWeek
    state: TrackState
    step: int
    compliant_weeks: int
    weeks_to_end: int | None
    plan: PlanStatus | None
    failing: bool
    message: LadderKind | None = None
    ended: bool = False
    expired_strike: IsoWeek | None = None
    plan_since: IsoWeek | None = None
    opened: IsoWeek | None = None
    strikes: tuple[IsoWeek, ...] = ()

    @property
    def end_week(self) -> IsoWeek | None:
        """The week after which the track ends if every week from now on is clean."""
        if self.weeks_to_end is None:
            return None
        return self.week.shift(self.weeks_to_end)


@dataclass(frozen=True, slots=True)
class WeekInput:
    """What the fold needs of one calendar week."""

    week: IsoWeek
    failing: bool


def fold_track(
    policy: Policy,
    weeks: Sequence[WeekInput],
    plan_events: Iterable[PlanEvent] = (),
    reopens: Iterable[Reopen] = (),
) -> list[TrackWeek]:
    """Fold consecutive calendar weeks into the track state after each of them."""
    plan_events = tuple(plan_events)
    reopened = reopen_weeks(reopens)
    out: list[TrackWeek] = []
    current: TrackWeek | None = None
    for item in weeks:
        current = step_track(policy, current, item, plan_events, reopened)
        out.append(current)
    return out


def reopen_weeks(reopens: Iterable[Reopen]) -> tuple[IsoWeek, ...]:
    """The weeks in which an operator reopened the seller, oldest first."""
    return tuple(sorted({IsoWeek.of(r.on) for r in reopens}))


def step_track(
    policy: Policy,
    previous: TrackWeek | None,
    item: WeekInput,
    plan_events: tuple[PlanEvent, ...] = (),
    reopened: tuple[IsoWeek, ...] = (),
) -> TrackWeek:
    """One step of the fold: the track after ``item``, from the track after the week
    before it (``None`` for the seller's first week). Folding is stepping from ``None``."""
    if policy.kind == "strikes":
        return _step_strikes(policy, previous, item, plan_events, reopened)
    return _step_steps(policy, previous, item, plan_events, reopened)


PLAN_ORDER: tuple[PlanStatus, ...] = ("required", "submitted", "approved")


def plan_may_become(plan: PlanStatus | None, status: PlanStatus) -> bool:
    """Whether a plan that stands at ``plan`` may now be recorded as ``status``: only a
    plan the track asks for (``None``: none is), and only forward (an approved plan is
    not submitted again). The one rule for the chat's /plan done and ``normwacht plan``."""
    return plan is not None and PLAN_ORDER.index(status) > PLAN_ORDER.index(plan)


def plan_status(plan_events: tuple[PlanEvent, ...], since: IsoWeek | None) -> PlanStatus | None:
    """The improvement plan owed since ``since``: what the plan events from then on say."""
    if since is None:
        return None
    relevant = {e.status for e in plan_events if IsoWeek.of(e.on) >= since}
    if "approved" in relevant:
        return "approved"
    if "submitted" in relevant:
        return "submitted"
    return "required"


def _reopened(reopened: tuple[IsoWeek, ...], previous: IsoWeek | None, week: IsoWeek) -> bool:
    """An operator reopened the seller between the previous folded week and this one."""
    return any((previous is None or previous < r) and r <= week for r in reopened)


def _step_steps(
    policy: Policy,
    prev: TrackWeek | None,
    item: WeekInput,
    plan_events: tuple[PlanEvent, ...],
    reopened: tuple[IsoWeek, ...],
) -> TrackWeek:
    # What a week carries to the next is exactly what its TrackWeek shows: a plan or an
    # opening week hidden by a closed track only matters again after a reopen resets it.
    state: TrackState = "none"
    step = compliant = 0
    plan_since: IsoWeek | None = None
    opened: IsoWeek | None = None
    previous: IsoWeek | None = None
    if prev is not None:
        state, step, compliant = prev.state, prev.step, prev.compliant_weeks
        plan_since, opened, previous = prev.plan_since, prev.opened, prev.week
    if state == "closed" and _reopened(reopened, previous, item.week):
        state, step, compliant, plan_since, opened = "none", 0, 0, None, None
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
    return TrackWeek(
        week=item.week,
        state=state,
        step=step,
        compliant_weeks=compliant,
        weeks_to_end=policy.clean_weeks_to_end - compliant if state == "open" else None,
        plan=plan_status(plan_events, plan_since) if state == "open" else None,
        failing=item.failing,
        message=message,
        ended=ended,
        plan_since=plan_since if state == "open" else None,
        opened=opened if state != "none" else None,
    )


def _step_strikes(
    policy: Policy,
    prev: TrackWeek | None,
    item: WeekInput,
    plan_events: tuple[PlanEvent, ...],
    reopened: tuple[IsoWeek, ...],
) -> TrackWeek:
    window = policy.strike_window_weeks
    strikes: list[IsoWeek] = []
    closed = False
    clean_run = 0
    plan_since: IsoWeek | None = None
    opened: IsoWeek | None = None
    previous: IsoWeek | None = None
    if prev is not None:
        strikes, closed, clean_run = (
            list(prev.strikes),
            prev.state == "closed",
            prev.compliant_weeks,
        )
        plan_since, opened, previous = prev.plan_since, prev.opened, prev.week
    clean_run = 0 if item.failing else clean_run + 1
    if closed and _reopened(reopened, previous, item.week):
        closed, strikes, plan_since, opened = False, [], None, None
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
    return TrackWeek(
        week=item.week,
        state=state,
        step=count,
        compliant_weeks=clean_run,
        weeks_to_end=None,
        plan=plan_status(plan_events, plan_since) if state == "open" else None,
        failing=item.failing,
        message=message,
        expired_strike=expired,
        plan_since=plan_since if state == "open" else None,
        opened=opened if state != "none" else None,
        strikes=tuple(strikes),
    )


def next_failing_step(policy: Policy, current: TrackWeek | None) -> tuple[int, LadderKind] | None:
    """What one more failing week would bring: the step it reaches and its message kind."""
    if current is None or current.state == "none":
        return 1, policy.kind_at(1)
    if current.state == "closed":
        return None
    step = current.step + 1
    if policy.kind == "strikes":
        # Next week the oldest strike may drop out of the window before the new one counts.
        horizon = current.week.shift(2 - policy.strike_window_weeks)
        step = sum(1 for s in current.strikes if s >= horizon) + 1
    return step, policy.kind_at(step)


def as_of(track: Sequence[TrackWeek], week: IsoWeek) -> TrackWeek | None:
    """The track after ``week``, or ``None`` before the seller's first week with data."""
    for tw in reversed(track):
        if tw.week <= week:
            return tw if tw.week == week else replace(tw, week=week)
    return None


__all__ = [
    "TrackState",
    "TrackWeek",
    "WeekInput",
    "as_of",
    "fold_track",
    "next_failing_step",
    "plan_status",
    "reopen_weeks",
    "step_track",
]
