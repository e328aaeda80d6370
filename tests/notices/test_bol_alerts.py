"""bol.com's own verdict in the week's alerts (NORMS.md §9): its news told once, in the week
its snapshot belongs to, with bol.com's count instead of ours; urgent news through mute and
quiet hours; the operators told once where bol.com counts otherwise.

Snapshots go in as the poll and uploads put them: kept, and a recheck owed from the week
they belong to when they bring news.
"""

from __future__ import annotations

import html
import re
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from telegram import Bot

from bot.channels.telegram.sender import TelegramSender
from bot.config import Config
from bot.imports import ImportFile, import_files
from bot.notices.admins import admin_chats
from bot.notices.bolweek import bol_weeks
from bot.notices.check import run_check
from bot.notices.disagreement import compare_with_derivation
from bot.notices.owed_work import complete_owed_work
from bot.outbox.worker import DeliveryWorker
from bot.store import SentRecord, Store
from bot.store.owed import RECHECK
from norms import IsoWeek
from norms.bol import PerformanceStatus, QualityScore, Strikes, StrikeWeek, Violation
from tests.conftest import FixedClock, make_config
from tests.fakes import FakeTelegram

pytestmark = pytest.mark.both_engines

AMS = ZoneInfo("Europe/Amsterdam")
W = {n: IsoWeek(2026, n) for n in range(38, 49)}
# Wednesdays 06:00: fetched in week 46 (a snapshot of week 45), in 47 (of 46), in 48 (of 47).
OF_45 = datetime(2026, 11, 11, 6, 0, tzinfo=AMS)
OF_46 = datetime(2026, 11, 18, 6, 0, tzinfo=AMS)
OF_47 = datetime(2026, 11, 25, 6, 0, tzinfo=AMS)
SNEL = "snel-speelgoed"  # our derivation (strikes-22w): weeks 40, 42, 43, 45 and 46
TUIN = "tuin-en-co"


def strikes(*weeks: int, end: int) -> Strikes:
    listed = tuple(StrikeWeek(W[n], ("ON_TIME",)) for n in weeks)
    return Strikes(len(weeks), listed, W[end].shift(-21), W[end])


def violation(vid: str, day: int, category: str, points: int) -> Violation:
    registered = datetime(2026, 11, day, 10, 0, tzinfo=AMS)
    return Violation(vid, registered, category, "", "POINTS_DEDUCTION", points)


def status(
    at: datetime,
    *,
    system: str = "GroeiKracht",
    strikes: Strikes | None = None,
    points: int | None = None,
    violations: tuple[Violation, ...] | None = None,
    quality: tuple[int, int] | None = None,
) -> PerformanceStatus:
    score = None if quality is None else QualityScore(W[quality[0]], quality[1])
    return PerformanceStatus(at, system, strikes, points, violations, score)


async def snapshot(store: Store, clock: FixedClock, seller: str, kept: PerformanceStatus) -> None:
    """Keep a snapshot, and owe a recheck of its week when it brings news (as the poll
    and uploads do, in one transaction)."""
    if await store.bol_statuses.add(seller, kept, "bol.com", clock()):
        week = IsoWeek.containing(kept.fetched_at, AMS).shift(-1)
        await store.owed.owe(RECHECK, week, [seller], "import:bol.com", clock())


async def chat(store: Store, clock: FixedClock, seller: str, address: str = "501") -> int:
    found = await store.chats.get_or_create("telegram", address, language="en", now=clock())
    await store.chats.link(found.id, seller, "test", clock())
    return found.id


async def told(store: Store, seller: str, week: IsoWeek) -> list[SentRecord]:
    """What the seller's chats were told about ``week``, as text without Telegram's markup."""
    return [
        replace(r, text=html.unescape(re.sub(r"</?[a-z]+>", "", r.text)))
        for r in await store.outbox.history(seller, str(week))
        if r.kind != "bol_disagreement"
    ]


async def alerts_json(store: Store, config: Config, clock: FixedClock, week: IsoWeek) -> dict:
    lines: dict = {}
    await run_check(
        store,
        config.policy,
        week,
        now=clock(),
        dry_run=True,
        on_report=lambda r: lines.__setitem__(r.seller_id, r.to_json()["alerts"]),
    )
    return lines


