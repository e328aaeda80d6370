"""A seller's history: every record the norms engine reads about a seller (measurements,
shop ratings, exemptions, plan events, reopens), assembled from their repositories."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import AsyncGenerator, Iterable, Mapping, Sequence
from datetime import date
from typing import Any

from bot.store.engine.base import Database, Row
from bot.store.exemptions import Exemptions
from bot.store.measurements import RATING_COLUMNS
from bot.store.plans import PlanEvents
from bot.store.records import seller_filter
from bot.store.reopens import Reopens
from norms import ASPECTS, INDICATORS, Indicator, IsoWeek, Measurement, SellerHistory, ShopRating
from norms.weeks import iso_week


class Histories:
    """Sellers' histories, read from every table of their records."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.exemptions = Exemptions(db)
        self.plans = PlanEvents(db)
        self.reopens = Reopens(db)

    async def up_to(
        self, seller_ids: Iterable[str] | None, up_to: IsoWeek
    ) -> dict[str, SellerHistory]:
        """Everything the engine needs for these sellers (all when ``None``) up to a week."""
        ids = None if seller_ids is None else list(dict.fromkeys(seller_ids))
        where, params = seller_filter(ids)
        week_key = up_to.year * 100 + up_to.week
        measurements: dict[str, dict[IsoWeek, dict[Indicator, Measurement]]] = defaultdict(dict)
        rows = await self.db.fetchall(
            "SELECT seller_id, year, week, indicator, numerator, denominator, value, norm, "
            f"condition, conforms, excluded FROM measurements WHERE year * 100 + week <= ? {where}",
            [week_key, *params],
        )
        for r in rows:
            week = IsoWeek(r["year"], r["week"])
            indicator = Indicator(r["indicator"])
            measurements[r["seller_id"]].setdefault(week, {})[indicator] = Measurement(
                indicator=indicator,
                week=week,
                numerator=r["numerator"],
                denominator=r["denominator"],
                value=r["value"],
                norm=r["norm"],
                condition=r["condition"],
                conforms=None if r["conforms"] is None else bool(r["conforms"]),
                excluded=bool(r["excluded"]),
            )
        ratings: dict[str, list[ShopRating]] = defaultdict(list)
        for r in await self.db.fetchall(
            f"SELECT {RATING_COLUMNS} FROM shop_ratings WHERE on_date <= ? {where}",
            [up_to.check_day.isoformat(), *params],
        ):
            ratings[r["seller_id"]].append(_rating(r))
        exemptions = tuple(await self.exemptions.all())
        plans = await self.plans.of(ids)
        reopens = await self.reopens.of(ids)
        if ids is None:
            ids = sorted(
                set(measurements)
                | set(ratings)
                | {r["id"] for r in await self.db.fetchall("SELECT id FROM sellers")}
            )
        return {
            sid: SellerHistory(
                seller_id=sid,
                measurements=measurements.get(sid, {}),
                ratings=tuple(ratings.get(sid, ())),
                exemptions=tuple(e for e in exemptions if not e.sellers or sid in e.sellers),
                plan_events=tuple(plans.get(sid, ())),
                reopens=tuple(reopens.get(sid, ())),
            )
            for sid in ids
        }

    async def windows(
        self,
        seller_ids: Sequence[str],
        up_to: IsoWeek,
        since: Mapping[str, Mapping[Indicator, IsoWeek | None]],
        reports_from: IsoWeek,
    ) -> AsyncGenerator[SellerHistory, None]:
        """For each seller (in ``sorted`` order): each indicator's measurements from its
        week in ``since`` (``None``, or a seller not in it: from the first) to ``up_to``,
        and what the reports of ``reports_from`` … ``up_to`` need besides. Rows stream in
        seller order: one seller's rows in memory at a time."""
        ids = sorted(set(seller_ids))
        if not ids:
            return
        groups: dict[tuple[int, ...], list[str]] = defaultdict(list)
        for sid in ids:
            bounds = since.get(sid, {})
            key = tuple(
                0 if (w := bounds.get(i)) is None else w.year * 100 + w.week for i in INDICATORS
            )
            groups[key].append(sid)
        ratings = await self._windowed_ratings(ids, up_to, reports_from)
        plans = await self.plans.of(ids)
        reopens = await self.reopens.of(ids)
        exemptions = tuple(await self.exemptions.all())
        streams: dict[tuple[int, ...], _SellerRows] = {}
        group_of: dict[str, tuple[int, ...]] = {}
        try:
            for key, members in groups.items():
                low = min(key)
                batches = self.db.stream(
                    "SELECT seller_id, year, week, indicator, numerator, denominator, value, "
                    f"norm, condition, conforms, excluded FROM measurements "
                    f"WHERE seller_id IN ({','.join('?' * len(members))}) "
                    # The row values let SQLite seek to the window in the primary key.
                    "AND (year, week) >= (?, ?) AND (year, week) <= (?, ?) "
                    f"AND year * 100 + week >= {_FROM_BY_INDICATOR} "
                    "ORDER BY seller_id, year, week",
                    [*members, low // 100, low % 100, up_to.year, up_to.week, *key],
                    batch=_SellerRows.BATCH,
                )
                streams[key] = _SellerRows(batches)
                group_of.update(dict.fromkeys(members, key))
            for sid in ids:
                yield SellerHistory(
                    seller_id=sid,
                    measurements=await streams[group_of[sid]].take(sid),
                    ratings=tuple(ratings.get(sid, ())),
                    exemptions=tuple(e for e in exemptions if not e.sellers or sid in e.sellers),
                    plan_events=tuple(plans.get(sid, ())),
                    reopens=tuple(reopens.get(sid, ())),
                )
        finally:
            for stream in streams.values():
                await stream.batches.aclose()

    async def _windowed_ratings(
        self, ids: list[str], up_to: IsoWeek, reports_from: IsoWeek
    ) -> dict[str, list[ShopRating]]:
        """The shop ratings of the weeks ``reports_from`` - 1 … ``up_to``, and the latest
        one before them (the rating that still holds when none was dated in a week)."""
        marks = ",".join("?" * len(ids))
        out: dict[str, list[ShopRating]] = defaultdict(list)
        for r in await self.db.fetchall(
            f"SELECT {RATING_COLUMNS} FROM shop_ratings AS r WHERE seller_id IN ({marks}) "
            "AND on_date <= ? AND on_date >= COALESCE((SELECT MAX(on_date) FROM shop_ratings "
            "AS p WHERE p.seller_id = r.seller_id AND p.on_date <= ?), '') "
            "ORDER BY seller_id, on_date",
            [*ids, up_to.check_day.isoformat(), reports_from.shift(-1).check_day.isoformat()],
        ):
            out[r["seller_id"]].append(_rating(r))
        return out


_INDICATOR = {i.value: i for i in INDICATORS}

# The first week (as year * 100 + week) read of each indicator, one parameter each.
_FROM_BY_INDICATOR = (
    "CASE indicator "
    + " ".join(f"WHEN '{i.value}' THEN CAST(? AS BIGINT)" for i in INDICATORS)
    + " END"
)


def _rating(r: Row) -> ShopRating:
    return ShopRating(
        on=date.fromisoformat(r["on_date"]),
        rating=r["rating"],
        aspects={a: r[a] for a in ASPECTS if r[a] is not None},
        reviews=r["reviews"],
        method=r["method"],
        top_retailer=None if r["top_retailer"] is None else bool(r["top_retailer"]),
    )


class _SellerRows:
    """One seller-ordered stream of measurements, read a seller at a time."""

    BATCH = 4096

    def __init__(self, batches: AsyncGenerator[list[tuple[Any, ...]], None]) -> None:
        self.batches = batches
        self._rows: list[Any] = []
        self._at = 0
        self._done = False

    async def take(self, seller_id: str) -> dict[IsoWeek, dict[Indicator, Measurement]]:
        """The measurements of ``seller_id``; sellers must be taken in the cursor's order."""
        out: dict[IsoWeek, dict[Indicator, Measurement]] = {}
        week: IsoWeek | None = None
        by_indicator: dict[Indicator, Measurement] = {}
        while True:
            if self._at == len(self._rows):
                if self._done:
                    return out
                self._rows = await anext(self.batches, [])
                self._at = 0
                if not self._rows:
                    self._done = True
                    return out
            r = self._rows[self._at]
            if r[0] != seller_id:
                return out
            self._at += 1
            if week is None or week.year != r[1] or week.week != r[2]:
                week = iso_week(r[1], r[2])
                by_indicator = out.setdefault(week, {})
            indicator = _INDICATOR[r[3]]
            by_indicator[indicator] = Measurement(
                indicator,
                week,
                r[4],
                r[5],
                r[6],
                r[7],
                r[8],
                None if r[9] is None else bool(r[9]),
                bool(r[10]),
            )
