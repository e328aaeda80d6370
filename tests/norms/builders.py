"""Small builders for norm-engine tests: policies, weeks, measurements, histories."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from norms import (
    Exemption,
    Indicator,
    IsoWeek,
    Measurement,
    PlanEvent,
    Reopen,
    SellerHistory,
    ShopRating,
    load_policy,
)
from norms.track import WeekInput

TRACK = load_policy("verbetertraject-24w")
STRIKES = load_policy("strikes-22w")

F = Indicator.FULFILMENT
C = Indicator.CANCELLATIONS
RT = Indicator.RESPONSE_TIME
PA = Indicator.PHONE_AVAILABILITY
TT = Indicator.TRACK_AND_TRACE
CIR = Indicator.CASE_ITEM_RATIO
RET = Indicator.RETURNS
REV = Indicator.REVIEWS

START = IsoWeek(2026, 1)


def wk(text: str) -> IsoWeek:
    return IsoWeek.parse(text)


def fail_fulfilment(week: IsoWeek) -> Measurement:
    """FULFILMENT 80 of 100 on time: 20 late, well below 0.93."""
    return Measurement(F, week, 80, 100)


def pass_fulfilment(week: IsoWeek) -> Measurement:
    return Measurement(F, week, 99, 100)


def inputs(pattern: str, start: IsoWeek = START) -> list[WeekInput]:
    """Fold input from a pattern: ``F`` a failing week, anything else a clean one."""
    return [WeekInput(start.shift(i), ch == "F") for i, ch in enumerate(pattern)]


def weekly(pattern: str, start: IsoWeek = START) -> list[Measurement]:
    """FULFILMENT per week: ``F`` failing, ``.`` passing, ``-`` no data at all."""
    out: list[Measurement] = []
    for i, ch in enumerate(pattern):
        week = start.shift(i)
        if ch == "F":
            out.append(fail_fulfilment(week))
        elif ch == ".":
            out.append(pass_fulfilment(week))
    return out


def history(
    measurements: Iterable[Measurement] = (),
    *,
    seller_id: str = "shop-1",
    ratings: Iterable[ShopRating] = (),
    exemptions: Iterable[Exemption] = (),
    plan_events: Iterable[PlanEvent] = (),
    reopens: Iterable[Reopen] = (),
) -> SellerHistory:
    by_week: dict[IsoWeek, dict[Indicator, Measurement]] = {}
    for m in measurements:
        by_week.setdefault(m.week, {})[m.indicator] = m
    return SellerHistory(
        seller_id=seller_id,
        measurements=by_week,
        ratings=tuple(ratings),
        exemptions=tuple(exemptions),
        plan_events=tuple(plan_events),
        reopens=tuple(reopens),
    )


def day(week: IsoWeek, weekday: int = 3) -> date:
    """A day in ``week`` (1 = Monday ... 7 = Sunday)."""
    return date.fromisocalendar(week.year, week.week, weekday)