async def test_a_new_strike_is_told_with_bol_coms_count_instead_of_ours(
    sample_store: Store, config: Config, clock: FixedClock
) -> None:
    """We derive a fifth failing week (a temporary closure); bol.com counts three strikes.
    The seller hears bol.com's count, never ours beside it, and check --json lists it."""
    await chat(sample_store, clock, SNEL)
    await snapshot(sample_store, clock, SNEL, status(OF_45, strikes=strikes(42, 45, end=45)))
    await snapshot(sample_store, clock, SNEL, status(OF_46, strikes=strikes(42, 45, 46, end=46)))
    assert (await alerts_json(sample_store, config, clock, W[46]))[SNEL] == ["bol_strike"]
    await run_check(sample_store, config.policy, W[46], now=clock())
    [record] = await told(sample_store, SNEL, W[46])
    assert record.sections == ("bol_strike@2026-W46",)
    assert record.text.startswith("⚠️ bol.com: strike 3 of 7 · Snel Speelgoed")
    assert "bol.com registered a strike for week 46 of 2026" in record.text
    assert "You now have 3 strikes in bol.com's last 22 weeks." in record.text
    assert "bol.com's figures as fetched on 2026-11-18 06:00 CET" in record.text
    assert "strike 5" not in record.text.lower() and "closed temporarily" not in record.text
    assert not record.urgent
    # Checking again plans nothing; week 45 gets its own snapshot's news, not week 46's.
    assert (await run_check(sample_store, config.policy, W[46], now=clock())).planned == 0
    await run_check(sample_store, config.policy, W[45], now=clock())
    [earlier] = await told(sample_store, SNEL, W[45])
    assert earlier.sections == ("bol_strike@2026-W45",)
    assert "for week 45 of 2026" in earlier.text and "week 46" not in earlier.text


async def test_each_piece_of_news_is_told_once_however_often_it_is_fetched(
    sample_store: Store, config: Config, clock: FixedClock
) -> None:
    """The same snapshot again plans nothing and corrects nothing; a later snapshot of
    the same week tells only what is new in it; the next week tells the levels that still
    hold (points low, a low score) again, and no violation twice."""
    await chat(sample_store, clock, TUIN)
    old = violation("pv-1", 2, "FORBIDDEN_ASSORTMENT", 50)
    new = violation("pv-2", 17, "PRODUCT_SAFETY", 30)
    await snapshot(sample_store, clock, TUIN, status(OF_45, points=80, violations=(old,)))
    first = status(OF_46, points=30, violations=(old, new), quality=(46, 60))
    await snapshot(sample_store, clock, TUIN, first)
    await run_check(sample_store, config.policy, W[46], now=clock())
    assert await complete_owed_work(sample_store, config, now=clock()) == 0  # told already
    [alerts] = await told(sample_store, TUIN, W[46])
    assert alerts.sections == (
        "policy_violation@pv-2",
        "policy_points_low",
        "quality_score_low",
        "norm_notice",
    )
    assert "Product safety" in alerts.text and "Forbidden assortment" not in alerts.text
    assert "30 policy points left of 100." in alerts.text
    assert "Your quality score is 60 in week 46 of 2026" in alerts.text

    # The same body fetched again an hour later: no news, no recheck, nothing to tell.
    clock.advance(hours=1)
    again = PerformanceStatus(OF_46 + timedelta(hours=1), *_parts(first))
    await snapshot(sample_store, clock, TUIN, again)
    assert await sample_store.owed.pending() == []
    assert (await run_check(sample_store, config.policy, W[46], now=clock())).planned == 0
    assert [r.kind for r in await told(sample_store, TUIN, W[46])] == ["alerts"]

    # Later that week bol.com registers one more: only that one is told, nothing corrected.
    third = violation("pv-3", 18, "MISLEADING_OFFER", 10)
    later = status(
        OF_46 + timedelta(hours=3), points=20, violations=(old, new, third), quality=(46, 60)
    )
    clock.advance(hours=3)
    await snapshot(sample_store, clock, TUIN, later)
    assert await complete_owed_work(sample_store, config, now=clock()) == 1
    _, second = await told(sample_store, TUIN, W[46])
    assert second.kind == "alerts" and second.sections == ("policy_violation@pv-3",)
    assert "Misleading offer" in second.text and "Product safety" not in second.text
    assert "20 policy points left of 100." in second.text

    # Next week: the points are still low and the score too: told again for week 47;
    # the violations were told and are not. Week 47 has no figures, so that is said too.
    clock.now = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
    await snapshot(
        sample_store,
        clock,
        TUIN,
        status(OF_47, points=20, violations=(old, new, third), quality=(47, 59)),
    )
    await run_check(sample_store, config.policy, W[47], now=clock())
    kinds = {r.kind: r for r in await told(sample_store, TUIN, W[47])}
    assert kinds["alerts"].sections == ("policy_points_low", "quality_score_low")
    assert "Your quality score is 59 in week 47 of 2026" in kinds["alerts"].text
    assert "figures_missing" in kinds


