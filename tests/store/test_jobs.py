"""The record of jobs that ran: done, marked, every key in order, the retention marker."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.store import Store
from bot.store.jobs import CHECK, POLL, RETENTION, latest_in, mark_in
from tests.conftest import FixedClock

pytestmark = pytest.mark.both_engines


async def test_a_job_is_done_for_a_key_once_marked(store: Store, clock: FixedClock) -> None:
    assert not await store.jobs.done(POLL, "2026-W46")
    await store.jobs.mark(POLL, "2026-W46", clock())
    assert await store.jobs.done(POLL, "2026-W46")
    # Another key, or another job with the same key, is not.
    assert not await store.jobs.done(POLL, "2026-W47")
    assert not await store.jobs.done(CHECK, "2026-W46")


async def test_marking_again_keeps_one_row_with_the_later_time(
    store: Store, clock: FixedClock
) -> None:
    await store.jobs.mark(CHECK, "2026-W46", clock())
    later = clock() + timedelta(hours=3)
    await store.jobs.mark(CHECK, "2026-W46", later)
    rows = await store.db.fetchall("SELECT run_key, done_at FROM job_runs WHERE job = ?", (CHECK,))
    assert [(r["run_key"], r["done_at"]) for r in rows] == [("2026-W46", later.isoformat())]


async def test_keys_come_in_order_and_only_for_their_job(store: Store, clock: FixedClock) -> None:
    for week in ("2026-W47", "2026-W45", "2026-W46"):
        await store.jobs.mark(CHECK, week, clock())
    await store.jobs.mark(POLL, "2026-W44", clock())
    assert await store.jobs.keys(CHECK) == ["2026-W45", "2026-W46", "2026-W47"]
    assert await store.jobs.keys(POLL) == ["2026-W44"]
    assert await store.jobs.keys(RETENTION) == []


async def test_the_retention_marker_is_the_latest_week_pruned(
    store: Store, clock: FixedClock
) -> None:
    assert await store.jobs.latest(RETENTION) is None
    assert await store.outbox.pruned_through() is None
    await store.outbox.prune_sent(clock(), "2026-W44", clock())
    await store.outbox.prune_sent(clock(), "2026-W46", clock())
    assert await store.jobs.latest(RETENTION) == "2026-W46"
    assert await store.outbox.pruned_through() == "2026-W46"
    assert await store.jobs.keys(RETENTION) == ["2026-W44", "2026-W46"]


async def test_a_mark_inside_a_transaction_goes_with_it(store: Store, clock: FixedClock) -> None:
    with pytest.raises(RuntimeError):
        async with store.db.transaction() as tx:
            await mark_in(tx, RETENTION, "2026-W40", clock())
            assert await latest_in(tx, RETENTION) == "2026-W40"
            raise RuntimeError("rolled back")
    assert await store.jobs.latest(RETENTION) is None
    async with store.db.transaction() as tx:
        await mark_in(tx, RETENTION, "2026-W40", clock())
    assert await store.jobs.done(RETENTION, "2026-W40")
