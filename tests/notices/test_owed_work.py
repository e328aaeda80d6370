"""Owed work: each change records what it obliges in its own transaction; the work is done
once, by whoever comes next, and doing it again plans nothing twice."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bot.config import Config
from bot.imports import ImportFile, ImportRejected, import_files
from bot.notices.check import recheck_sellers
from bot.notices.owed_work import (
    ARRIVED,
    cause_of,
    check_as_figures_arrive,
    check_week,
    complete_owed_work,
    run_owed_worker,
)
from bot.store import Owed, Store
from messages import Cause
from norms import Exemption, IsoWeek
from tests.conftest import FixedClock

pytestmark = pytest.mark.both_engines

W45, W46 = IsoWeek(2026, 45), IsoWeek(2026, 46)


async def linked(store: Store, clock: FixedClock, seller_id: str) -> None:
    chat = await store.chats.get_or_create("telegram", "77", language="nl", now=clock())
    await store.chats.link(chat.id, seller_id, "test", clock())


def owed_as_text(changes: list[list[Owed]]) -> list[list[tuple[str, str | None, str, str]]]:
    return [[(o.task, o.seller_id, str(o.week), o.reason) for o in change] for change in changes]


async def test_each_change_records_the_work_it_obliges(
    sample_store: Store, config: Config, clock: FixedClock, tmp_path: Path
) -> None:
    await complete_owed_work(sample_store, config, now=clock())  # the sample's own import
    await sample_store.data.add_exemption(
        Exemption(W45, "carrier strike", frozenset(), frozenset({"boekenhoek"})), "ops", clock()
    )
    outage = await sample_store.data.add_exemption(Exemption(W46, "outage"), "ops", clock())
    await sample_store.data.remove_exemption(outage, clock())
    await sample_store.data.add_plan_event(
        "snel-speelgoed", clock().date(), "submitted", "test", clock()
    )
    await sample_store.data.add_reopen("kado-kelder", clock().date(), "test", clock())
    upload = tmp_path / "late.csv"
    upload.write_text(
        "seller_id,year,week,indicator,numerator,denominator,value,norm\n"
        "tuin-en-co,2026,46,FULFILMENT,80,100,,\n"
        "tuin-en-co,2026,44,FULFILMENT,80,100,,\n"
        "boekenhoek,2026,45,FULFILMENT,80,100,,\n",
        "utf-8",
    )
    await import_files(
        sample_store,
        [ImportFile(upload, "late.csv")],
        policy=config.policy,
        today=clock().date(),
        now=clock(),
    )
    assert owed_as_text(await sample_store.owed.pending()) == [
        [("recheck", "boekenhoek", "2026-W45", "exemption")],
        [("recheck", None, "2026-W46", "exemption")],
        [("recheck", None, "2026-W46", "exemption removed")],
        [("recheck", "snel-speelgoed", "2026-W47", "plan")],
        [("recheck", "kado-kelder", "2026-W47", "reopen")],
        [
            ("recheck", "boekenhoek", "2026-W45", "import:upload"),
            ("recheck", "tuin-en-co", "2026-W44", "import:upload"),
        ],
    ]
    await complete_owed_work(sample_store, config, now=clock())
    assert await sample_store.owed.pending() == []


async def test_a_rejected_import_owes_nothing_and_changes_nothing(
    sample_store: Store, config: Config, clock: FixedClock, tmp_path: Path
) -> None:
    await complete_owed_work(sample_store, config, now=clock())
    before = await sample_store.db.fetchall("SELECT * FROM measurements ORDER BY 1, 2, 3, 4")
    upload = tmp_path / "bad.csv"
    upload.write_text(
        "seller_id,year,week,indicator,numerator,denominator,value,norm\n"
        "tuin-en-co,2026,46,FULFILMENT,80,100,,\n"
        "nobody,2026,46,FULFILMENT,80,100,,\n",
        "utf-8",
    )
    with pytest.raises(ImportRejected):
        await import_files(
            sample_store,
            [ImportFile(upload, "bad.csv")],
            policy=config.policy,
            today=clock().date(),
            now=clock(),
        )
    assert await sample_store.owed.pending() == []
    after = await sample_store.db.fetchall("SELECT * FROM measurements ORDER BY 1, 2, 3, 4")
    assert [tuple(r) for r in after] == [tuple(r) for r in before]


async def exempted_after_checks(store: Store, config: Config, clock: FixedClock) -> None:
    """A linked seller with weeks 45 and 46 checked, then week 45 exempted (recheck owed)."""
    await linked(store, clock, "snel-speelgoed")
    await check_week(store, config, W45, now=clock())
    await check_week(store, config, W46, now=clock())
    await store.data.add_exemption(Exemption(W45, "carrier strike"), "operator", clock())


async def test_work_done_twice_plans_nothing_twice(
    sample_store: Store, config: Config, clock: FixedClock
) -> None:
    # An exemption for week 45 takes back its warning and changes week 46's step.
    await exempted_after_checks(sample_store, config, clock)
    first = await complete_owed_work(sample_store, config, now=clock())
    assert first > 0
    outbox = await sample_store.db.fetchall("SELECT dedup_key, body FROM outbox ORDER BY id")
    # Killed after planning, before the rows were cleared: the same work is owed again.
    await sample_store.owed.owe("recheck", W45, None, "exemption", clock())
    assert await complete_owed_work(sample_store, config, now=clock()) == 0
    again = await sample_store.db.fetchall("SELECT dedup_key, body FROM outbox ORDER BY id")
    assert [tuple(r) for r in again] == [tuple(r) for r in outbox]


async def test_the_run_worker_does_what_a_killed_process_left(
    sample_store: Store, config: Config, clock: FixedClock
) -> None:
    # A CLI exemption whose process died before it rechecked.
    await exempted_after_checks(sample_store, config, clock)
    stop = asyncio.Event()
    woken: list[bool] = []
    worker = asyncio.create_task(
        run_owed_worker(
            sample_store, config, clock, stop, lambda: woken.append(True), interval_s=0.01
        )
    )
    try:
        async with asyncio.timeout(10):
            while await sample_store.owed.any() or not woken:
                await asyncio.sleep(0.01)
    finally:
        stop.set()
        await worker
    kinds = [r.kind for r in await sample_store.outbox.history("snel-speelgoed", "2026-W45")]
    assert "correction" in kinds


async def test_a_recheck_records_its_progress_week_by_week(
    sample_store: Store, config: Config, clock: FixedClock
) -> None:
    await linked(sample_store, clock, "snel-speelgoed")
    await check_week(sample_store, config, W45, now=clock())
    await check_week(sample_store, config, W46, now=clock())
    change = await sample_store.owed.owe("recheck", W45, ["snel-speelgoed"], "exemption", clock())
    seen: list[IsoWeek] = []

    async def crash_after_the_first(week: IsoWeek) -> None:
        await sample_store.owed.advance(change, week.shift(1))
        seen.append(week)
        raise RuntimeError("killed")

    with pytest.raises(RuntimeError):
        await recheck_sellers(
            sample_store,
            config.policy,
            {"snel-speelgoed": W45},
            now=clock(),
            week_done=crash_after_the_first,
        )
    assert seen == [W45]
    # The next process starts at week 46, not again at 45.
    assert owed_as_text(await sample_store.owed.pending()) == [
        [("recheck", "snel-speelgoed", "2026-W46", "exemption")]
    ]


async def test_a_change_keeps_the_week_it_touched_while_its_work_advances(
    store: Store, clock: FixedClock
) -> None:
    """A correction planned after a crash midway still names what changed, and where."""
    change = await store.owed.owe("recheck", W45, ["shop-1"], "import:bol.com", clock())
    await store.owed.advance(change, W46)
    [[row]] = await store.owed.pending()
    assert (str(row.week), row.reason, row.since) == ("2026-W46", "import:bol.com", W45)
    assert cause_of(row) == Cause("figures", W45, "bol.com")


async def test_a_check_owed_as_figures_arrive_checks_only_whose_week_is_in(
    store: Store, config: Config, clock: FixedClock, tmp_path: Path
) -> None:
    """The Wednesday run owes each batch's check before its import; a process killed in
    between leaves it to the next, which checks only the sellers whose week came in: the
    others hear that it is missing from the weekly check, not from this one."""
    for n, seller_id in enumerate(("came", "late")):
        await store.sellers.add(seller_id, seller_id.title(), "nl", clock())
        chat = await store.chats.get_or_create("telegram", str(70 + n), language="nl", now=clock())
        await store.chats.link(chat.id, seller_id, "test", clock())
    figures = tmp_path / "figures.csv"
    figures.write_text(
        "seller_id,year,week,indicator,numerator,denominator,value,norm\n"
        "came,2026,45,FULFILMENT,99,100,,\n"
        "late,2026,45,FULFILMENT,99,100,,\n"
        "came,2026,46,FULFILMENT,80,100,,\n",
        "utf-8",
    )
    await import_files(
        store,
        [ImportFile(figures, "figures.csv")],
        policy=config.policy,
        today=clock().date(),
        now=clock(),
    )
    await complete_owed_work(store, config, now=clock())  # the import's rechecks: none due
    await store.owed.owe("check", W46, ["came", "late"], ARRIVED, clock())
    assert await complete_owed_work(store, config, now=clock()) == 1
    assert [(r.seller_id, r.kind) for r in await store.outbox.history()] == [("came", "alerts")]
    assert await store.owed.pending() == []
    # The weekly check after it tells the other that its week is missing, and nothing more.
    swept = await check_week(store, config, W46, now=clock())
    assert swept.planned == 1
    assert [(r.seller_id, r.kind) for r in await store.outbox.history()] == [
        ("came", "alerts"),
        ("late", "figures_missing"),
    ]


async def test_the_check_as_figures_arrive_is_owed_before_they_do(
    store: Store, config: Config, clock: FixedClock, tmp_path: Path
) -> None:
    await store.sellers.add("came", "Came", "nl", clock())
    chat = await store.chats.get_or_create("telegram", "70", language="nl", now=clock())
    await store.chats.link(chat.id, "came", "test", clock())
    figures = tmp_path / "figures.csv"
    figures.write_text(
        "seller_id,year,week,indicator,numerator,denominator,value,norm\n"
        "came,2026,46,FULFILMENT,80,100,,\n",
        "utf-8",
    )
    owed_meanwhile: list[list[list[tuple[str, str | None, str, str]]]] = []

    async def arrive() -> None:
        owed_meanwhile.append(owed_as_text(await store.owed.pending()))
        await import_files(
            store,
            [ImportFile(figures, "figures.csv")],
            policy=config.policy,
            today=clock().date(),
            now=clock(),
        )

    planned = await check_as_figures_arrive(store, config, W46, ["came"], arrive, now=clock())
    assert planned == 1
    assert owed_meanwhile == [[[("check", "came", "2026-W46", ARRIVED)]]]
    assert await store.owed.pending() == []
