"""The Telegram channel end to end: the real PTB Application against the fake Bot API."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from bot.channels.telegram.adapter import MENU, TelegramChannel
from bot.channels.telegram.fair import FloodBudget
from bot.channels.telegram.sender import telegram_sender
from bot.commands.registry import menu as command_menu
from bot.commands.service import Service
from bot.config import Config
from bot.notices.check import run_check
from bot.outbox.errors import Refused, Transient, Unreachable
from bot.outbox.pacing import SendLimits
from bot.outbox.worker import DeliveryWorker
from bot.runtime.health import Health
from bot.store import Chat, Store
from messages import Language, render
from norms import IsoWeek
from tests.conftest import FixedClock, make_config
from tests.fakes.telegram import FakeTelegram

JSON = dict[str, Any]
ALICE = 501  # a private chat (and its user)
BOB = 502
ADMIN = 900
# SendLimits is the delivery worker's business (tested there); here it would only add waits.
FAST = {p: SendLimits(per_second=1000.0, per_chat_interval_s=0.0) for p in ("telegram", "console")}


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram() as tg:
        yield tg


@pytest.fixture
def tg_config(tmp_path: Path, fake: FakeTelegram) -> Config:
    return make_config(
        tmp_path,
        TELEGRAM_BOT_TOKEN="123:ABC",
        TELEGRAM_API_URL=fake.url,
        NORMWACHT_ADMINS=f"telegram:{ADMIN}",
    )


@pytest.fixture
async def channel(
    fake: FakeTelegram, tg_config: Config, sample_store: Store, clock: FixedClock
) -> AsyncIterator[TelegramChannel]:
    # The flood budget has its own tests; here a test may send as fast as it likes.
    telegram = TelegramChannel(
        Service(sample_store, tg_config, clock), tg_config, budget=FloodBudget(per_minute=10_000)
    )
    await telegram.start()
    try:
        yield telegram
    finally:
        await telegram.stop()


# --- helpers ---------------------------------------------------------------------------


async def until(check: Callable[[], bool], timeout: float = 10.0) -> None:
    # A ceiling, not a pace: a first chart on a loaded machine takes over two seconds.
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("the bot did not answer in time")
        await asyncio.sleep(0.005)


class Talk:
    """A user's side of the conversation: push an update, read what the bot sent back."""

    def __init__(self, fake: FakeTelegram, channel: TelegramChannel) -> None:
        self.fake = fake
        self.channel = channel

    async def replies(self, chat_id: int, push: Callable[[], Any]) -> list[JSON]:
        """Push one update; the messages the bot sent to the chat once it was handled."""
        before = len(self.fake.sent_messages(chat_id))
        push()
        processor = self.channel.app.update_processor
        # The first message is sent while the update is in hand: none in hand means done.
        await until(
            lambda: (
                len(self.fake.sent_messages(chat_id)) > before
                and processor.current_concurrent_updates == 0
            )
        )
        return self.fake.sent_messages(chat_id)[before:]

    async def say(
        self, chat_id: int, text: str, user_id: int | None = None, chat_type: str = "private"
    ) -> str:
        """The text (or captions) the bot answered, its messages joined by a blank line."""
        sent = await self.replies(
            chat_id, lambda: self.fake.push_message(chat_id, text, user_id, chat_type)
        )
        return "\n\n".join(str(m.get("text", m.get("caption", ""))) for m in sent)

    async def upload(self, chat_id: int, name: str, content: bytes) -> str:
        sent = await self.replies(chat_id, lambda: self.fake.push_document(chat_id, name, content))
        return "\n\n".join(str(m.get("text", "")) for m in sent)


@pytest.fixture
def talk(fake: FakeTelegram, channel: TelegramChannel) -> Talk:
    return Talk(fake, channel)


def rendered(kind: str, data: JSON, lang: Language = "nl") -> str:
    return render(kind, data, fmt="telegram", lang=lang).text.strip()


async def chat_of(store: Store, chat_id: int) -> Chat:
    chat = await store.chats.find("telegram", str(chat_id))
    assert chat is not None
    return chat


