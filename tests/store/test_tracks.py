"""The plan events and reopens repositories: each recorded with the recheck it owes, and
read back per seller in the order told."""

from __future__ import annotations

from datetime import date

import pytest

from bot.store import Store
from bot.store.owed import RECHECK
from norms import IsoWeek, PlanEvent, Reopen
from tests.conftest import FixedClock

pytestmark = pytest.mark.both_engines


async def owed(store: Store) -> list[tuple[str, str | None, IsoWeek, str]]:
    return [(o.task, o.seller_id, o.week, o.reason) for c in await store.owed.pending() for o in c]


async def test_plan_events_owe_a_recheck_and_come_back_per_seller(
    store: Store, clock: FixedClock
) -> None:
    for sid in ("a", "b"):
        await store.sellers.add(sid, sid.upper(), "nl", clock())
    await store.plans.add("a", date(2026, 11, 18), "submitted", "op", clock())
    await store.plans.add("b", date(2026, 11, 4), "submitted", "op", clock())
    await store.plans.add("a", date(2026, 11, 2), "approved", "op", clock())
    assert await owed(store) == [
        (RECHECK, "a", IsoWeek(2026, 47), "plan"),
        (RECHECK, "b", IsoWeek(2026, 45), "plan"),
        (RECHECK, "a", IsoWeek(2026, 45), "plan"),
    ]
    told = [PlanEvent(date(2026, 11, 18), "submitted"), PlanEvent(date(2026, 11, 2), "approved")]
    assert await store.plans.of(["a"]) == {"a": told}
    assert await store.plans.of(None) == {
        "a": told,
        "b": [PlanEvent(date(2026, 11, 4), "submitted")],
    }
    assert await store.plans.of([]) == {}


async def test_reopens_owe_a_recheck_and_come_back_per_seller(
    store: Store, clock: FixedClock
) -> None:
    for sid in ("a", "b"):
        await store.sellers.add(sid, sid.upper(), "nl", clock())
    await store.reopens.add("a", date(2027, 1, 4), "admin", clock())
    await store.reopens.add("b", date(2026, 12, 28), "admin", clock())
    assert await owed(store) == [
        (RECHECK, "a", IsoWeek(2027, 1), "reopen"),
        (RECHECK, "b", IsoWeek(2026, 53), "reopen"),
    ]
    assert await store.reopens.of(["b", "c"]) == {"b": [Reopen(date(2026, 12, 28))]}
    assert sorted(await store.reopens.of(None)) == ["a", "b"]
