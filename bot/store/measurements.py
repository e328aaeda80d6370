"""Weekly measurements and shop ratings, the figures of each seller: the rows an import
writes and what is asked of them besides a seller's history (``bot.store.histories``)."""

from __future__ import annotations

from collections.abc import Sequence

from bot.store.engine.base import Database
from bot.store.engine.dialect import SQLITE
from norms import ASPECTS, IsoWeek, Measurement, ShopRating

# A row's figures, and then where they came from and when.
MEASUREMENT_FIGURES = (
    "seller_id, year, week, indicator, numerator, denominator, value, norm, condition, "
    "conforms, excluded"
)
MEASUREMENT_COLUMNS = f"{MEASUREMENT_FIGURES}, source, imported_at"
RATING_FIGURES = (
    "seller_id, on_date, rating, product_information, delivery_time, shipping, service, "
    "reviews, method, top_retailer"
)
RATING_COLUMNS = f"{RATING_FIGURES}, source, imported_at"


def measurement_row(
    seller_id: str, m: Measurement, source: str, imported_at: str
) -> tuple[object, ...]:
    """A measurements row; ``imported_at`` is ``stamp(now)``, made once per import."""
    return (*measurement_figures(seller_id, m), source, imported_at)


def measurement_figures(seller_id: str, m: Measurement, *extra: object) -> tuple[object, ...]:
    """The ``MEASUREMENT_FIGURES`` of a measurements row (an import stages them, with
    ``extra`` columns: where the row was read)."""
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
        int(m.excluded),
        *extra,
    )


def rating_row(seller_id: str, r: ShopRating, source: str, imported_at: str) -> tuple[object, ...]:
    """A shop_ratings row; ``imported_at`` as for ``measurement_row``."""
    return (*rating_figures(seller_id, r), source, imported_at)


def rating_figures(seller_id: str, r: ShopRating, *extra: object) -> tuple[object, ...]:
    """The ``RATING_FIGURES`` of a shop_ratings row (``extra`` as for
    ``measurement_figures``)."""
    return (
        seller_id,
        r.on.isoformat(),
        r.rating,
        *(r.aspects.get(a) for a in ASPECTS),
        r.reviews,
        r.method,
        None if r.top_retailer is None else int(r.top_retailer),
        *extra,
    )


class Measurements:
    """The ``measurements`` and ``shop_ratings`` tables."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def week_sources(self, seller_ids: Sequence[str], week: IsoWeek) -> dict[str, str]:
        """Where each seller's week came from (``upload`` or ``bol.com``), latest first."""
        if not seller_ids:
            return {}
        where = f"seller_id IN ({','.join('?' * len(seller_ids))}) AND year = ? AND week = ?"
        if self.db.engine == SQLITE:
            # SQLite takes the other columns of a lone MAX() from the row that has it: one
            # pass over each seller's week.
            sql = (
                f"SELECT seller_id, source, MAX(imported_at) FROM measurements WHERE {where} "
                "GROUP BY seller_id"
            )
        else:
            sql = self.db.dialect.latest_of_each(
                "seller_id, source", "measurements", "seller_id, year, week", "imported_at", where
            )
        rows = await self.db.fetchall(sql, [*seller_ids, week.year, week.week])
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