async def notes(store: Store) -> list[SentRecord]:
    """The operators' notes of strike counts that differ, as text."""
    return [
        replace(r, text=html.unescape(re.sub(r"</?[a-z]+>", "", r.text)))
        for r in await store.outbox.history()
        if r.kind == "bol_disagreement"
    ]


def _parts(s: PerformanceStatus) -> tuple[object, ...]:
    return (s.system, s.strikes, s.points_left, s.violations, s.quality)


async def test_a_snapshot_after_the_check_adds_its_news_and_corrects_nothing(
    sample_store: Store, config: Config, clock: FixedClock
) -> None:
    """The week was told from our figures (a temporary closure); bol.com's verdict comes in
    a day later: its news follows as a message of its own, ours is not taken back, and
    later rechecks of older weeks bring none of it."""
    await chat(sample_store, clock, SNEL)
    await run_check(sample_store, config.policy, W[45], now=clock())
    await run_check(sample_store, config.policy, W[46], now=clock())
    [ours] = await told(sample_store, SNEL, W[46])
    assert ours.sections == ("suspension@5",)
    clock.advance(days=1)
    await snapshot(
        sample_store, clock, SNEL, status(OF_46, strikes=strikes(40, 42, 45, 46, end=46))
    )
    assert await complete_owed_work(sample_store, config, now=clock()) == 1
    records = await told(sample_store, SNEL, W[46])
    assert [(r.kind, r.sections) for r in records] == [
        ("alerts", ("suspension@5",)),
        ("alerts", ("bol_strike@2026-W46",)),
    ]
    # New figures for week 44 recheck weeks 45 and 46: no correction, no news repeated.
    await sample_store.owed.owe(RECHECK, W[44], [SNEL], "import:upload", clock())
    assert await complete_owed_work(sample_store, config, now=clock()) == 0
    assert len(await told(sample_store, SNEL, W[45])) == 1


async def test_a_week_without_its_own_snapshot_claims_nothing_of_bol_com(
    sample_store: Store, config: Config, clock: FixedClock
) -> None:
    """A snapshot fetched in week 46 is week 45's; one fetched after now is not read yet."""
    await chat(sample_store, clock, SNEL)
    await snapshot(sample_store, clock, SNEL, status(OF_45, strikes=strikes(42, 45, end=45)))
    future = status(datetime(2026, 11, 19, 12, 0, tzinfo=AMS), strikes=strikes(46, end=46))
    await sample_store.bol_statuses.add(SNEL, future, "bol.com", clock())
    await run_check(sample_store, config.policy, W[46], now=clock())
    [record] = await told(sample_store, SNEL, W[46])
    assert record.sections == ("suspension@5",) and "bol.com's figures" not in record.text


async def test_the_fifth_strike_and_no_points_left_reach_a_muted_chat(
    sample_store: Store, config: Config, clock: FixedClock
) -> None:
    muted = await chat(sample_store, clock, SNEL)
    other = await chat(sample_store, clock, TUIN, "502")
    for chat_id in (muted, other):
        await sample_store.chats.set_muted(chat_id, True)
    await snapshot(
        sample_store, clock, SNEL, status(OF_45, strikes=strikes(40, 42, 43, 45, end=45))
    )
    await snapshot(
        sample_store, clock, SNEL, status(OF_46, strikes=strikes(40, 42, 43, 45, 46, end=46))
    )
    # Few points left is a notice: a muted chat does not get it.
    await snapshot(sample_store, clock, TUIN, status(OF_46, points=10))
    await run_check(sample_store, config.policy, W[46], now=clock())
    [fifth] = await told(sample_store, SNEL, W[46])
    assert fifth.sections == ("bol_strike@2026-W46",) and fifth.urgent
    assert "With 5 strikes bol.com closes your shop temporarily" in fifth.text
    assert await told(sample_store, TUIN, W[46]) == []
    # No points left: bol.com closes the account for good. That reaches the muted chat.
    clock.advance(hours=1)
    gone = violation("pv-9", 17, "FRAUD", 10)
    await snapshot(
        sample_store, clock, TUIN, status(OF_46 + timedelta(hours=1), points=0, violations=(gone,))
    )
    await complete_owed_work(sample_store, config, now=clock())
    [closed] = await told(sample_store, TUIN, W[46])
    assert closed.sections == ("policy_violation@pv-9", "policy_points_low") and closed.urgent
    assert closed.text.startswith("🚫 Shop closed for good")


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram() as server:
        yield server


