"""The weekly check on the sample shops: their stories, idempotent planning, corrections."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import Config
from bot.imports import ImportFile, import_files
from bot.notices.check import recheck_after_import, run_check
from bot.notices.owed_work import complete_owed_work
from bot.store import Store
from norms import Exemption, Indicator, IsoWeek
from tests.conftest import FixedClock

pytestmark = pytest.mark.both_engines

W44, W45, W46 = IsoWeek(2026, 44), IsoWeek(2026, 45), IsoWeek(2026, 46)


async def check_json(store: Store, config: Config, clock: FixedClock, week: IsoWeek) -> dict:
    lines: dict = {}
    await run_check(
        store,
        config.policy,
        week,
        now=clock(),
        dry_run=True,
        on_report=lambda r: lines.__setitem__(r.seller_id, r.to_json()),
    )
    return lines


async def test_each_sample_shop_tells_its_story(
    sample_store: Store, config: Config, clock: FixedClock
) -> None:
    w45 = await check_json(sample_store, config, clock, W45)
    w46 = await check_json(sample_store, config, clock, W46)
    # Late deliveries climb to the suspension, with an improvement plan owed.
    assert w45["snel-speelgoed"]["alerts"] == ["warning"]
    assert w45["snel-speelgoed"]["track"]["step"] == 4
    assert w46["snel-speelgoed"]["alerts"] == ["suspension"]
    assert w46["snel-speelgoed"]["track"] | {} == {
        "policy": "verbetertraject-24w",
        "state": "open",
        "step": 5,
        "compliant_weeks": 0,
        "weeks_to_end": 24,
        "plan": "required",
    }
    assert w46["snel-speelgoed"]["indicators"]["FULFILMENT"]["status"] == "fail"
    # Twenty-four clean weeks end the track.
    assert w45["boekenhoek"]["track"]["weeks_to_end"] == 1
    assert w46["boekenhoek"]["alerts"] == ["track_ended"]
    assert w46["boekenhoek"]["track"]["state"] == "none"
    # Returns above the personal norm, three weeks running.
    assert w46["tuin-en-co"]["alerts"] == ["norm_notice"]
    assert w46["tuin-en-co"]["indicators"]["RETURNS"]["status"] == "fail"
    assert w46["tuin-en-co"]["indicators"]["RETURNS"]["norm"] == 0.06
    # The shop rating falls into the danger zone.
    assert w46["kado-kelder"]["rating"] == {"average": 5.6, "risk": "danger"}
    assert w46["kado-kelder"]["alerts"][0] == "rating_danger"
    # A clean shop a few reviews short of the gold label.
    assert w46["zonnig-wonen"]["alerts"] == []
    assert w46["zonnig-wonen"]["gold_label"] == {
        "eligible": False,
        "unmet": ["reviews_per_month"],
    }
    assert w46["zonnig-wonen"]["failing_week"] is False


async def link(store: Store, clock: FixedClock, seller: str, address: str = "501") -> int:
    chat = await store.chats.get_or_create("telegram", address, language="nl", now=clock())
    await store.chats.link(chat.id, seller, "test", clock())
    return chat.id


async def test_checking_twice_plans_nothing_new(
    sample_store: Store, config: Config, clock: FixedClock
) -> None:
    await link(sample_store, clock, "snel-speelgoed")
    first = await run_check(sample_store, config.policy, W46, now=clock())
    again = await run_check(sample_store, config.policy, W46, now=clock())
    assert (first.planned, again.planned) == (1, 0)
    [record] = await sample_store.outbox.history("snel-speelgoed", "2026-W46")
    assert record.kind == "alerts" and record.sections == ("suspension@5",)
    assert "Snel Speelgoed" in record.text
    assert record.policy == "verbetertraject-24w"


async def test_a_dry_run_plans_nothing(
    sample_store: Store, config: Config, clock: FixedClock
) -> None:
    await link(sample_store, clock, "snel-speelgoed")
    await run_check(sample_store, config.policy, W46, now=clock(), dry_run=True)
    assert await sample_store.outbox.history() == []


async def test_a_muted_chat_still_gets_the_suspension_but_not_notices(
    sample_store: Store, config: Config, clock: FixedClock
) -> None:
    chat_id = await link(sample_store, clock, "snel-speelgoed")
    await link(sample_store, clock, "tuin-en-co", "501")
    await sample_store.chats.set_muted(chat_id, True)
    await run_check(sample_store, config.policy, W46, now=clock())
    kinds = [(r.seller_id, r.sections) for r in await sample_store.outbox.history()]
    assert kinds == [("snel-speelgoed", ("suspension@5",))]


async def test_corrected_figures_correct_what_was_said(
    sample_store: Store, config: Config, clock: FixedClock, tmp_path: Path
) -> None:
    await link(sample_store, clock, "snel-speelgoed")
    await run_check(sample_store, config.policy, W46, now=clock())
    # bol.com corrects week 46: deliveries were on time after all.
    fixed = tmp_path / "fix.csv"
    fixed.write_text(
        "seller_id,year,week,indicator,numerator,denominator,value,norm\n"
        "snel-speelgoed,,2026-W46,FULFILMENT,200,200,,\n",
        encoding="utf-8",
    )
    clock.advance(days=1)
    result = await import_files(
        sample_store,
        [ImportFile(fixed, "fix.csv")],
        policy=config.policy,
        today=clock().date(),
        now=clock(),
    )
    planned = await recheck_after_import(sample_store, config.policy, result, now=clock())
    assert planned == 1
    records = await sample_store.outbox.history("snel-speelgoed", "2026-W46")
    assert [r.kind for r in records] == ["alerts", "correction"]
    # Re-running changes nothing more; the withdrawn section is not corrected twice.
    assert (await run_check(sample_store, config.policy, W46, now=clock())).planned == 0


async def test_missing_data_is_reported_to_the_admins(
    sample_store: Store, tmp_path: Path, clock: FixedClock
) -> None:
    from tests.conftest import make_config

    config = make_config(tmp_path, NORMWACHT_ADMINS="telegram:900", TELEGRAM_BOT_TOKEN="1:x")
    from bot.notices.admins import admin_chats

    admins = await admin_chats(sample_store, config, clock())
    outcome = await run_check(
        sample_store, config.policy, IsoWeek(2026, 47), now=clock(), admin_chats=admins
    )
    assert sorted(outcome.missing) == [
        "boekenhoek",
        "kado-kelder",
        "snel-speelgoed",
        "tuin-en-co",
        "zonnig-wonen",
    ]
    [record] = await sample_store.outbox.history()
    assert record.kind == "data_missing" and record.address == "900"


async def test_a_week_without_figures_is_told_to_the_sellers_own_chats(
    sample_store: Store, config: Config, clock: FixedClock
) -> None:
    """Old figures never pass for current ones: the check of a week that has no figures
    tells each chat of the seller, once, and how to send them; a muted chat is spared."""
    await link(sample_store, clock, "snel-speelgoed")
    muted = await link(sample_store, clock, "tuin-en-co", "502")
    await sample_store.chats.set_muted(muted, True)
    w47 = IsoWeek(2026, 47)
    first = await run_check(sample_store, config.policy, w47, now=clock())
    again = await run_check(sample_store, config.policy, w47, now=clock())
    [record] = await sample_store.outbox.history("snel-speelgoed", "2026-W47")
    assert record.kind == "figures_missing" and record.address == "501"
    assert "Snel Speelgoed" in record.text and "/connect" in record.text
    assert "week 47" in record.text
    assert await sample_store.outbox.history("tuin-en-co", "2026-W47") == []
    assert (first.planned, again.planned) == (1, 0)


async def test_a_correction_names_the_new_step_and_what_changed(
    store: Store, config: Config, clock: FixedClock, tmp_path: Path
) -> None:
    """Week 46 was told as warning 1 of 4; week 45's failing figures arrive late and move
    it to warning 2: the correction says so and why, in the chat's language. An exemption
    for week 46 then takes the warning back, and the correction says that too."""
    header = "seller_id,year,week,indicator,numerator,denominator,value,norm\n"

    async def upload(name: str, rows: str) -> None:
        path = tmp_path / name
        path.write_text(header + rows, encoding="utf-8")
        await import_files(
            store, [ImportFile(path, name)], policy=config.policy, today=clock().date(), now=clock()
        )
        await complete_owed_work(store, config, now=clock())

    await store.sellers.add("shop-1", "Shop One", "en", clock())
    chat = await store.chats.get_or_create("telegram", "501", language="en", now=clock())
    await store.chats.link(chat.id, "shop-1", "test", clock())
    await upload("w44.csv", "shop-1,2026,44,FULFILMENT,150,150,,\n")
    await upload("w46.csv", "shop-1,2026,46,FULFILMENT,135,150,,\n")
    await run_check(store, config.policy, W46, now=clock())
    clock.advance(days=1)
    await upload("w45.csv", "shop-1,2026,45,FULFILMENT,130,150,,\n")

    [correction] = [r for r in await store.outbox.history("shop-1") if r.kind == "correction"]
    assert "New figures for week 45 (2–8 Nov) came in after our message about week 46" in (
        correction.text
    )
    assert "our earlier message (warning 1 of 4) no longer holds" in correction.text
    assert "What applies to that week now: warning 2 of 4." in correction.text

    clock.advance(days=1)
    await store.data.add_exemption(
        Exemption(W46, "PostNL strike", frozenset({Indicator.FULFILMENT}), frozenset()),
        "op",
        clock(),
    )
    await complete_owed_work(store, config, now=clock())
    texts = [r.text for r in await store.outbox.history("shop-1") if r.kind == "correction"]
    assert len(texts) == 2
    assert texts[1].splitlines()[2] == (
        "An exemption was declared for week 46 (9–15 Nov). Because of that, our earlier "
        "message (warning 2 of 4) no longer holds."
    )
