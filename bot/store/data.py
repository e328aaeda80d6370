"""Weekly measurements, shop ratings, exemptions and the operator's track events."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import AsyncGenerator, Iterable, Mapping, Sequence
from datetime import date, datetime
from typing import Any

from bot.store.engine.base import Database, Row
from bot.store.owed import RECHECK, owe_in
from bot.store.records import ExemptionRecord, parse_stamp, stamp
from norms import (
    ASPECTS,
    INDICATORS,
    Exemption,
    Indicator,
    IsoWeek,
    Measurement,
    PlanEvent,
    Reopen,
    SellerHistory,
    ShopRating,
)
from norms.weeks import iso_week

MEASUREMENT_COLUMNS = (
    "seller_id, year, week, indicator, numerator, denominator, value, norm, condition, "
    "conforms, source, imported_at"
)
RATING_COLUMNS = (
    "seller_id, on_date, rating, product_information, delivery_time, shipping, service, "
    "reviews, method, top_retailer, source, imported_at"
)


def measurement_row(
    seller_id: str, m: Measurement, source: str, imported_at: str
) -> tuple[object, ...]:
    """A measurements row; ``imported_at`` is ``stamp(now)``, made once per import."""
    return (
        seller_id,
        m.week.year,
        m.week.week,
        m.indicator.value,
        m.numerator,
        m.denominator,
        m.value,
        m.norm,
        m.condition,
        None if m.conforms is None else int(m.conforms),
        source,
        imported_at,
    )


def rating_row(seller_id: str, r: ShopRating, source: str, imported_at: str) -> tuple[object, ...]:
    """A shop_ratings row; ``imported_at`` as for ``measurement_row``."""
    return (
        seller_id,
        r.on.isoformat(),
        r.rating,
        *(r.aspects.get(a) for a in ASPECTS),
        r.reviews,
        r.method,
        None if r.top_retailer is None else int(r.top_retailer),
        source,
        imported_at,
    )


class WeeklyData:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def histories(
        self, seller_ids: Iterable[str] | None, up_to: IsoWeek
    ) -> dict[str, SellerHistory]:
        """Everything the engine needs for these sellers (all when ``None``) up to a week."""
        ids = None if seller_ids is None else list(dict.fromkeys(seller_ids))
        where, params = _seller_filter(ids)
        week_key = up_to.year * 100 + up_to.week
        measurements: dict[str, dict[IsoWeek, dict[Indicator, Measurement]]] = defaultdict(dict)
        rows = await self.db.fetchall(
            "SELECT seller_id, year, week, indicator, numerator, denominator, value, norm, "
            f"condition, conforms FROM measurements WHERE year * 100 + week <= ? {where}",
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
            )
        ratings: dict[str, list[ShopRating]] = defaultdict(list)
        for r in await self.db.fetchall(
            f"SELECT {RATING_COLUMNS} FROM shop_ratings WHERE on_date <= ? {where}",
            [up_to.check_day.isoformat(), *params],
        ):
            ratings[r["seller_id"]].append(_rating(r))
        exemptions = tuple(await self.exemptions())
        plans: dict[str, list[PlanEvent]] = defaultdict(list)
        for r in await self.db.fetchall(
            f"SELECT seller_id, on_date, status FROM plan_events WHERE 1 = 1 {where}", params
        ):
            plans[r["seller_id"]].append(PlanEvent(date.fromisoformat(r["on_date"]), r["status"]))
        reopens: dict[str, list[Reopen]] = defaultdict(list)
        for r in await self.db.fetchall(
            f"SELECT seller_id, on_date FROM reopens WHERE 1 = 1 {where}", params
        ):
            reopens[r["seller_id"]].append(Reopen(date.fromisoformat(r["on_date"])))
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
        marks = ",".join("?" * len(ids))
        groups: dict[tuple[int, ...], list[str]] = defaultdict(list)
        for sid in ids:
            bounds = since.get(sid, {})
            key = tuple(
                0 if (w := bounds.get(i)) is None else w.year * 100 + w.week for i in INDICATORS
            )
            groups[key].append(sid)
        ratings = await self._windowed_ratings(ids, up_to, reports_from)
        plans: dict[str, list[PlanEvent]] = defaultdict(list)
        for r in await self.db.fetchall(
            f"SELECT seller_id, on_date, status FROM plan_events WHERE seller_id IN ({marks}) "
            "ORDER BY id",
            ids,
        ):
            plans[r[0]].append(PlanEvent(date.fromisoformat(r[1]), r[2]))
        reopens: dict[str, list[Reopen]] = defaultdict(list)
        for r in await self.db.fetchall(
            f"SELECT seller_id, on_date FROM reopens WHERE seller_id IN ({marks}) ORDER BY id",
            ids,
        ):
            reopens[r[0]].append(Reopen(date.fromisoformat(r[1])))
        exemptions = tuple(await self.exemptions())
        streams: dict[tuple[int, ...], _SellerRows] = {}
        group_of: dict[str, tuple[int, ...]] = {}
        try:
            for key, members in groups.items():
                low = min(key)
                batches = self.db.stream(
                    "SELECT seller_id, year, week, indicator, numerator, denominator, value, "
                    f"norm, condition, conforms FROM measurements "
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

    async def week_sources(self, seller_ids: Sequence[str], week: IsoWeek) -> dict[str, str]:
        """Where each seller's week came from (``upload`` or ``bol.com``), latest first."""
        if not seller_ids:
            return {}
        rows = await self.db.fetchall(
            self.db.dialect.latest_of_each(
                "seller_id, source",
                "measurements",
                "seller_id, year, week",
                "imported_at",
                f"seller_id IN ({','.join('?' * len(seller_ids))}) AND year = ? AND week = ?",
            ),
            [*seller_ids, week.year, week.week],
        )
        return {r[0]: r[1] for r in rows}

    async def first_week_with_data(self, seller_id: str) -> IsoWeek | None:
        row = await self.db.fetchone(
            "SELECT year, week FROM measurements WHERE seller_id = ? ORDER BY year, week LIMIT 1",
            (seller_id,),
        )
        return IsoWeek(row["year"], row["week"]) if row else None

    async def last_week_with_data(self, seller_id: str) -> IsoWeek | None:
        row = await self.db.fetchone(
            "SELECT year, week FROM measurements WHERE seller_id = ? "
            "ORDER BY year DESC, week DESC LIMIT 1",
            (seller_id,),
        )
        return IsoWeek(row["year"], row["week"]) if row else None

    async def figures_up_to(self, week: IsoWeek) -> bool:
        """Whether any seller has figures for ``week`` or a week before it (a week with
        figures before it is found at the first rows read, in key order)."""
        row = await self.db.fetchone(
            "SELECT 1 FROM measurements WHERE (year, week) <= (?, ?) LIMIT 1",
            (week.year, week.week),
        )
        return row is not None

    async def first_week(self) -> IsoWeek | None:
        """The first week any seller has figures for; None when there are none."""
        row = await self.db.fetchone(
            "SELECT year, week FROM measurements ORDER BY year, week LIMIT 1"
        )
        return IsoWeek(row["year"], row["week"]) if row else None

    async def latest_week(self) -> IsoWeek | None:
        row = await self.db.fetchone(
            "SELECT year, week FROM measurements ORDER BY year DESC, week DESC LIMIT 1"
        )
        return IsoWeek(row["year"], row["week"]) if row else None

    async def add_exemption(self, exemption: Exemption, actor: str, now: datetime) -> int:
        """Store the exemption and, in the same transaction, the recheck it obliges; raises
        ``ExemptionExists`` when one of the same week, norms and sellers is recorded."""
        year, week, indicators, sellers = scope = _scope(exemption)
        async with self.db.transaction() as tx:
            same = await tx.fetchone(_SAME_EXEMPTION, scope)
            if same is not None:
                raise ExemptionExists(_exemption_record(same))
            row = await tx.fetchone(
                "INSERT INTO exemptions "
                "(year, week, reason, indicators, sellers, actor, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
                (year, week, exemption.reason, indicators, sellers, actor, stamp(now)),
            )
            exemption_id = int(row["id"]) if row else 0
            await owe_in(
                tx, RECHECK, exemption.week, sorted(exemption.sellers) or None, "exemption", now
            )
        return exemption_id

    async def same_exemption(self, exemption: Exemption) -> ExemptionRecord | None:
        """The recorded exemption of the same week, norms and sellers, if there is one."""
        row = await self.db.fetchone(_SAME_EXEMPTION, _scope(exemption))
        return None if row is None else _exemption_record(row)

    async def exemptions(self) -> list[Exemption]:
        return [record.exemption for record in await self.exemption_records()]

    async def exemption_records(self) -> list[ExemptionRecord]:
        """Every exemption with its id, who declared it and when, by week."""
        rows = await self.db.fetchall(
            "SELECT id, year, week, reason, indicators, sellers, actor, created_at "
            "FROM exemptions ORDER BY year, week, id"
        )
        return [_exemption_record(r) for r in rows]

    async def remove_exemption(self, exemption_id: int, now: datetime) -> ExemptionRecord | None:
        """Delete an exemption and, in the same transaction, owe the recheck it obliges;
        returns what was removed, None when there is no such id."""
        async with self.db.transaction() as tx:
            row = await tx.fetchone(
                "SELECT id, year, week, reason, indicators, sellers, actor, created_at "
                "FROM exemptions WHERE id = ?",
                (exemption_id,),
            )
            if row is None:
                return None
            await tx.execute("DELETE FROM exemptions WHERE id = ?", (exemption_id,))
            record = _exemption_record(row)
            sellers = sorted(record.exemption.sellers) or None
            await owe_in(tx, RECHECK, record.exemption.week, sellers, "exemption removed", now)
        return record

    async def add_plan_event(
        self, seller_id: str, on: date, status: str, actor: str, now: datetime
    ) -> None:
        """Store the plan status and the recheck it obliges, in one transaction."""
        async with self.db.transaction() as tx:
            await tx.execute(
                "INSERT INTO plan_events (seller_id, on_date, status, actor, created_at) "
                "VALUES (?, ?, ?, ?, ?)",
                (seller_id, on.isoformat(), status, actor, stamp(now)),
            )
            await owe_in(tx, RECHECK, IsoWeek.of(on), [seller_id], "plan", now)

    async def add_reopen(self, seller_id: str, on: date, actor: str, now: datetime) -> None:
        """Store the reopen and the recheck it obliges, in one transaction."""
        async with self.db.transaction() as tx:
            await tx.execute(
                "INSERT INTO reopens (seller_id, on_date, actor, created_at) VALUES (?, ?, ?, ?)",
                (seller_id, on.isoformat(), actor, stamp(now)),
            )
            await owe_in(tx, RECHECK, IsoWeek.of(on), [seller_id], "reopen", now)


