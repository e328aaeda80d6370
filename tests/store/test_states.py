"""The fold's cached states: stored exactly, dropped by the triggers from the week a
change touches on (whichever path writes), never stored after such a change."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.store import Store
from bot.store.engine.dialect import upsert
from bot.store.measurements import MEASUREMENT_COLUMNS, measurement_row
from bot.store.states import decode, encode, week_key
from norms import Exemption, IsoWeek, Measurement, Policy, SellerHistory
from norms.carry import SellerCarry, carry_week
from norms.report import evaluate_next
from tests.conftest import FixedClock
from tests.norms.builders import STRIKES, TRACK, F, history
from tests.norms.histories import FIRST, POLICIES, seller_histories

pytestmark = pytest.mark.both_engines

# Across the year end of 2026, which has 53 ISO weeks.
WEEKS = [IsoWeek(2026, 50).shift(i) for i in range(6)]


@settings(max_examples=100, deadline=None)
@given(st.sampled_from(POLICIES), seller_histories())
def test_a_stored_state_reads_back_as_it_was_folded(
    policy: Policy, drawn: tuple[SellerHistory, int]
) -> None:
    full, weeks = drawn
    carry: SellerCarry | None = None
    reported: SellerCarry | None = None
    for week in FIRST.until(FIRST.shift(weeks)):
        carry = carry_week(policy, carry, full, week)
        if carry is not None:
            assert decode(encode(carry), full.plan_events) == carry
        # A reported week's carry keeps its gold label too, exactly.
        _, reported = evaluate_next(policy, reported, full, week)
        if reported is not None:
            assert reported.gold is not None
            assert decode(encode(reported), full.plan_events) == reported


async def seed(store: Store, clock: FixedClock, policy: Policy = TRACK) -> None:
    """Sellers a and b, each with a state stored for every week of ``WEEKS``."""
    for sid in ("a", "b"):
        await store.sellers.add(sid, sid.upper(), "nl", clock())
    h = history([Measurement(F, w, 99, 100) for w in WEEKS])
    carry = None
    states = []
    for week in WEEKS:
        carry = carry_week(policy, carry, h, week)
        assert carry is not None
        states += [("a", carry, None), ("b", carry, None)]
    assert await store.states.save(
        policy, states, epoch=await store.states.epoch(), newest=WEEKS[-1]
    )


async def stored(store: Store, seller: str) -> list[IsoWeek]:
    rows = await store.db.fetchall(
        "SELECT week_key FROM seller_states WHERE seller_id = ? ORDER BY week_key", (seller,)
    )
    return [IsoWeek(r[0] // 100, r[0] % 100) for r in rows]


async def test_a_new_measurement_drops_the_sellers_states_from_its_week_on(
    store: Store, clock: FixedClock
) -> None:
    await seed(store, clock)
    before = await store.states.epoch()
    row = measurement_row("a", Measurement(F, WEEKS[3], 10, 100), "upload", "t")
    await store.db.execute(
        upsert("measurements", MEASUREMENT_COLUMNS, "seller_id, year, week, indicator"), row
    )
    assert await stored(store, "a") == WEEKS[:3]
    assert await stored(store, "b") == WEEKS
    assert await store.states.epoch() == before + 1


async def test_a_changed_or_removed_measurement_drops_states_too(
    store: Store, clock: FixedClock
) -> None:
    await seed(store, clock)
    row = measurement_row("b", Measurement(F, WEEKS[4], 10, 100), "upload", "t")
    await store.db.execute(
        f"INSERT INTO measurements ({MEASUREMENT_COLUMNS}) VALUES ({', '.join('?' * len(row))})",
        row,
    )
    await seed_again(store, clock)
    await store.db.execute(
        "UPDATE measurements SET year = ?, week = ? WHERE seller_id = 'b'",
        (WEEKS[2].year, WEEKS[2].week),
    )
    assert await stored(store, "b") == WEEKS[:2]
    await seed_again(store, clock)
    await store.db.execute("DELETE FROM measurements WHERE seller_id = 'b'")
    assert await stored(store, "b") == WEEKS[:2]
    assert await stored(store, "a") == WEEKS


async def seed_again(store: Store, clock: FixedClock) -> None:
    """The states of ``seed`` again, for sellers already added."""
    await store.states.clear()
    h = history([Measurement(F, w, 99, 100) for w in WEEKS])
    carry = None
    states = []
    for week in WEEKS:
        carry = carry_week(TRACK, carry, h, week)
        assert carry is not None
        states += [("a", carry, None), ("b", carry, None)]
    await store.states.save(TRACK, states, epoch=await store.states.epoch(), newest=WEEKS[-1])


async def test_an_exemption_drops_every_sellers_states_from_its_week_on(
    store: Store, clock: FixedClock
) -> None:
    await seed(store, clock)
    await store.exemptions.add(Exemption(WEEKS[2], "carrier strike"), "test", clock())
    assert await stored(store, "a") == WEEKS[:2]
    assert await stored(store, "b") == WEEKS[:2]
    await seed_again(store, clock)
    await store.db.execute("DELETE FROM exemptions")
    assert await stored(store, "a") == WEEKS[:2]


async def test_a_reopen_drops_states_from_the_iso_week_of_its_date(
    store: Store, clock: FixedClock
) -> None:
    await seed(store, clock)
    # Friday 1 January 2027 lies in ISO week 2026-W53.
    assert IsoWeek.of(date(2027, 1, 1)) == IsoWeek(2026, 53) == WEEKS[3]
    await store.reopens.add("a", date(2027, 1, 1), "admin", clock())
    assert await stored(store, "a") == WEEKS[:3]
    assert await stored(store, "b") == WEEKS


async def test_a_shop_rating_drops_states_from_the_first_week_it_holds_for(
    store: Store, clock: FixedClock
) -> None:
    await seed(store, clock)
    # Dated Wednesday 6 January 2027: the rating of 2026-W53 (whose Wednesday after it is)
    # and of every week after.
    assert WEEKS[3].check_day == date(2027, 1, 6)
    await store.db.execute(
        "INSERT INTO shop_ratings (seller_id, on_date, rating, source, imported_at) "
        "VALUES ('a', '2027-01-06', 8.1, 'upload', 't')"
    )
    assert await stored(store, "a") == WEEKS[:3]
    assert await stored(store, "b") == WEEKS


async def test_a_fold_read_before_a_change_is_not_stored_after_it(
    store: Store, clock: FixedClock
) -> None:
    await seed(store, clock)
    await store.states.clear()
    epoch = await store.states.epoch()
    await store.exemptions.add(Exemption(WEEKS[0], "outage"), "test", clock())
    h = history([Measurement(F, WEEKS[0], 99, 100)])
    carry = carry_week(TRACK, None, h, WEEKS[0])
    assert carry is not None
    assert not await store.states.save(TRACK, [("a", carry, None)], epoch=epoch, newest=WEEKS[0])
    assert await stored(store, "a") == []


async def test_states_are_read_for_their_policy_only(store: Store, clock: FixedClock) -> None:
    await seed(store, clock, policy=STRIKES)
    assert await store.states.latest_before(["a"], TRACK, WEEKS[-1]) == {}
    [(week, text)] = (await store.states.latest_before(["a"], STRIKES, WEEKS[-1])).values()
    assert week == WEEKS[-2]
    assert decode(text, ()).week == WEEKS[-2]
    assert week_key(WEEKS[3]) == 202653


async def test_storing_under_one_policy_drops_the_sellers_states_of_another(
    store: Store, clock: FixedClock
) -> None:
    await seed(store, clock, policy=STRIKES)
    h = history([Measurement(F, WEEKS[0], 99, 100)])
    carry = carry_week(TRACK, None, h, WEEKS[0])
    assert carry is not None
    epoch = await store.states.epoch()
    assert await store.states.save(TRACK, [("a", carry, None)], epoch=epoch, newest=WEEKS[0])
    assert await store.states.latest_before(["a"], STRIKES, WEEKS[-1]) == {}
    assert await store.states.newest_weeks(["a"], TRACK, WEEKS[-1]) == {"a": (WEEKS[0], False)}
    assert await stored(store, "b") == WEEKS


async def reach(store: Store) -> int:
    row = await store.db.fetchone("SELECT n FROM seller_state_reach")
    assert row is not None
    return int(row[0])


async def test_figures_of_weeks_no_check_reached_leave_the_states_alone(
    store: Store, clock: FixedClock
) -> None:
    """The weekly import of a new week: no stored state or fold reaches it, so nothing is
    dropped (SQLite does nothing per row for it, migration 10)."""
    await store.sellers.add("a", "A", "nl", clock())
    h = history([Measurement(F, w, 99, 100) for w in WEEKS[:3]])
    carry = None
    states = []
    for week in WEEKS[:3]:
        carry = carry_week(TRACK, carry, h, week)
        assert carry is not None
        states.append(("a", carry, None))
    assert await store.states.save(TRACK, states, epoch=await store.states.epoch(), newest=WEEKS[2])
    assert await reach(store) == week_key(WEEKS[2])
    await insert_measurement(store, "a", WEEKS[4])
    assert await stored(store, "a") == WEEKS[:3]
    # A change within the reach drops the states from its week on, as ever.
    await insert_measurement(store, "a", WEEKS[1])
    assert await stored(store, "a") == WEEKS[:1]


async def test_a_fold_under_way_reaches_its_week_before_it_reads(
    store: Store, clock: FixedClock
) -> None:
    """A check of a week no state reaches yet raises the reach before it reads: figures of
    that week that come in while it folds keep what it folded from being stored."""
    await store.sellers.add("a", "A", "nl", clock())
    epoch = await store.states.epoch(reach=WEEKS[5])
    assert await reach(store) == week_key(WEEKS[5])
    await insert_measurement(store, "a", WEEKS[5])
    h = history([Measurement(F, WEEKS[5], 99, 100)])
    carry = carry_week(TRACK, None, h, WEEKS[5])
    assert carry is not None
    assert not await store.states.save(TRACK, [("a", carry, None)], epoch=epoch, newest=WEEKS[5])
    assert await stored(store, "a") == []
    # The reach is never lowered: a later, shorter fold leaves it where it is.
    await store.states.epoch(reach=WEEKS[0])
    assert await reach(store) == week_key(WEEKS[5])


async def test_a_check_raises_the_reach_to_its_week(store: Store, clock: FixedClock) -> None:
    from bot.notices.reports import week_reports

    await store.sellers.add("a", "A", "nl", clock())
    await insert_measurement(store, "a", WEEKS[2])
    assert await reach(store) == 0
    assert [r.seller_id async for r in week_reports(store, TRACK, WEEKS[3], ["a"])] == ["a"]
    assert await reach(store) == week_key(WEEKS[3])
    assert await stored(store, "a") == WEEKS[2:4]


async def insert_measurement(store: Store, seller: str, week: IsoWeek) -> None:
    row = measurement_row(seller, Measurement(F, week, 10, 100), "upload", "t")
    await store.db.execute(
        upsert("measurements", MEASUREMENT_COLUMNS, "seller_id, year, week, indicator"), row
    )
