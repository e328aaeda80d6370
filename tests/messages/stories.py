"""Hand-made seller histories, each telling one story, evaluated with the real engine."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date
from functools import cache

from messages import SellerRef
from norms import (
    Exemption,
    Indicator,
    IsoWeek,
    Measurement,
    PlanEvent,
    SellerHistory,
    ShopRating,
    WeekReport,
    evaluate_week,
    load_policy,
)

WEEK = IsoWeek(2026, 46)
IND = Indicator


@dataclass(frozen=True)
class Week:
    """One week's figures; counts as (numerator, denominator), dynamic norms beside them."""

    fulfilment: tuple[int, int] = (196, 200)
    cancellations: tuple[int, int] = (2, 200)
    response: tuple[int, int] = (38, 40)
    phone: tuple[int, int] = (19, 20)
    track_and_trace: tuple[int, int] = (200, 200)
    cases: tuple[int, int] = (8, 200)
    cases_norm: float | None = 0.06
    returns: tuple[int, int] = (6, 200)
    returns_norm: float = 0.05
    rating: float = 8.9
    reviews: int = 6
    value_only: frozenset[Indicator] = frozenset()

    def measurements(self, week: IsoWeek) -> dict[Indicator, Measurement]:
        def counts(
            indicator: Indicator, pair: tuple[int, int], norm: float | None = None
        ) -> Measurement:
            if indicator in self.value_only:
                return Measurement(indicator, week, None, None, pair[0] / pair[1], norm)
            return Measurement(indicator, week, pair[0], pair[1], None, norm)

        return {
            IND.FULFILMENT: counts(IND.FULFILMENT, self.fulfilment),
            IND.CANCELLATIONS: counts(IND.CANCELLATIONS, self.cancellations),
            IND.RESPONSE_TIME: counts(IND.RESPONSE_TIME, self.response),
            IND.PHONE_AVAILABILITY: counts(IND.PHONE_AVAILABILITY, self.phone),
            IND.TRACK_AND_TRACE: counts(IND.TRACK_AND_TRACE, self.track_and_trace),
            IND.CASE_ITEM_RATIO: counts(IND.CASE_ITEM_RATIO, self.cases, self.cases_norm),
            IND.RETURNS: counts(IND.RETURNS, self.returns, self.returns_norm),
            IND.REVIEWS: Measurement(IND.REVIEWS, week, None, self.reviews, self.rating, None),
        }


GOOD = Week()
LATE = replace(GOOD, fulfilment=(180, 200))
CANCELLED = replace(GOOD, cancellations=(7, 200))
SLOW = replace(GOOD, response=(28, 40))


@dataclass(frozen=True)
class Story:
    """A seller, their history and the policy it is judged under."""

    name: str
    seller: SellerRef
    policy: str
    weeks: dict[IsoWeek, Week]
    ratings: tuple[ShopRating, ...] = ()
    exemptions: tuple[Exemption, ...] = ()
    plan_events: tuple[PlanEvent, ...] = ()
    source: str = "bol.com"
    extra: dict[str, object] = field(default_factory=dict)

    def history(self) -> SellerHistory:
        return SellerHistory(
            seller_id=self.seller.id,
            measurements={w: week.measurements(w) for w, week in self.weeks.items()},
            ratings=self.ratings,
            exemptions=self.exemptions,
            plan_events=self.plan_events,
        )

    def report(self, week: IsoWeek = WEEK) -> WeekReport:
        return _evaluate(self.name, week)

    def previous(self) -> WeekReport | None:
        if WEEK.shift(-1) not in self.weeks:
            return None
        return self.report(WEEK.shift(-1))


def _span(first: IsoWeek, last: IsoWeek, week: Week = GOOD) -> dict[IsoWeek, Week]:
    return {w: week for w in first.until(last)}


def _w(n: int, year: int = 2026) -> IsoWeek:
    return IsoWeek(year, n)


