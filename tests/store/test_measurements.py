"""The measurements repository: the rows an import writes, and the weeks with figures."""

from __future__ import annotations

from datetime import date

import pytest

from bot.store import Store
from bot.store.engine.dialect import upsert
from bot.store.measurements import (
    MEASUREMENT_COLUMNS,
    RATING_COLUMNS,
    measurement_row,
    rating_row,
)
from norms import Indicator, IsoWeek, Measurement, ShopRating
from tests.conftest import FixedClock

pytestmark = pytest.mark.both_engines

F = Indicator.FULFILMENT
W45, W46, W47 = IsoWeek(2026, 45), IsoWeek(2026, 46), IsoWeek(2026, 47)


async def put(
    store: Store, seller_id: str, m: Measurement, source: str = "upload", at: str = "t1"
) -> None:
    await store.db.execute(
        upsert("measurements", MEASUREMENT_COLUMNS, "seller_id, year, week, indicator"),
        measurement_row(seller_id, m, source, at),
    )


async def rate(store: Store, seller_id: str, r: ShopRating, source: str = "upload") -> None:
    await store.db.execute(
        upsert("shop_ratings", RATING_COLUMNS, "seller_id, on_date"),
        rating_row(seller_id, r, source, "t1"),
    )


async def sellers(store: Store, clock: FixedClock, *ids: str) -> None:
    for sid in ids:
        await store.sellers.add(sid, sid.title(), "nl", clock())


def test_rows_hold_every_column_in_order() -> None:
    m = Measurement(F, W46, 3, 100, 0.03, 0.05, "<=", True)
    assert measurement_row("a", m, "bol.com", "t") == (
        "a", 2026, 46, "FULFILMENT", 3, 100, 0.03, 0.05, "<=", 1, 0, "bol.com", "t",
    )  # fmt: skip
    excluded = Measurement(F, W46, 3, 100, excluded=True)  # bol.com left the week out
    assert measurement_row("a", excluded, "bol.com", "t")[10] == 1
    assert len(measurement_row("a", m, "upload", "t")) == len(MEASUREMENT_COLUMNS.split(","))
    r = ShopRating(date(2026, 11, 11), 8.7, {"shipping": 9.1}, 120, "avg", False)
    assert rating_row("a", r, "upload", "t") == (
        "a", "2026-11-11", 8.7, None, None, 9.1, None, 120, "avg", 0, "upload", "t",
    )  # fmt: skip
    assert len(rating_row("a", r, "upload", "t")) == len(RATING_COLUMNS.split(","))


async def test_no_figures_no_weeks(store: Store, clock: FixedClock) -> None:
    await sellers(store, clock, "a")
    assert await store.measurements.first_week() is None
    assert await store.measurements.latest_week() is None
    assert await store.measurements.first_week_with_data("a") is None
    assert await store.measurements.last_week_with_data("a") is None
    assert not await store.measurements.figures_up_to(W47)
    assert await store.measurements.week_sources(["a"], W46) == {}
    assert await store.measurements.week_sources([], W46) == {}


async def test_the_weeks_with_figures_overall_and_per_seller(
    store: Store, clock: FixedClock
) -> None:
    await sellers(store, clock, "a", "b")
    await put(store, "a", Measurement(F, W46, 1, 10))
    await put(store, "a", Measurement(F, W47, 1, 10))
    await put(store, "b", Measurement(F, W45, 1, 10))
    await put(store, "b", Measurement(F, IsoWeek(2025, 52), 1, 10))
    assert await store.measurements.first_week() == IsoWeek(2025, 52)
    assert await store.measurements.latest_week() == W47
    assert await store.measurements.first_week_with_data("a") == W46
    assert await store.measurements.last_week_with_data("a") == W47
    assert await store.measurements.last_week_with_data("b") == W45
    assert await store.measurements.figures_up_to(IsoWeek(2025, 52))
    assert not await store.measurements.figures_up_to(IsoWeek(2025, 51))


async def test_a_weeks_source_is_the_latest_import_of_it(store: Store, clock: FixedClock) -> None:
    await sellers(store, clock, "a", "b")
    await put(store, "a", Measurement(F, W46, 1, 10), "bol.com", "t1")
    await put(store, "a", Measurement(Indicator.RETURNS, W46, 1, 10), "upload", "t2")
    await put(store, "b", Measurement(F, W46, 1, 10), "bol.com", "t1")
    await put(store, "b", Measurement(F, W47, 1, 10), "upload", "t3")
    assert await store.measurements.week_sources(["a", "b", "c"], W46) == {
        "a": "upload",
        "b": "bol.com",
    }