async def link(store: Store, chat_id: int, *sellers: str, clock: FixedClock) -> Chat:
    chat = await store.chats.get_or_create(
        "telegram", str(chat_id), language="nl", now=clock(), title="t"
    )
    for seller in sellers:
        await store.chats.link(chat.id, seller, "test", clock())
    return chat


# --- commands: in Telegram's words ----------------------------------------------------


async def test_answers_go_out_as_html(
    fake: FakeTelegram, talk: Talk, channel: TelegramChannel, sample_store: Store, clock: FixedClock
) -> None:
    """What every command answers is tested in tests/commands; here, how Telegram gets it."""
    await link(sample_store, ALICE, "snel-speelgoed", clock=clock)
    for command in ("/help", "/score", "/status", "/sellers"):
        assert await talk.say(ALICE, command), command
    # HTML goes out as HTML, never as escaped text.
    assert {c.params.get("parse_mode") for c in fake.calls_to("sendMessage")} == {"HTML"}


async def test_a_french_speaking_user_is_answered_in_french_from_the_first_message(
    fake: FakeTelegram, talk: Talk, channel: TelegramChannel, sample_store: Store
) -> None:
    sent = await talk.replies(
        ALICE, lambda: fake.push_message(ALICE, "/help", language_code="fr-BE")
    )
    assert [m["text"] for m in sent] == [rendered("help", {"admin": False}, "fr")]
    assert "Commandes" in sent[0]["text"]
    assert (await chat_of(sample_store, ALICE)).language == "fr"
    # A language we do not speak leaves the default.
    await talk.replies(BOB, lambda: fake.push_message(BOB, "/help", language_code="de"))
    assert (await chat_of(sample_store, BOB)).language == "nl"


async def test_history_is_sent_as_a_photo(
    fake: FakeTelegram, talk: Talk, channel: TelegramChannel, sample_store: Store, clock: FixedClock
) -> None:
    await link(sample_store, ALICE, "zonnig-wonen", clock=clock)

    (photo,) = await talk.replies(ALICE, lambda: fake.push_message(ALICE, "/history 8"))

    assert "photo" in photo and "Zonnig Wonen" in photo.get("caption", "")
    (method, field, upload) = fake.uploads[-1]
    assert (method, field) == ("sendPhoto", "photo")
    assert upload.content.startswith(b"\x89PNG")


async def test_plain_text_is_answered_in_private_but_not_in_groups(
    fake: FakeTelegram, talk: Talk, channel: TelegramChannel, sample_store: Store, clock: FixedClock
) -> None:
    assert await talk.say(ALICE, "hallo?") == rendered("help", {"admin": False})

    group = -100123
    fake.push_message(group, "goedemorgen allemaal", user_id=ALICE, chat_type="supergroup")
    assert await talk.say(group, "/help", ALICE, "supergroup") == rendered("help", {"admin": False})
    assert len(fake.sent_messages(group)) == 1  # the chatter got no answer


async def test_admin_is_recognised_by_user_id(
    fake: FakeTelegram, talk: Talk, channel: TelegramChannel
) -> None:
    assert await talk.say(ADMIN, "/help") == rendered("help", {"admin": True})
    everyone = await talk.say(ADMIN, "/sellers")
    assert all(name in everyone for name in ("Zonnig Wonen", "Snel Speelgoed", "KadoKelder"))


async def test_command_menu_is_registered_in_every_language(
    fake: FakeTelegram, channel: TelegramChannel
) -> None:
    assert set(fake.commands) == {"", "en", "fr"}
    assert fake.commands["fr"][0]["description"] == "Associer ce chat avec un code"
    assert len({tuple(c["description"] for c in menu) for menu in fake.commands.values()}) == 3
    for code, language in (("", "nl"), ("en", "en"), ("fr", "fr")):
        menu = {c["command"]: c["description"] for c in fake.commands[code]}
        assert list(menu) == [c.name for c in command_menu("telegram")]
        assert menu == MENU[language]
        assert all(0 < len(text) <= 256 for text in menu.values())


# --- several sellers: the inline keyboard ----------------------------------------------