@pytest.fixture
async def sender(fake: FakeTelegram) -> AsyncIterator[TelegramSender]:
    bot = Bot("42:delivery", base_url=f"{fake.url}/bot", base_file_url=f"{fake.url}/file/bot")
    await bot.initialize()
    try:
        yield TelegramSender(bot)
    finally:
        await bot.shutdown()


async def test_urgent_bol_news_goes_out_in_quiet_hours_and_the_rest_waits(
    sample_store: Store, tmp_path: Path, database: str, fake: FakeTelegram, sender: TelegramSender
) -> None:
    config = make_config(tmp_path, NORMWACHT_DB=database, NORMWACHT_QUIET_HOURS="21:00-08:00")
    clock = FixedClock(datetime(2026, 11, 18, 22, 30, tzinfo=UTC))  # 23:30 in Amsterdam
    await chat(sample_store, clock, SNEL, "7001")
    await chat(sample_store, clock, TUIN, "7002")
    await snapshot(
        sample_store, clock, SNEL, status(OF_45, strikes=strikes(40, 42, 43, 45, end=45))
    )
    await snapshot(
        sample_store, clock, SNEL, status(OF_46, strikes=strikes(40, 42, 43, 45, 46, end=46))
    )
    await snapshot(sample_store, clock, TUIN, status(OF_46, quality=(46, 40)))
    await run_check(sample_store, config.policy, W[46], now=clock())
    worker = DeliveryWorker(sample_store, {"telegram": sender}, config, clock)
    assert await worker.run_once() == 1
    assert fake.sent_texts(7002) == []
    [fifth] = fake.sent_texts(7001)
    assert "bol.com: strike 5 of 7" in fifth
    clock.now = datetime(2026, 11, 19, 7, 0, tzinfo=UTC)  # 08:00 in Amsterdam
    assert await worker.run_once() == 1
    [low] = fake.sent_texts(7002)
    assert "Your quality score is 40" in low


async def test_groeistart_is_told_instead_of_strike_warnings(
    sample_store: Store, tmp_path: Path, database: str, clock: FixedClock
) -> None:
    """A seller bol.com first shows in GroeiStart gets the welcome to it, and neither our
    derived ladder nor a strike count; no operator hears of strikes that differ."""
    config = make_config(
        tmp_path,
        NORMWACHT_DB=database,
        NORMWACHT_ADMINS="telegram:900",
        NORMWACHT_LANGUAGE="en",
        TELEGRAM_BOT_TOKEN="1:x",
    )
    await chat(sample_store, clock, SNEL)
    await snapshot(
        sample_store, clock, SNEL, status(OF_46, system="GroeiStart", strikes=strikes(end=46))
    )
    admins = await admin_chats(sample_store, config, clock())
    assert (await alerts_json(sample_store, config, clock, W[46]))[SNEL] == ["groeistart"]
    await run_check(sample_store, config.policy, W[46], now=clock(), admin_chats=admins)
    assert [r.kind for r in await sample_store.outbox.history(SNEL)] == ["alerts"]
    [record] = await told(sample_store, SNEL, W[46])
    assert record.sections == ("groeistart",)
    assert record.text.startswith("🌱 GroeiStart: your first 100 orders · Snel Speelgoed")
    assert "strike" not in record.text.lower().replace("no strikes yet", "")
    # Still in GroeiStart a week later: no second welcome, and still no strike warning.
    clock.now = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
    await snapshot(
        sample_store, clock, SNEL, status(OF_47, system="GroeiStart", strikes=strikes(end=47))
    )
    assert (await alerts_json(sample_store, config, clock, W[47]))[SNEL] == []


