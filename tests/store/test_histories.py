"""Sellers' histories, assembled from every repository of their records: up to a week,
and in windows streamed a seller at a time."""

from __future__ import annotations

from datetime import date

import pytest

from bot.store import Store
from norms import Exemption, Indicator, IsoWeek, Measurement, PlanEvent, Reopen, ShopRating
from tests.conftest import FixedClock
from tests.store.test_measurements import put, rate

pytestmark = pytest.mark.both_engines

F, R = Indicator.FULFILMENT, Indicator.RETURNS
W44, W45, W46, W47 = (IsoWeek(2026, w) for w in (44, 45, 46, 47))


async def seed(store: Store, clock: FixedClock) -> None:
    for sid in ("a", "b", "quiet"):
        await store.sellers.add(sid, sid.title(), "nl", clock())
    for week in (W44, W45, W46, W47):
        await put(store, "a", Measurement(F, week, 1, 100))
        await put(store, "a", Measurement(R, week, 2, 100))
        await put(store, "b", Measurement(F, week, 3, 100))
    await rate(store, "a", ShopRating(date(2026, 10, 1), 8.0))
    await rate(store, "a", ShopRating(date(2026, 11, 10), 8.5))
    await rate(store, "a", ShopRating(date(2026, 11, 25), 9.0))
    await store.exemptions.add(Exemption(W45, "strike", sellers=frozenset({"b"})), "op", clock())
    await store.exemptions.add(Exemption(W46, "outage"), "op", clock())
    await store.plans.add("a", date(2026, 11, 4), "submitted", "op", clock())
    await store.reopens.add("b", date(2026, 11, 9), "op", clock())


async def test_histories_up_to_a_week_hold_every_record_kind(
    store: Store, clock: FixedClock
) -> None:
    await seed(store, clock)
    histories = await store.histories.up_to(None, W46)
    assert sorted(histories) == ["a", "b", "quiet"]
    a, b = histories["a"], histories["b"]
    assert sorted(a.measurements) == [W44, W45, W46]
    assert a.measurements[W45] == {F: Measurement(F, W45, 1, 100), R: Measurement(R, W45, 2, 100)}
    assert [r.rating for r in a.ratings] == [8.0, 8.5]
    assert [e.reason for e in a.exemptions] == ["outage"]
    assert [e.reason for e in b.exemptions] == ["strike", "outage"]
    assert a.plan_events == (PlanEvent(date(2026, 11, 4), "submitted"),)
    assert b.reopens == (Reopen(date(2026, 11, 9)),)
    assert histories["quiet"].measurements == {}
    # Only the sellers asked for (named twice: once).
    assert list(await store.histories.up_to(["b", "b"], W46)) == ["b"]
    assert await store.histories.up_to([], W46) == {}


async def test_windows_stream_each_indicator_from_its_week(store: Store, clock: FixedClock) -> None:
    await seed(store, clock)
    windows = [
        h
        async for h in store.histories.windows(
            ["b", "a"], W47, {"a": {F: W46, R: None}}, reports_from=W47
        )
    ]
    assert [h.seller_id for h in windows] == ["a", "b"]
    a, b = windows
    assert {w: sorted(m) for w, m in a.measurements.items()} == {
        W44: [R],
        W45: [R],
        W46: [F, R],
        W47: [F, R],
    }
    assert sorted(b.measurements) == [W44, W45, W46, W47]
    # The ratings of the reports' weeks, and the one that still held before them.
    assert [r.rating for r in a.ratings] == [8.5, 9.0]
    assert [e.reason for e in b.exemptions] == ["strike", "outage"]
    assert a.plan_events == (PlanEvent(date(2026, 11, 4), "submitted"),)
    assert b.reopens == (Reopen(date(2026, 11, 9)),)
    assert [h async for h in store.histories.windows([], W47, {}, W47)] == []
