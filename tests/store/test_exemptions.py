"""The exemptions repository: one of a kind per week, norms and sellers, and the recheck
that adding or removing one owes, in the same transaction."""

from __future__ import annotations

import pytest

from bot.store import ExemptionExists, Store
from bot.store.owed import RECHECK
from norms import Exemption, Indicator, IsoWeek
from tests.conftest import FixedClock

pytestmark = pytest.mark.both_engines

W46, W47 = IsoWeek(2026, 46), IsoWeek(2026, 47)
STRIKE = Exemption(
    W46, "carrier strike", frozenset({Indicator.TRACK_AND_TRACE}), frozenset({"b", "a"})
)


async def owed(store: Store) -> list[tuple[str, str | None, IsoWeek, str]]:
    return [(o.task, o.seller_id, o.week, o.reason) for c in await store.owed.pending() for o in c]


async def test_an_exemption_is_recorded_with_its_recheck(store: Store, clock: FixedClock) -> None:
    first = await store.exemptions.add(STRIKE, "admin", clock())
    everyone = await store.exemptions.add(Exemption(W47, "outage"), "admin", clock())
    assert first < everyone
    assert await store.exemptions.all() == [STRIKE, Exemption(W47, "outage")]
    [record, _] = await store.exemptions.records()
    assert (record.id, record.actor, record.created_at) == (first, "admin", clock())
    assert await owed(store) == [
        (RECHECK, "a", W46, "exemption"),
        (RECHECK, "b", W46, "exemption"),
        (RECHECK, None, W47, "exemption"),
    ]


async def test_the_same_exemption_twice_is_refused_and_nothing_owed(
    store: Store, clock: FixedClock
) -> None:
    first = await store.exemptions.add(STRIKE, "admin", clock())
    await store.owed.clear((await store.owed.pending())[0][0].change)
    same = Exemption(W46, "another reason", STRIKE.indicators, frozenset({"a", "b"}))
    found = await store.exemptions.same(same)
    assert found is not None and found.id == first
    with pytest.raises(ExemptionExists) as refused:
        await store.exemptions.add(same, "admin", clock())
    assert refused.value.existing.id == first
    assert await owed(store) == []
    # Other sellers, norms or weeks are another exemption.
    assert await store.exemptions.same(Exemption(W46, "x", STRIKE.indicators)) is None
    assert await store.exemptions.same(Exemption(W46, "x", sellers=STRIKE.sellers)) is None


async def test_removing_an_exemption_owes_a_recheck(store: Store, clock: FixedClock) -> None:
    first = await store.exemptions.add(STRIKE, "admin", clock())
    await store.owed.clear((await store.owed.pending())[0][0].change)
    removed = await store.exemptions.remove(first, clock())
    assert removed is not None and removed.exemption == STRIKE
    assert await store.exemptions.all() == []
    assert await owed(store) == [
        (RECHECK, "a", W46, "exemption removed"),
        (RECHECK, "b", W46, "exemption removed"),
    ]
    assert await store.exemptions.remove(first, clock()) is None
