"""Delivery through the real python-telegram-bot client against the fake Bot API: pacing,
429s, failures, blocked chats and quiet hours."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from telegram import Bot
from telegram.request import HTTPXRequest

from bot.channels.telegram.sender import TelegramSender, http_request
from bot.config import Config
from bot.outbox.pacing import MAX_ATTEMPTS
from bot.outbox.waiting import waiting
from bot.outbox.worker import DeliveryWorker
from bot.runtime.health import Health
from bot.store import PlannedMessage, Store
from tests.conftest import FixedClock, make_config
from tests.fakes import FakeTelegram

pytestmark = pytest.mark.both_engines


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram() as server:
        yield server


async def bot_for(fake: FakeTelegram, read_timeout: float = 5.0) -> Bot:
    bot = Bot(
        "42:delivery",
        base_url=f"{fake.url}/bot",
        base_file_url=f"{fake.url}/file/bot",
        request=HTTPXRequest(read_timeout=read_timeout, connect_timeout=2.0),
    )
    await bot.initialize()
    return bot


@pytest.fixture
async def sender(fake: FakeTelegram) -> AsyncIterator[TelegramSender]:
    bot = await bot_for(fake)
    try:
        yield TelegramSender(bot)
    finally:
        await bot.shutdown()


async def plan(
    store: Store,
    clock: FixedClock,
    count: int,
    *,
    chats: int = 1,
    urgent: bool = False,
    prefix: str = "m",
) -> list[int]:
    chat_ids = [
        (await store.chats.get_or_create("telegram", str(7000 + c), language="nl", now=clock())).id
        for c in range(chats)
    ]
    await store.outbox.plan(
        [
            PlannedMessage(
                dedup_key=f"{prefix}:{i}",
                chat_id=chat_ids[i % chats],
                seller_id=None,
                week=None,
                kind="test",
                sections=(),
                urgent=urgent,
                body={"text": f"{prefix} {i}", "blocks": None, "parse_mode": None},
                template="test",
            )
            for i in range(count)
        ],
        clock(),
    )
    return chat_ids


async def states(store: Store) -> dict[str, int]:
    return await store.outbox.counts()


async def test_pacing_keeps_within_telegrams_limits(
    store: Store, config: Config, clock: FixedClock, fake: FakeTelegram, sender: TelegramSender
) -> None:
    fake.enforce_limits(global_per_s=30, per_chat_per_s=1)
    await plan(store, clock, 45, chats=15)
    worker = DeliveryWorker(store, {"telegram": sender}, config, clock)
    assert await worker.run_once() == 45
    assert fake.rejected_429 == 0
    assert len(fake.sent_messages()) == 45
    assert await states(store) == {"sent": 45}


async def test_a_429_is_waited_out_exactly_and_then_sent(
    store: Store, config: Config, clock: FixedClock, fake: FakeTelegram, sender: TelegramSender
) -> None:
    await plan(store, clock, 1)
    fake.fail_next("sendMessage", 429, retry_after=3)
    worker = DeliveryWorker(store, {"telegram": sender}, config, clock)
    assert await worker.run_once() == 0
    [record] = await store.outbox.history()
    assert record.state == "failed" and "retry after 3" in (record.last_error or "")
    clock.advance(seconds=2)
    assert await worker.run_once() == 0  # not before the time it was given
    clock.advance(seconds=1)
    assert await worker.run_once() == 1
    assert fake.sent_texts() == ["m 0"]
    row = await store.db.fetchone("SELECT attempts FROM outbox")
    assert row is not None and row[0] == 1  # waiting for a 429 is no failed attempt


async def test_server_errors_and_timeouts_are_retried_with_backoff(
    store: Store, config: Config, clock: FixedClock, fake: FakeTelegram
) -> None:
    bot = await bot_for(fake, read_timeout=0.3)
    try:
        await plan(store, clock, 1)
        worker = DeliveryWorker(store, {"telegram": TelegramSender(bot)}, config, clock)
        fake.fail_next("sendMessage", 500)
        assert await worker.run_once() == 0
        clock.advance(seconds=3)  # first backoff: 1-2 s
        fake.latency_s = 1.0
        assert await worker.run_once() == 0  # timed out
        fake.latency_s = 0.0
        [record] = await store.outbox.history()
        assert record.state == "failed" and "TimedOut" in (record.last_error or "")
        clock.advance(seconds=5)  # second backoff: 2-4 s
        assert await worker.run_once() == 1
        row = await store.db.fetchone("SELECT attempts, state FROM outbox")
        assert row is not None and tuple(row) == (3, "sent")
    finally:
        await bot.shutdown()


async def test_a_blocked_chat_is_deactivated_and_the_admins_told_once(
    store: Store, tmp_path: Path, clock: FixedClock, fake: FakeTelegram, sender: TelegramSender
) -> None:
    config = make_config(tmp_path, NORMWACHT_ADMINS="telegram:900", TELEGRAM_BOT_TOKEN="42:x")
    [chat_id] = await plan(store, clock, 3)
    fake.block_chat(7000)
    worker = DeliveryWorker(store, {"telegram": sender}, config, clock)
    await worker.run_once()
    chat = await store.chats.get(chat_id)
    assert chat is not None and not chat.active and "blocked" in (chat.inactive_reason or "")
    sent = await store.outbox.history()
    assert [r.state for r in sent if r.address == "7000"] == ["dead", "dead", "dead"]
    # One notice to the admin, naming the destination.
    assert [m["chat"]["id"] for m in fake.sent_messages()] == [900]
    assert "telegram:7000" in fake.sent_texts()[0]
    assert fake.calls_to("sendMessage")[0].params["chat_id"] == 7000  # tried once, not thrice


async def test_quiet_hours_hold_notices_until_morning_but_not_urgent_alerts(
    store: Store, tmp_path: Path, fake: FakeTelegram, sender: TelegramSender
) -> None:
    config = make_config(tmp_path, NORMWACHT_QUIET_HOURS="21:00-08:00")
    clock = FixedClock(datetime(2026, 11, 18, 22, 30, tzinfo=UTC))  # 23:30 in Amsterdam
    await plan(store, clock, 1, prefix="notice")
    await plan(store, clock, 1, urgent=True, prefix="closure")
    worker = DeliveryWorker(store, {"telegram": sender}, config, clock)
    assert await worker.run_once() == 1
    assert fake.sent_texts() == ["closure 0"]
    [held] = [r for r in await store.outbox.history() if r.state != "sent"]
    assert (held.state, held.waiting_for) == ("pending", None)  # untouched: not claimed
    # It says when it is due and why, judged with the quiet hours of now.
    due = waiting(
        platform=held.platform,
        urgent=held.urgent,
        state=held.state,
        next_attempt_at=held.next_attempt_at,
        reason=held.waiting_for,
        now=clock(),
        config=config,
    )
    assert due == (datetime(2026, 11, 19, 7, 0, tzinfo=UTC), "quiet hours")
    clock.now = datetime(2026, 11, 19, 6, 59, tzinfo=UTC)
    assert await worker.run_once() == 0
    clock.now = datetime(2026, 11, 19, 7, 0, tzinfo=UTC)  # 08:00 local
    assert await worker.run_once() == 1
    assert fake.sent_texts() == ["closure 0", "notice 0"]


async def test_quiet_hours_are_judged_when_sending_with_the_configuration_of_that_moment(
    store: Store, tmp_path: Path, fake: FakeTelegram, sender: TelegramSender
) -> None:
    clock = FixedClock(datetime(2026, 11, 19, 0, 36, tzinfo=UTC))  # 01:36 in Amsterdam
    await plan(store, clock, 1, prefix="notice")
    quiet = make_config(tmp_path, NORMWACHT_QUIET_HOURS="21:00-08:00")
    assert await DeliveryWorker(store, {"telegram": sender}, quiet, clock).run_once() == 0
    # The operator turns quiet hours off and starts again: it goes at once, not at 08:00.
    loud = make_config(tmp_path, NORMWACHT_QUIET_HOURS="off")
    assert await DeliveryWorker(store, {"telegram": sender}, loud, clock).run_once() == 1
    assert fake.sent_texts() == ["notice 0"]


async def test_a_digest_and_a_warning_in_the_same_week_do_not_repeat_each_other(
    sample_store: Store,
    config: Config,
    clock: FixedClock,
    fake: FakeTelegram,
    sender: TelegramSender,
) -> None:
    from bot.commands.service import Service
    from bot.notices.check import run_check
    from bot.notices.digest import plan_digests
    from norms import IsoWeek

    chat = await sample_store.chats.get_or_create("telegram", "555", language="nl", now=clock())
    await sample_store.chats.link(chat.id, "snel-speelgoed", "test", clock())
    await run_check(sample_store, config.policy, IsoWeek(2026, 46), now=clock())
    service = Service(sample_store, config, clock)
    assert await plan_digests(service, now=clock()) == 1
    assert await plan_digests(service, now=clock()) == 0  # once a week
    worker = DeliveryWorker(
        store=sample_store, senders={"telegram": sender}, config=config, clock=clock
    )
    clock.advance(seconds=1)
    assert await worker.run_once() == 2
    alert, digest = fake.sent_texts(555)
    assert "verbeterplan" in alert.lower() and "Weekoverzicht" in digest
    # The digest points at the track but does not repeat the alert's plan outline or tips.
    alert_lines = {line for line in alert.splitlines() if len(line) > 40}
    assert not alert_lines & set(digest.splitlines())


async def test_a_long_message_goes_in_paced_parts_and_a_retry_does_not_repeat_them(
    store: Store, config: Config, clock: FixedClock, fake: FakeTelegram
) -> None:
    bot = await bot_for(fake)
    try:
        sender = TelegramSender(bot, part_interval_s=0.05)
        chat_ids = await plan(store, clock, 0)
        text = "\n".join(f"regel {i} " + "x" * 90 for i in range(120))  # about 11,000 chars
        await store.outbox.plan(
            [
                PlannedMessage(
                    dedup_key="long",
                    chat_id=chat_ids[0],
                    seller_id=None,
                    week=None,
                    kind="test",
                    sections=(),
                    urgent=False,
                    body={"text": text, "blocks": None, "parse_mode": None},
                    template="test",
                )
            ],
            clock(),
        )
        # The first part goes, the second meets a server error.
        fake.pass_next("sendMessage")
        fake.fail_next("sendMessage", 500)
        worker = DeliveryWorker(store, {"telegram": sender}, config, clock)
        assert await worker.run_once() == 0
        assert len(fake.sent_messages(7000)) == 1
        clock.advance(seconds=5)
        assert await worker.run_once() == 1
        parts = fake.sent_texts(7000)
        assert len(parts) == 3 and "\n".join(parts) == text  # each part once, in order
    finally:
        await bot.shutdown()


async def test_a_group_that_became_a_supergroup_is_followed(
    store: Store, config: Config, clock: FixedClock, fake: FakeTelegram, sender: TelegramSender
) -> None:
    [chat_id] = await plan(store, clock, 1)
    fake.add_response(
        "sendMessage",
        status=400,
        body={
            "ok": False,
            "error_code": 400,
            "description": "Bad Request: group chat was upgraded to a supergroup chat",
            "parameters": {"migrate_to_chat_id": -1009},
        },
    )
    worker = DeliveryWorker(store, {"telegram": sender}, config, clock)
    assert await worker.run_once() == 1  # retried at once at the new address
    chat = await store.chats.get(chat_id)
    assert chat is not None and chat.address == "-1009" and chat.active
    assert fake.sent_texts(-1009) == ["m 0"]


async def test_a_lost_claim_is_recovered_while_running(
    store: Store, config: Config, clock: FixedClock, sender: TelegramSender
) -> None:
    await plan(store, clock, 1)
    [claimed] = await store.outbox.claim_due(clock())  # claimed, then the send was lost
    clock.advance(minutes=5)
    assert await store.outbox.recover_inflight(older_than=clock() - timedelta(minutes=10)) == 0
    clock.advance(minutes=6)
    assert await store.outbox.recover_inflight(older_than=clock() - timedelta(minutes=10)) == 1
    worker = DeliveryWorker(store, {"telegram": sender}, config, clock)
    assert await worker.run_once() == 1
    assert claimed.id == 1


async def test_after_a_day_of_failures_a_message_is_given_up_and_the_admins_told(
    store: Store, tmp_path: Path, clock: FixedClock, fake: FakeTelegram, sender: TelegramSender
) -> None:
    config = make_config(tmp_path, NORMWACHT_ADMINS="telegram:900", TELEGRAM_BOT_TOKEN="42:x")
    await plan(store, clock, 1)
    await store.db.execute("UPDATE outbox SET attempts = ?", (MAX_ATTEMPTS - 1,))
    fake.fail_next("sendMessage", 502)
    worker = DeliveryWorker(store, {"telegram": sender}, config, clock)
    await worker.run_once()
    [record] = [r for r in await store.outbox.history() if r.kind == "test"]
    assert record.state == "dead"
    assert [m["chat"]["id"] for m in fake.sent_messages()] == [900]
    assert "telegram:7000" in fake.sent_texts(900)[0]


async def test_messages_wait_uncounted_while_the_platform_is_down_and_go_out_when_back(
    store: Store, config: Config, clock: FixedClock
) -> None:
    health = Health(clock)
    async with FakeTelegram() as first:
        port = int(first.url.rsplit(":", 1)[1])
        bot = Bot(
            "42:delivery",
            base_url=f"{first.url}/bot",
            base_file_url=f"{first.url}/file/bot",
            request=http_request(health, connect_timeout=2.0),
        )
        await bot.initialize()
    try:
        await plan(store, clock, 3)
        worker = DeliveryWorker(
            store, {"telegram": TelegramSender(bot)}, config, clock, is_up=health.is_up
        )
        # The Bot API is gone: the first send finds out, the rest are not even tried.
        assert await worker.run_once() == 0
        assert not health.is_up("telegram")
        # A day and more of outage: nothing is tried, nothing spends an attempt or dies.
        for _ in range(2 * MAX_ATTEMPTS):
            clock.advance(minutes=10)
            assert await worker.run_once() == 0
        rows = await store.db.fetchall("SELECT state, attempts FROM outbox ORDER BY id")
        assert [tuple(r) for r in rows] == [("failed", 0), ("pending", 0), ("pending", 0)]

        async with FakeTelegram(port=port) as back:
            await bot.get_me()  # what the channel's reconnect probe asks
            assert health.is_up("telegram")
            assert await worker.run_once() == 3
            assert back.sent_texts() == ["m 0", "m 1", "m 2"]  # in their order
        rows = await store.db.fetchall("SELECT state, attempts FROM outbox ORDER BY id")
        assert [tuple(r) for r in rows] == [("sent", 1)] * 3
    finally:
        await bot.shutdown()


async def test_paid_broadcasts_go_beyond_thirty_a_second_flagged_and_counted(
    store: Store, config: Config, clock: FixedClock, fake: FakeTelegram
) -> None:
    """TELEGRAM_PAID_BROADCAST=on: every send asks for a paid broadcast, and Telegram (the
    fake, holding the free 30 a second to the rest) lets them through at its higher limit."""
    fake.enforce_limits(global_per_s=30, per_chat_per_s=1)
    config = replace(config, telegram_paid_broadcast=True)
    bot = await bot_for(fake)
    try:
        await plan(store, clock, 90, chats=90)
        sender = TelegramSender(bot, paid_broadcast=config.telegram_paid_broadcast)
        worker = DeliveryWorker(store, {"telegram": sender}, config, clock)
        assert worker.pacers["telegram"].pacing.per_second == 1000
        assert await worker.run_once() == 90
    finally:
        await bot.shutdown()
    assert fake.rejected_429 == 0
    sends = fake.calls_to("sendMessage")
    assert len(sends) == 90
    assert all(call.params.get("allow_paid_broadcast") is True for call in sends)


async def test_without_paid_broadcasts_no_send_asks_for_one(
    store: Store, config: Config, clock: FixedClock, fake: FakeTelegram, sender: TelegramSender
) -> None:
    await plan(store, clock, 3, chats=3)
    worker = DeliveryWorker(store, {"telegram": sender}, config, clock)
    assert worker.pacers["telegram"].pacing.billed_above is None
    assert await worker.run_once() == 3
    assert all("allow_paid_broadcast" not in c.params for c in fake.calls_to("sendMessage"))
