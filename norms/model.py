"""The plain data the norm engine works on: indicators, measurements, ratings, exemptions."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import Literal

from norms.weeks import IsoWeek

Condition = Literal[">=", "<="]


class Indicator(StrEnum):
    """The weekly indicators, named as bol.com's Retailer API names them: the eight of v10,
    and v11's ``HANDOVER`` (via bol) and ``ON_TIME`` (own shipping), which split on-time
    delivery in two since about July 2026."""

    FULFILMENT = "FULFILMENT"
    CANCELLATIONS = "CANCELLATIONS"
    RESPONSE_TIME = "RESPONSE_TIME"
    PHONE_AVAILABILITY = "PHONE_AVAILABILITY"
    TRACK_AND_TRACE = "TRACK_AND_TRACE"
    CASE_ITEM_RATIO = "CASE_ITEM_RATIO"
    RETURNS = "RETURNS"
    REVIEWS = "REVIEWS"
    HANDOVER = "HANDOVER"
    ON_TIME = "ON_TIME"


INDICATORS: tuple[Indicator, ...] = tuple(Indicator)

# What v10's performance endpoint serves: one call each (v11 adds HANDOVER and ON_TIME).
V10_INDICATORS: tuple[Indicator, ...] = INDICATORS[:8]

# A failing indicator in a week bol.com excluded is ``exempt`` with this reason: the
# templates word it ("bol.com excluded this week"), like an operator's reason.
BOL_EXCLUDED = "bol.com excluded this week"

ASPECTS: tuple[str, ...] = ("product_information", "delivery_time", "shipping", "service")


class Status(StrEnum):
    """An indicator's verdict for one week."""

    PASS = "pass"
    FAIL = "fail"
    EXEMPT = "exempt"
    NO_DATA = "no_data"
    NO_NORM = "no_norm"


@dataclass(frozen=True, slots=True)
class Measurement:
    """One indicator of one week, as bol.com reports it or an upload gives it."""

    indicator: Indicator
    week: IsoWeek
    numerator: int | None = None
    denominator: int | None = None
    value: float | None = None
    norm: float | None = None
    condition: Condition | None = None
    conforms: bool | None = None
    # bol.com's own exclusion (v11 ``excluded``): the week does not count for this KPI.
    excluded: bool = False

    @property
    def effective_value(self) -> float | None:
        """The given value, else numerator / denominator; ``None`` for a week without data."""
        # A week whose denominator is 0 (no orders, no calls, no reviews) has no data.
        if self.denominator == 0:
            return None
        if self.value is not None:
            return self.value
        if self.numerator is not None and self.denominator:
            return self.numerator / self.denominator
        return None


@dataclass(frozen=True, slots=True)
class ShopRating:
    """The average shown on the shop page on a given day, with its aspect ratings."""

    on: date
    rating: float
    aspects: dict[str, float] = field(default_factory=dict)
    reviews: int | None = None
    method: str | None = None
    top_retailer: bool | None = None


@dataclass(frozen=True, slots=True)
class Exemption:
    """A week that bol.com does not count (carrier strike, outage), for some or all."""

    week: IsoWeek
    reason: str
    indicators: frozenset[Indicator] = frozenset()
    sellers: frozenset[str] = frozenset()

    def covers(self, seller_id: str, indicator: Indicator, week: IsoWeek) -> bool:
        """Whether this exemption applies to ``indicator`` of ``seller_id`` in ``week``."""
        return (
            week == self.week
            and (not self.indicators or indicator in self.indicators)
            and (not self.sellers or seller_id in self.sellers)
        )


PlanStatus = Literal["required", "submitted", "approved"]


@dataclass(frozen=True, slots=True)
class PlanEvent:
    """The seller or an operator said the improvement plan was submitted or approved."""

    on: date
    status: Literal["submitted", "approved"]


@dataclass(frozen=True, slots=True)
class Reopen:
    """An operator reopened a seller: a closed track is forgotten from that week on."""

    on: date


@dataclass(frozen=True, slots=True)
class SellerHistory:
    """Everything known about one seller that the engine needs, as plain data."""

    seller_id: str
    measurements: dict[IsoWeek, dict[Indicator, Measurement]] = field(default_factory=dict)
    ratings: tuple[ShopRating, ...] = ()
    exemptions: tuple[Exemption, ...] = ()
    plan_events: tuple[PlanEvent, ...] = ()
    reopens: tuple[Reopen, ...] = ()

    @property
    def first_week(self) -> IsoWeek | None:
        """The seller's first week with any data."""
        return min(self.measurements) if self.measurements else None

    def measurement(self, week: IsoWeek, indicator: Indicator) -> Measurement | None:
        return self.measurements.get(week, {}).get(indicator)