class ExemptionExists(ValueError):
    """An exemption of the same week, norms and sellers is recorded already: ``existing``."""

    def __init__(self, existing: ExemptionRecord) -> None:
        super().__init__(f"exemption #{existing.id} covers the same week, norms and sellers")
        self.existing = existing


_SAME_EXEMPTION = (
    "SELECT id, year, week, reason, indicators, sellers, actor, created_at FROM exemptions "
    "WHERE year = ? AND week = ? AND indicators = ? AND sellers = ? ORDER BY id LIMIT 1"
)


def _scope(exemption: Exemption) -> tuple[int, int, str, str]:
    """What makes two exemptions the same, as stored: the week, the norms, the sellers."""
    return (
        exemption.week.year,
        exemption.week.week,
        ",".join(sorted(i.value for i in exemption.indicators)),
        ",".join(sorted(exemption.sellers)),
    )


def _exemption_record(r: Any) -> ExemptionRecord:
    return ExemptionRecord(
        id=r["id"],
        exemption=Exemption(
            week=IsoWeek(r["year"], r["week"]),
            reason=r["reason"],
            indicators=frozenset(Indicator(i) for i in r["indicators"].split(",") if i),
            sellers=frozenset(s for s in r["sellers"].split(",") if s),
        ),
        actor=r["actor"],
        created_at=parse_stamp(r["created_at"]),
    )


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
                indicator, week, r[4], r[5], r[6], r[7], r[8], None if r[9] is None else bool(r[9])
            )


def _seller_filter(ids: list[str] | None) -> tuple[str, list[str]]:
    if ids is None:
        return "", []
    if not ids:
        return "AND 1 = 0", []
    # A temp table would scale further; checks name at most thousands of sellers on the
    # command line, and the bulk path passes None.
    return f"AND seller_id IN ({','.join('?' * len(ids))})", ids