def _stories() -> dict[str, Story]:
    stories: list[Story] = []

    # A clean shop that reaches the gold label this week: reviews picked up.
    gold = _span(_w(36), _w(46), replace(GOOD, rating=9.3, reviews=4))
    gold[_w(45)] = replace(GOOD, rating=9.3, reviews=5)
    gold[_w(46)] = replace(GOOD, rating=9.4, reviews=12, fulfilment=(199, 200))
    stories.append(
        Story(
            "gold",
            SellerRef("shop-gold", "Koffie & Co"),
            "verbetertraject-24w",
            gold,
            ratings=(
                ShopRating(
                    date(2026, 11, 18),
                    9.3,
                    {
                        "product_information": 9.4,
                        "delivery_time": 9.1,
                        "shipping": 9.0,
                        "service": 9.5,
                    },
                    reviews=64,
                    method="THREE_MONTHS",
                    top_retailer=True,
                ),
            ),
        )
    )

    # Second failing week of a track: late deliveries and cancellations, and a T&T notice.
    warning = _span(_w(40), _w(46))
    warning[_w(43)] = LATE
    # Track & trace comes as a value without counts (an upload may do that).
    warning[_w(46)] = replace(
        GOOD,
        fulfilment=(184, 200),
        cancellations=(7, 200),
        track_and_trace=(197, 200),
        value_only=frozenset({IND.TRACK_AND_TRACE}),
    )
    stories.append(
        Story(
            "warning2",
            SellerRef("shop-warn", "Fietsenwinkel De Spaak"),
            "verbetertraject-24w",
            warning,
        )
    )

    # The fifth failing week: suspension, plan required, and a shop rating in danger.
    suspension = _span(_w(36), _w(46))
    for n in (38, 40, 42, 44):
        suspension[_w(n)] = LATE
    suspension[_w(46)] = replace(LATE, response=(28, 40))
    stories.append(
        Story(
            "suspension",
            SellerRef("shop-susp", "Jan's Klusshop"),
            "verbetertraject-24w",
            suspension,
            ratings=(ShopRating(date(2026, 11, 16), 5.8, {}, reviews=40, method="THREE_MONTHS"),),
            source="upload",
        )
    )

    # The sixth failing week: the last warning; the plan was submitted; gold label lost.
    last = _span(_w(36), _w(46), replace(GOOD, reviews=7, rating=9.4))
    for n in range(41, 47):
        last[_w(n)] = replace(CANCELLED, reviews=7, rating=9.4)
    stories.append(
        Story(
            "lastwarning",
            SellerRef("shop-last", "Tuinhuis Noord"),
            "verbetertraject-24w",
            last,
            ratings=(
                ShopRating(date(2026, 11, 4), 9.1, {"delivery_time": 8.9}, reviews=80),
                ShopRating(
                    date(2026, 11, 17), 8.9, {"delivery_time": 8.3, "service": 8.6}, reviews=82
                ),
            ),
            plan_events=(PlanEvent(date(2026, 11, 12), "submitted"),),
        )
    )

    # Seven failing weeks in a row: closed for good.
    closed = _span(_w(36), _w(46))
    for n in range(40, 47):
        closed[_w(n)] = SLOW if n % 2 else LATE
    stories.append(
        Story("closed", SellerRef("shop-closed", "Gadget Hoek"), "verbetertraject-24w", closed)
    )

    # One failing week, then 24 clean ones: the track ends this week.
    ended = _span(_w(22), _w(46))
    ended[_w(22)] = LATE
    stories.append(
        Story("ended", SellerRef("shop-ended", "Boekhandel Lezen"), "verbetertraject-24w", ended)
    )

    # Returns above the personal norm three weeks running, customer questions once; a late
    # week that a carrier strike exempts; too few cancellations to count.
    notice = _span(_w(38), _w(46))
    for n in (44, 45):
        notice[_w(n)] = replace(GOOD, returns=(16, 200))
    notice[_w(46)] = replace(
        GOOD, returns=(16, 200), cases=(15, 200), fulfilment=(176, 200), cancellations=(2, 50)
    )
    stories.append(
        Story(
            "notice",
            SellerRef("shop-notice", "Mode Maison"),
            "verbetertraject-24w",
            notice,
            exemptions=(
                Exemption(_w(46), "landelijke staking bij PostNL", frozenset({IND.FULFILMENT})),
            ),
            source="upload",
        )
    )

    # A shop rating at 4.6: bol.com closes at 5.0 or lower without warning. No calls this
    # week (no data) and no personal norm for customer questions (no verdict).
    critical = _span(_w(38), _w(46), replace(GOOD, rating=5.1, reviews=5))
    critical[_w(46)] = replace(GOOD, rating=4.2, reviews=6, phone=(0, 0), cases_norm=None)
    stories.append(
        Story(
            "critical",
            SellerRef("shop-crit", "Elektro Direct"),
            "verbetertraject-24w",
            critical,
            ratings=(ShopRating(date(2026, 11, 18), 4.6, {}, reviews=30, method="THREE_MONTHS"),),
        )
    )

    # A small shop: so few items that the minimum counts, not the percentage, decide a
    # failing week (with 5 questions response time cannot fail at all); all gold-label
    # conditions met but the items sold.
    small = _span(
        _w(40),
        _w(46),
        Week(
            fulfilment=(10, 10),
            cancellations=(0, 10),
            response=(5, 5),
            phone=(4, 4),
            track_and_trace=(10, 10),
            cases=(0, 10),
            returns=(0, 10),
            rating=9.5,
            reviews=6,
        ),
    )
    stories.append(
        Story("small", SellerRef("shop-small", "Atelier Klein"), "verbetertraject-24w", small)
    )

    # A seller without any data.
    stories.append(
        Story("nodata", SellerRef("shop-new", "Nieuwe Winkel"), "verbetertraject-24w", {})
    )

    # Strikes: a strike from week 24 expires this week, a new one comes in (strike 3 of 7).
    strikes = _span(_w(24), _w(46))
    for n in (24, 30, 38, 46):
        strikes[_w(n)] = LATE
    stories.append(
        Story("strikes", SellerRef("shop-strike", "Speelgoed Plaza"), "strikes-22w", strikes)
    )

    return {s.name: s for s in stories}


STORIES: dict[str, Story] = _stories()


@cache
def _evaluate(name: str, week: IsoWeek) -> WeekReport:
    story = STORIES[name]
    return evaluate_week(load_policy(story.policy), story.history(), week)
