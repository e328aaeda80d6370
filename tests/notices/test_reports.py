"""Reports from the cached fold state: the same answers as folding from scratch, a
correction refolds from the week it touches, and a check with nothing new renders
nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

import bot.notices.check
import bot.notices.notice
from bot.config import Config
from bot.imports import ImportFile, import_files
from bot.notices.check import run_check
from bot.store import Store
from norms import IsoWeek, WeekReport, evaluate_week
from tests.conftest import FixedClock

pytestmark = pytest.mark.both_engines

W45, W46 = IsoWeek(2026, 45), IsoWeek(2026, 46)
LAST = IsoWeek(2026, 40)
HEADER = "seller_id,year,week,indicator,numerator,denominator,value,norm\n"


async def check_lines(
    store: Store, config: Config, clock: FixedClock, week: IsoWeek, sellers: list[str] | None = None
) -> list[dict]:
    lines: list[dict] = []
    await run_check(
        store,
        config.policy,
        week,
        now=clock(),
        seller_ids=sellers,
        dry_run=True,
        on_report=lambda r: lines.append(r.to_json()),
    )
    return lines


async def stored_weeks(store: Store, seller: str) -> list[IsoWeek]:
    rows = await store.db.fetchall(
        "SELECT week_key FROM seller_states WHERE seller_id = ? ORDER BY week_key", (seller,)
    )
    return [IsoWeek(r[0] // 100, r[0] % 100) for r in rows]


async def test_a_check_from_the_cached_state_equals_one_from_scratch(
    sample_store: Store, config: Config, clock: FixedClock
) -> None:
    await check_lines(sample_store, config, clock, W45)
    assert W45 in await stored_weeks(sample_store, "snel-speelgoed")
    cached = await check_lines(sample_store, config, clock, W46)
    await sample_store.states.clear()
    scratch = await check_lines(sample_store, config, clock, W46)
    assert cached == scratch
    histories = await sample_store.data.histories(None, W46)
    assert cached == [
        evaluate_week(config.policy, histories[line["seller_id"]], W46).to_json() for line in cached
    ]


async def import_csv(store: Store, config: Config, clock: FixedClock, path: Path, text: str):
    path.write_text(HEADER + text, encoding="utf-8")
    return await import_files(
        store,
        [ImportFile(path, path.name)],
        policy=config.policy,
        today=clock().date(),
        now=clock(),
        create_sellers=True,
    )


async def test_a_correction_refolds_from_the_corrected_week_only(
    store: Store, config: Config, clock: FixedClock, tmp_path: Path
) -> None:
    weeks = [LAST.shift(-i) for i in range(30)]
    rows = "".join(f"shop-1,,{w},FULFILMENT,99,100,,\n" for w in weeks)
    await import_csv(store, config, clock, tmp_path / "weeks.csv", rows)
    [before] = await check_lines(store, config, clock, LAST)
    assert before["track"]["state"] == "none"
    assert await stored_weeks(store, "shop-1") == sorted(weeks)
    # bol.com corrects week LAST-20: it was a failing week after all.
    corrected = LAST.shift(-20)
    await import_csv(
        store, config, clock, tmp_path / "fix.csv", f"shop-1,,{corrected},FULFILMENT,50,100,,\n"
    )
    assert await stored_weeks(store, "shop-1") == [w for w in sorted(weeks) if w < corrected]
    [after] = await check_lines(store, config, clock, LAST)
    assert after["track"] | {} == {
        "policy": "verbetertraject-24w",
        "state": "open",
        "step": 1,
        "compliant_weeks": 20,
        "weeks_to_end": 4,
        "plan": None,
    }
    histories = await store.data.histories(["shop-1"], LAST)
    assert after == evaluate_week(config.policy, histories["shop-1"], LAST).to_json()
    assert await stored_weeks(store, "shop-1") == sorted(weeks)


async def test_a_check_with_nothing_new_renders_nothing(
    sample_store: Store, config: Config, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    chat = await sample_store.chats.get_or_create("telegram", "501", language="nl", now=clock())
    for seller in await sample_store.sellers.all():
        await sample_store.chats.link(chat.id, seller.id, "test", clock())
    rendered: list[str] = []
    real = bot.notices.notice.body_for

    def counting(*args, **kwargs):  # type: ignore[no-untyped-def]
        rendered.append(args[1])
        return real(*args, **kwargs)

    monkeypatch.setattr(bot.notices.notice, "body_for", counting)
    first = await run_check(sample_store, config.policy, W46, now=clock())
    assert first.planned > 1 and rendered
    rendered.clear()
    again = await run_check(sample_store, config.policy, W46, now=clock())
    assert (again.planned, rendered) == (0, [])


async def test_named_sellers_are_reported_in_the_order_named(
    sample_store: Store, config: Config, clock: FixedClock
) -> None:
    named = ["zonnig-wonen", "boekenhoek", "snel-speelgoed"]
    lines = await check_lines(sample_store, config, clock, W46, named)
    assert [line["seller_id"] for line in lines] == named
    reports: list[WeekReport] = []
    await run_check(sample_store, config.policy, W46, now=clock(), on_report=reports.append)
    assert [r.seller_id for r in reports] == sorted(r.seller_id for r in reports)


async def test_a_repeated_scheduled_check_still_plans_what_a_mute_held_back(
    sample_store: Store, config: Config, clock: FixedClock
) -> None:
    chat = await sample_store.chats.get_or_create("telegram", "501", language="nl", now=clock())
    await sample_store.chats.link(chat.id, "tuin-en-co", "test", clock())
    await sample_store.chats.set_muted(chat.id, True)
    assert (await run_check(sample_store, config.policy, W46, now=clock())).planned == 0
    said = await sample_store.states.alerts_of(["tuin-en-co"], config.policy, W46)
    assert said["tuin-en-co"].sections == {"norm_notice": "norm_notice"}
    await sample_store.chats.set_muted(chat.id, False)
    assert (await run_check(sample_store, config.policy, W46, now=clock())).planned == 1
    [record] = await sample_store.outbox.history("tuin-en-co")
    assert record.sections == ("norm_notice",)
    assert (await run_check(sample_store, config.policy, W46, now=clock())).planned == 0


async def test_a_repeated_check_still_tells_which_data_is_missing(
    sample_store: Store, clock: FixedClock, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot.notices.admins import admin_chats
    from tests.conftest import make_config

    config = make_config(tmp_path, NORMWACHT_ADMINS="telegram:900", TELEGRAM_BOT_TOKEN="1:x")
    admins = await admin_chats(sample_store, config, clock())
    rendered: list[str] = []
    real = bot.notices.notice.body_for

    def counting(*args, **kwargs):  # type: ignore[no-untyped-def]
        rendered.append(args[1])
        return real(*args, **kwargs)

    monkeypatch.setattr(bot.notices.notice, "body_for", counting)
    week = IsoWeek(2026, 47)
    first = await run_check(sample_store, config.policy, week, now=clock(), admin_chats=admins)
    assert (first.planned, rendered) == (1, ["data_missing"])
    again = await run_check(sample_store, config.policy, week, now=clock(), admin_chats=admins)
    assert again.missing == first.missing
    assert len(again.missing) == 5
    assert (again.planned, rendered) == (0, ["data_missing"])
