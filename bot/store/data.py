"""``Store.data``, the one-time home of every weekly record, kept for its many call sites:
each method hands its work to the repository of its record kind (``measurements``,
``exemptions``, ``plans``, ``reopens``, ``histories``), where new code goes directly."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Iterable, Mapping, Sequence
from datetime import date, datetime

from bot.store.exemptions import ExemptionExists, Exemptions
from bot.store.histories import Histories
from bot.store.measurements import (
    MEASUREMENT_COLUMNS,
    RATING_COLUMNS,
    Measurements,
    measurement_row,
    rating_row,
)
from bot.store.plans import PlanEvents
from bot.store.records import ExemptionRecord
from bot.store.reopens import Reopens
from norms import Exemption, Indicator, IsoWeek, SellerHistory

__all__ = [
    "MEASUREMENT_COLUMNS",
    "RATING_COLUMNS",
    "ExemptionExists",
    "WeeklyData",
    "measurement_row",
    "rating_row",
]


class WeeklyData:
    """The weekly records' repositories behind the names their call sites use."""

    def __init__(
        self,
        measurements: Measurements,
        exemptions: Exemptions,
        plans: PlanEvents,
        reopens: Reopens,
        histories: Histories,
    ) -> None:
        self.measurements = measurements
        self.exemptions_ = exemptions
        self.plans = plans
        self.reopens = reopens
        self.histories_ = histories

    async def histories(
        self, seller_ids: Iterable[str] | None, up_to: IsoWeek
    ) -> dict[str, SellerHistory]:
        return await self.histories_.up_to(seller_ids, up_to)

    def windows(
        self,
        seller_ids: Sequence[str],
        up_to: IsoWeek,
        since: Mapping[str, Mapping[Indicator, IsoWeek | None]],
        reports_from: IsoWeek,
    ) -> AsyncGenerator[SellerHistory, None]:
        return self.histories_.windows(seller_ids, up_to, since, reports_from)

    async def week_sources(self, seller_ids: Sequence[str], week: IsoWeek) -> dict[str, str]:
        return await self.measurements.week_sources(seller_ids, week)

    async def first_week_with_data(self, seller_id: str) -> IsoWeek | None:
        return await self.measurements.first_week_with_data(seller_id)

    async def last_week_with_data(self, seller_id: str) -> IsoWeek | None:
        return await self.measurements.last_week_with_data(seller_id)

    async def figures_up_to(self, week: IsoWeek) -> bool:
        return await self.measurements.figures_up_to(week)

    async def first_week(self) -> IsoWeek | None:
        return await self.measurements.first_week()

    async def latest_week(self) -> IsoWeek | None:
        return await self.measurements.latest_week()

    async def add_exemption(self, exemption: Exemption, actor: str, now: datetime) -> int:
        return await self.exemptions_.add(exemption, actor, now)

    async def same_exemption(self, exemption: Exemption) -> ExemptionRecord | None:
        return await self.exemptions_.same(exemption)

    async def exemptions(self) -> list[Exemption]:
        return await self.exemptions_.all()

    async def exemption_records(self) -> list[ExemptionRecord]:
        return await self.exemptions_.records()

    async def remove_exemption(self, exemption_id: int, now: datetime) -> ExemptionRecord | None:
        return await self.exemptions_.remove(exemption_id, now)

    async def add_plan_event(
        self, seller_id: str, on: date, status: str, actor: str, now: datetime
    ) -> None:
        await self.plans.add(seller_id, on, status, actor, now)

    async def add_reopen(self, seller_id: str, on: date, actor: str, now: datetime) -> None:
        await self.reopens.add(seller_id, on, actor, now)