async def test_two_sellers_get_a_keyboard_and_the_button_answers(
    fake: FakeTelegram, talk: Talk, channel: TelegramChannel, sample_store: Store, clock: FixedClock
) -> None:
    await link(sample_store, ALICE, "zonnig-wonen", "boekenhoek", clock=clock)

    (prompt,) = await talk.replies(ALICE, lambda: fake.push_message(ALICE, "/score"))

    buttons = [b for row in prompt["reply_markup"]["inline_keyboard"] for b in row]
    assert [(b["text"], b["callback_data"]) for b in buttons] == [
        ("De Boekenhoek", "/score boekenhoek"),
        ("Zonnig Wonen", "/score zonnig-wonen"),
    ]
    fake.push_callback(ALICE, "/score boekenhoek", prompt["message_id"], user_id=ALICE)
    await until(lambda: bool(fake.calls_to("editMessageText")))

    assert len(fake.calls_to("answerCallbackQuery")) == 1
    answer = fake.messages[(ALICE, prompt["message_id"])]
    assert "De Boekenhoek" in answer["text"]
    # Telegram drops the buttons of a message edited without reply_markup.
    assert "reply_markup" not in fake.calls_to("editMessageText")[0].params
    assert "Zonnig Wonen" not in answer["text"]


async def test_an_exemption_for_everyone_is_recorded_only_when_its_button_is_pressed(
    fake: FakeTelegram, talk: Talk, channel: TelegramChannel, sample_store: Store
) -> None:
    (prompt,) = await talk.replies(
        ADMIN, lambda: fake.push_message(ADMIN, "/exempt 2026-W46 Storing bij bol.com")
    )
    assert "alle verkopers" in prompt["text"] and await sample_store.data.exemptions() == []
    [[button]] = prompt["reply_markup"]["inline_keyboard"]
    assert button["text"] == "✅ Ja, vastleggen"
    assert button["callback_data"].startswith("/exempt confirm ")
    fake.push_callback(ADMIN, button["callback_data"], prompt["message_id"], user_id=ADMIN)
    await until(lambda: bool(fake.calls_to("editMessageText")))
    assert "Uitzondering vastgelegd" in fake.messages[(ADMIN, prompt["message_id"])]["text"]
    [exemption] = await sample_store.data.exemptions()
    assert exemption.reason == "Storing bij bol.com" and not exemption.sellers


async def test_history_button_edits_the_question_and_sends_the_chart(
    fake: FakeTelegram, talk: Talk, channel: TelegramChannel, sample_store: Store, clock: FixedClock
) -> None:
    await link(sample_store, ALICE, "zonnig-wonen", "boekenhoek", clock=clock)
    (prompt,) = await talk.replies(ALICE, lambda: fake.push_message(ALICE, "/history"))

    (chart,) = await talk.replies(
        ALICE,
        lambda: fake.push_callback(ALICE, "/history zonnig-wonen", prompt["message_id"]),
    )

    assert "photo" in chart
    assert "Zonnig Wonen" in fake.messages[(ALICE, prompt["message_id"])]["text"]


# --- privacy ---------------------------------------------------------------------------


async def test_a_chat_learns_nothing_about_a_seller_it_does_not_follow(
    fake: FakeTelegram, talk: Talk, channel: TelegramChannel, sample_store: Store, clock: FixedClock
) -> None:
    await link(sample_store, ALICE, "zonnig-wonen", clock=clock)
    await link(sample_store, BOB, "snel-speelgoed", clock=clock)
    theirs = await talk.say(BOB, "/score")  # what snel-speelgoed's own chat sees
    figures = {line for line in theirs.splitlines() if any(ch.isdigit() for ch in line)}

    asked = [
        await talk.say(ALICE, f"/{c} snel-speelgoed") for c in ("score", "status", "goldlabel")
    ]
    pressed = await talk.replies(
        ALICE, lambda: fake.push_callback(ALICE, "/score snel-speelgoed", 999_999)
    )
    text = "\n".join(asked + [str(m.get("text", "")) for m in pressed])

    assert "Snel Speelgoed" not in text
    assert not figures & set(text.splitlines())
    assert asked[0] == rendered("unknown_seller", {"query": "snel-speelgoed"})