async def test_operators_hear_once_of_each_week_bol_com_counts_otherwise(
    sample_store: Store, tmp_path: Path, database: str, clock: FixedClock
) -> None:
    config = make_config(
        tmp_path,
        NORMWACHT_DB=database,
        NORMWACHT_ADMINS="telegram:900",
        NORMWACHT_LANGUAGE="en",
        TELEGRAM_BOT_TOKEN="1:x",
    )
    admins = await admin_chats(sample_store, config, clock())
    await chat(sample_store, clock, SNEL)
    # bol.com does not count weeks 40 and 43, which we derive as failing.
    await snapshot(sample_store, clock, SNEL, status(OF_45, strikes=strikes(42, 45, end=45)))
    await snapshot(sample_store, clock, SNEL, status(OF_46, strikes=strikes(42, 45, 46, end=46)))
    await run_check(sample_store, config.policy, W[46], now=clock(), admin_chats=admins)
    [note] = await notes(sample_store)
    assert note.address == "900"
    assert "bol.com counts 3 strikes, our derivation (strikes-22w) 5 strikes." in note.text
    assert "week 40 of 2026 (28 Sep – 4 Oct): counted by us only" in note.text
    assert "week 43 of 2026 (19–25 Oct): counted by us only" in note.text
    assert (
        await run_check(sample_store, config.policy, W[46], now=clock(), admin_chats=admins)
    ).planned == 0
    # Later that week bol.com counts week 43 after all: one difference fewer, nothing new.
    clock.advance(hours=1)
    await snapshot(
        sample_store,
        clock,
        SNEL,
        status(OF_46 + timedelta(hours=1), strikes=strikes(42, 43, 45, 46, end=46)),
    )
    await complete_owed_work(sample_store, config, now=clock())
    assert len(await notes(sample_store)) == 1
    # Then it counts week 44, which our figures pass: a new difference, told with the rest.
    clock.advance(hours=1)
    await snapshot(
        sample_store,
        clock,
        SNEL,
        status(OF_46 + timedelta(hours=2), strikes=strikes(42, 43, 44, 45, 46, end=46)),
    )
    await complete_owed_work(sample_store, config, now=clock())
    first, second = await notes(sample_store)
    assert "week 44 of 2026 (26 Oct – 1 Nov): counted by bol.com only" in second.text
    assert "week 40 of 2026" in second.text and "week 44" not in first.text
    # The seller is told bol.com's weeks, never the operators' note.
    seller_texts = [r.text for r in await told(sample_store, SNEL, W[46])]
    assert all("derivation" not in t for t in seller_texts)


@pytest.mark.parametrize("policy_name", ["verbetertraject-24w", "strikes-22w"])
async def test_our_strikes_from_the_stored_states_are_those_of_a_fold_from_scratch(
    sample_store: Store, tmp_path: Path, database: str, clock: FixedClock, policy_name: str
) -> None:
    """Before any check no state is stored and every seller is folded from its first week;
    after the check the states say the same, under either policy."""
    config = make_config(tmp_path, NORMWACHT_DB=database, NORMWACHT_POLICY=policy_name)
    # A new seller since week 44, who failed week 45: its period starts before its figures.
    await sample_store.sellers.add("nieuw", "Nieuw", "en", clock())
    figures = tmp_path / "nieuw.csv"
    figures.write_text(
        "seller_id,year,week,indicator,numerator,denominator,value,norm\n"
        + "".join(
            f"nieuw,2026,{w},FULFILMENT,{n},100,,\n" for w, n in ((44, 99), (45, 80), (46, 98))
        ),
        encoding="utf-8",
    )
    await import_files(
        sample_store,
        [ImportFile(figures, "nieuw.csv")],
        policy=config.policy,
        today=clock().date(),
        now=clock(),
    )
    for seller in (SNEL, TUIN):
        kept = status(OF_46, strikes=strikes(42, 44, 45, 46, end=46))
        await sample_store.bol_statuses.add(seller, kept, "bol.com", clock())
    await sample_store.bol_statuses.add(
        "nieuw", status(OF_46, strikes=strikes(45, end=46)), "bol.com", clock()
    )
    await sample_store.states.clear()
    ids = [SNEL, TUIN, "nieuw"]
    bol = await bol_weeks(sample_store, config.policy, ids, W[46], now=clock())
    folded = await compare_with_derivation(sample_store, config.policy, bol)
    await run_check(sample_store, config.policy, W[45], now=clock())
    await run_check(sample_store, config.policy, W[46], now=clock())
    assert await sample_store.states.failing_weeks(ids, config.policy, W[46], W[46])
    assert await compare_with_derivation(sample_store, config.policy, bol) == folded
    snel, tuin = folded[SNEL], folded[TUIN]
    assert (snel.bol_count, snel.derived_count) == (4, 5)
    assert [(str(d.week), d.bol, d.reason) for d in snel.differences] == [
        ("2026-W40", False, "bol_excluded"),
        ("2026-W43", False, "bol_excluded"),
        ("2026-W44", True, "corrected"),
    ]
    assert tuin.derived_count == 0 and len(tuin.differences) == 4
    assert folded["nieuw"].agree and folded["nieuw"].derived_count == 1