# --- uploads ---------------------------------------------------------------------------

HEADER = "seller_id,year,week,indicator,numerator,denominator,value,norm\n"


async def test_an_upload_is_imported_for_the_chats_seller(
    fake: FakeTelegram,
    talk: Talk,
    channel: TelegramChannel,
    sample_store: Store,
    clock: FixedClock,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    monkeypatch.setattr("tempfile.tempdir", str(downloads))
    await link(sample_store, ALICE, "zonnig-wonen", clock=clock)
    csv = HEADER + "zonnig-wonen,,2026-W46,FULFILMENT,17,17,,0.93\n"

    answer = await talk.upload(ALICE, "week46.csv", csv.encode())

    assert "week46.csv" in answer and "46" in answer
    row = await sample_store.db.fetchone(
        "SELECT numerator FROM measurements WHERE seller_id = 'zonnig-wonen' "
        "AND year = 2026 AND week = 46 AND indicator = 'FULFILMENT'"
    )
    assert row is not None and row["numerator"] == 17
    assert len(fake.calls_to("getFile")) == 1 and len(fake.calls_to("download")) == 1
    assert list(downloads.iterdir()) == []  # the temporary copy is gone


async def test_a_bad_upload_is_refused_with_file_line_column(
    fake: FakeTelegram, talk: Talk, channel: TelegramChannel, sample_store: Store, clock: FixedClock
) -> None:
    await link(sample_store, ALICE, "zonnig-wonen", clock=clock)
    csv = (
        HEADER
        + "zonnig-wonen,2026,46,FULFILMENT,17,17,,0.93\n"
        + "zonnig-wonen,2026,46,FULLFILMENT,1,2,,0.93\n"
        + "zonnig-wonen,2026,46,CANCELLATIONS,9,2,,0.02\n"
    )

    answer = await talk.upload(ALICE, "bad.csv", csv.encode())

    assert "<b>bad.csv, regel 3, kolom 4</b>:" in answer
    assert "<b>bad.csv, regel 4, kolom 5</b>: numerator 9 is groter dan denominator 2" in answer
    row = await sample_store.db.fetchone(
        "SELECT numerator FROM measurements WHERE seller_id = 'zonnig-wonen' "
        "AND year = 2026 AND week = 46 AND indicator = 'FULFILMENT'"
    )
    assert row is not None and row["numerator"] == 16  # nothing changed


async def test_an_oversize_document_is_refused_before_download(
    fake: FakeTelegram, talk: Talk, channel: TelegramChannel, sample_store: Store, clock: FixedClock
) -> None:
    await link(sample_store, ALICE, "zonnig-wonen", clock=clock)

    sent = await talk.replies(
        ALICE,
        lambda: fake.push_document(ALICE, "huge.csv", b"x", file_size=21 * 1024 * 1024),
    )

    assert "20 MB" in str(sent[0]["text"]) and "huge.csv" in str(sent[0]["text"])
    assert fake.calls_to("getFile") == [] and fake.calls_to("download") == []


async def test_a_stranger_s_document_is_not_downloaded(
    fake: FakeTelegram, talk: Talk, channel: TelegramChannel
) -> None:
    answer = await talk.upload(BOB, "week46.csv", HEADER.encode())

    assert answer == rendered("who_are_you", {})
    assert fake.calls_to("getFile") == []


# --- delivery --------------------------------------------------------------------------


async def plan_suspension(store: Store, config: Config, clock: FixedClock) -> Chat:
    """Link ALICE to snel-speelgoed and plan its week 46 (a suspension)."""
    chat = await link(store, ALICE, "snel-speelgoed", clock=clock)
    outcome = await run_check(store, config.policy, IsoWeek(2026, 46), now=clock())
    assert outcome.planned > 0
    return chat


async def test_the_weekly_check_is_delivered_to_the_chat(
    fake: FakeTelegram,
    channel: TelegramChannel,
    sample_store: Store,
    tg_config: Config,
    clock: FixedClock,
) -> None:
    await plan_suspension(sample_store, tg_config, clock)
    worker = DeliveryWorker(
        sample_store, {"telegram": channel.sender}, tg_config, clock, pacing=FAST
    )

    sent = await worker.run_once()

    records = await sample_store.outbox.history("snel-speelgoed", "2026-W46")
    assert sent == len(records) > 0
    assert {r.state for r in records} == {"sent"}
    assert [m["text"] for m in fake.sent_messages(ALICE)] == [r.text.strip() for r in records]
    assert "Snel Speelgoed" in fake.sent_messages(ALICE)[0]["text"]


async def test_a_429_is_retried_after_the_wait(
    fake: FakeTelegram,
    channel: TelegramChannel,
    sample_store: Store,
    tg_config: Config,
    clock: FixedClock,
) -> None:
    await plan_suspension(sample_store, tg_config, clock)
    worker = DeliveryWorker(
        sample_store, {"telegram": channel.sender}, tg_config, clock, pacing=FAST
    )
    fake.fail_next("sendMessage", 429, retry_after=1)

    assert await worker.run_once() == 0
    assert fake.rejected_429 == 1 and fake.sent_messages(ALICE) == []
    clock.advance(seconds=1)
    started = time.monotonic()
    assert await worker.run_once() > 0

    assert time.monotonic() - started >= 0.9  # the pause asked for was kept
    records = await sample_store.outbox.history("snel-speelgoed", "2026-W46")
    assert {r.state for r in records} == {"sent"}


async def test_a_blocked_chat_is_deactivated(
    fake: FakeTelegram,
    talk: Talk,
    channel: TelegramChannel,
    sample_store: Store,
    tg_config: Config,
    clock: FixedClock,
) -> None:
    chat = await plan_suspension(sample_store, tg_config, clock)
    fake.block_chat(ALICE)
    worker = DeliveryWorker(
        sample_store, {"telegram": channel.sender}, tg_config, clock, pacing=FAST
    )

    await worker.run_once()

    fresh = await sample_store.chats.get(chat.id)
    assert fresh is not None and not fresh.active and "blocked" in (fresh.inactive_reason or "")
    assert fake.sent_messages(ALICE) == []
    assert [c.params["chat_id"] for c in fake.calls_to("sendMessage")] == [ALICE, ADMIN]
    assert f"telegram:{ALICE}" in fake.sent_texts(ADMIN)[0]  # the operator is told, once
    # Writing to the bot again shows the chat is back.
    fake.unblock_chat(ALICE)
    await talk.say(ALICE, "/help")
    fresh = await sample_store.chats.get(chat.id)
    assert fresh is not None and fresh.active


@pytest.mark.parametrize(
    ("status", "description", "error"),
    [
        (400, "Bad Request: chat not found", Unreachable),
        (403, None, Unreachable),
        (400, "Bad Request: can't parse entities", Refused),
        (502, "Bad Gateway", Transient),
    ],
)
async def test_sender_maps_bot_api_errors(
    fake: FakeTelegram,
    tg_config: Config,
    status: int,
    description: str | None,
    error: type[Exception],
) -> None:
    async with telegram_sender(tg_config) as sender:
        fake.fail_next("sendMessage", status, description=description)
        with pytest.raises(error):
            await sender.send(str(ALICE), {"text": "<b>hoi</b>", "parse_mode": "HTML"})
        message_id = await sender.send(str(ALICE), {"text": "x" * 5000, "parse_mode": None})

    assert message_id is not None and int(message_id) > 0
    parts = fake.sent_texts(ALICE)
    assert len(parts) == 2 and all(len(t) <= 4096 for t in parts)
    assert "".join(parts).replace("\n", "") == "x" * 5000


# --- webhook mode ----------------------------------------------------------------------


async def test_webhook_mode_accepts_only_updates_with_the_secret(
    fake: FakeTelegram, tmp_path: Path, sample_store: Store, clock: FixedClock
) -> None:
    import aiohttp

    from bot.runtime.http import HttpServer

    config = make_config(
        tmp_path,
        TELEGRAM_BOT_TOKEN="123:ABC",
        TELEGRAM_API_URL=fake.url,
        NORMWACHT_WEBHOOK_URL="https://bot.example.com/",
    )
    http = HttpServer(port=0, host="127.0.0.1")
    telegram = TelegramChannel(Service(sample_store, config, clock), config, http)
    await telegram.start()
    await http.start()
    try:
        assert fake.webhook_url == f"https://bot.example.com{telegram.webhook_path}"
        assert fake.calls_to("setWebhook")[0].params["secret_token"] == telegram.webhook_secret
        assert not fake.calls_to("getUpdates")  # no polling beside the webhook
        update = fake.push_message(ALICE, "/help")
        url = f"http://127.0.0.1:{http.port}{telegram.webhook_path}"
        async with aiohttp.ClientSession() as session:
            forged = {"X-Telegram-Bot-Api-Secret-Token": "guess"}
            async with session.post(url, json=update, headers=forged) as response:
                assert response.status == 401
            await asyncio.sleep(0.05)
            assert fake.sent_messages(ALICE) == []
            right = {"X-Telegram-Bot-Api-Secret-Token": telegram.webhook_secret}
            async with session.post(url, json=update, headers=right) as response:
                assert response.status == 200
            async with session.get(f"http://127.0.0.1:{http.port}/healthz") as response:
                assert await response.json() == {"ok": True}
        await until(lambda: bool(fake.sent_messages(ALICE)))
        assert "/score" in fake.sent_texts(ALICE)[0]
    finally:
        await telegram.stop()
        await http.stop()


async def test_commands_for_another_bot_are_left_alone(
    fake: FakeTelegram, channel: TelegramChannel, sample_store: Store, clock: FixedClock
) -> None:
    chat = await sample_store.chats.get_or_create("telegram", "-300", language="nl", now=clock())
    await sample_store.chats.link(chat.id, "zonnig-wonen", "test", clock())
    fake.push_message(-300, "/mute@otherbot", user_id=ALICE, chat_type="group")
    fake.push_message(-300, "/help@normwacht_bot", user_id=ALICE, chat_type="group")
    await until(lambda: bool(fake.sent_messages(-300)))
    await asyncio.sleep(0.1)
    assert len(fake.sent_messages(-300)) == 1 and "/score" in fake.sent_texts(-300)[0]
    stored = await sample_store.chats.get(chat.id)
    assert stored is not None and not stored.muted


async def test_an_upload_with_a_huge_count_is_answered_and_changes_nothing(
    fake: FakeTelegram, talk: Talk, channel: TelegramChannel, sample_store: Store, clock: FixedClock
) -> None:
    await link(sample_store, ALICE, "zonnig-wonen", clock=clock)
    big = "100000000000000000000"
    csv = HEADER + f"zonnig-wonen,2026,46,FULFILMENT,{big},{big},,0.93\n"

    answer = await talk.upload(ALICE, "huge.csv", csv.encode())

    # In the chat's language, with its numbers written as it writes them.
    above = "is groter dan 1.000.000.000, het grootste aantal dat wordt aanvaard"
    assert f"<b>huge.csv, regel 2, kolom 5</b>: numerator &#39;{big}&#39; {above}" in answer
    assert f"<b>huge.csv, regel 2, kolom 6</b>: denominator &#39;{big}&#39; {above}" in answer
    row = await sample_store.db.fetchone(
        "SELECT numerator FROM measurements WHERE seller_id = 'zonnig-wonen' "
        "AND year = 2026 AND week = 46 AND indicator = 'FULFILMENT'"
    )
    assert row is not None and row["numerator"] == 16  # nothing changed


# --- fairness under a flood --------------------------------------------------------------

STRANGER = 666


class Ticks:
    """Monotonic seconds that move only when told to (the flood budget's clock)."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def fair_channel(
    fake: FakeTelegram, tg_config: Config, sample_store: Store, clock: FixedClock
) -> AsyncIterator[tuple[TelegramChannel, Ticks]]:
    ticks = Ticks()
    telegram = TelegramChannel(
        Service(sample_store, tg_config, clock),
        tg_config,
        budget=FloodBudget(per_minute=5, now=ticks),
    )
    await telegram.start()
    try:
        yield telegram, ticks
    finally:
        await telegram.stop()


async def settled(fake: FakeTelegram, channel: TelegramChannel) -> None:
    """Every pushed update was fetched and answered (or dropped)."""
    await until(
        lambda: not fake._pending and channel.processor.current_concurrent_updates == 0,
        timeout=10.0,
    )


async def test_a_flooding_chat_gets_one_slow_down_then_silence_until_its_budget_refills(
    fake: FakeTelegram,
    fair_channel: tuple[TelegramChannel, Ticks],
    sample_store: Store,
    clock: FixedClock,
) -> None:
    channel, ticks = fair_channel
    await sample_store.chats.get_or_create(
        "telegram", str(STRANGER), language="en", now=clock(), title="s"
    )
    await link(sample_store, ALICE, "zonnig-wonen", clock=clock)
    for n in range(60):
        fake.push_message(STRANGER, f"/score shop-{n}")
    fake.push_message(ALICE, "/help")

    await until(lambda: bool(fake.sent_messages(ALICE)), timeout=10.0)
    await settled(fake, channel)

    # Five answers (the budget), one polite "slow down" in the chat's language, then nothing.
    asked = rendered("who_are_you", {}, "en")
    slow = rendered("slow_down", {"per_minute": 5}, "en")
    assert fake.sent_texts(STRANGER) == [asked] * 5 + [slow]
    assert fake.sent_texts(ALICE) == [rendered("help", {"admin": False})]

    # Still flooding within the minute: silence, not a second warning.
    ticks.now += 30.0
    fake.push_message(STRANGER, "/score again")
    await settled(fake, channel)
    assert len(fake.sent_texts(STRANGER)) == 6

    # A minute after the flood the budget is full again: the chat is answered.
    ticks.now += 30.0
    fake.push_message(STRANGER, "/score later")
    await settled(fake, channel)
    assert fake.sent_texts(STRANGER)[6:] == [asked]


async def test_a_chat_s_backlog_does_not_hold_up_other_chats(
    fake: FakeTelegram, talk: Talk, channel: TelegramChannel, sample_store: Store, clock: FixedClock
) -> None:
    # Each Bot API call takes a while, so the flooder's 60 answers take seconds in a row.
    fake.latency_s = 0.02
    await link(sample_store, ALICE, "zonnig-wonen", clock=clock)
    flood = [f"/nope{n}" for n in range(60)]
    for text in flood:
        fake.push_message(STRANGER, text)
    fake.push_message(ALICE, "/help")

    await until(lambda: bool(fake.sent_messages(ALICE)), timeout=20.0)
    # Alice is answered while the flooder's backlog is still being worked through (waiting
    # on the flooder's lock in PTB's 32 slots, she came after at least 29 of them).
    assert len(fake.sent_messages(STRANGER)) < 15
    await settled(fake, channel)
    # The flooder's answers kept its order.
    expected = [rendered("unknown_command", {"command": text}) for text in flood]
    assert fake.sent_texts(STRANGER) == expected


# --- outages -------------------------------------------------------------------------------


async def test_an_outage_after_start_is_noticed_and_polling_resumes_when_telegram_is_back(
    fake: FakeTelegram, tg_config: Config, sample_store: Store, clock: FixedClock
) -> None:
    health = Health(clock)
    telegram = TelegramChannel(Service(sample_store, tg_config, clock), tg_config, health=health)
    await telegram.start()
    try:
        port = int(fake.url.rsplit(":", 1)[1])
        await fake.stop()  # the Bot API goes away under a running poll
        await until(lambda: not health.is_up("telegram"), timeout=10.0)

        async with FakeTelegram(port=port) as back:
            # PTB keeps polling; the first answer (here: with an update) marks Telegram up.
            back.push_message(ALICE, "/score")
            await until(lambda: bool(back.sent_messages(ALICE)), timeout=10.0)
            assert back.sent_texts(ALICE) == [rendered("who_are_you", {})]
            assert health.is_up("telegram")
    finally:
        await telegram.stop()
