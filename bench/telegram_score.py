"""200 chats send ``/score`` at once through the fake Bot API.

Reports p50 and p99 from update (pushed to the fake) to reply (the bot's sendMessage
reaching the fake), for Normwacht and for a bare python-telegram-bot echo bot measured on
the same fake in the same run. Goal: Normwacht's p99 at most 2x the echo bot's.

    python -m bench.telegram_score [--chats N] [--rounds R]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import tempfile
import time
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from telegram import Update
from telegram.ext import Application, ContextTypes, MessageHandler, filters

from bot.channels.telegram.adapter import TelegramChannel
from bot.commands.service import Service
from bot.config import Config, load_config
from bot.sample import load_sample
from bot.store import Store
from tests.fakes.telegram import FakeTelegram

NOW = datetime(2026, 11, 19, 9, 0, tzinfo=UTC)  # Thursday of 2026-W47, as in the tests
FIRST_CHAT = 10_000
WARM_UP_CHATS = 5
REPLY_TIMEOUT_S = 30.0
ECHO = "echo bot (bare PTB)"
ECHO_CONCURRENT = "echo bot (concurrent)"
NORMWACHT = "normwacht /score"

Running = Callable[[], AbstractAsyncContextManager[None]]


async def burst(fake: FakeTelegram, chats: list[int], text: str) -> list[float]:
    """Push ``text`` from every chat at once; each chat's seconds until its first reply."""
    start_call = len(fake.calls)
    pushed: dict[int, float] = {}
    for chat_id in chats:
        pushed[chat_id] = time.monotonic()
        fake.push_message(chat_id, text)
    answered: dict[int, float] = {}
    deadline = time.monotonic() + REPLY_TIMEOUT_S
    seen = start_call
    while len(answered) < len(chats):
        if time.monotonic() > deadline:
            raise TimeoutError(f"{len(chats) - len(answered)} chats got no reply")
        await asyncio.sleep(0.002)
        for call in fake.calls[seen:]:
            to = call.params.get("chat_id")
            if call.method == "sendMessage" and to in pushed and to not in answered:
                answered[to] = call.at - pushed[to]
        seen = len(fake.calls)
    return [answered[c] for c in chats]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.effective_message
    if message is not None and message.text is not None:
        await message.reply_text(message.text)


def echo_bot(fake: FakeTelegram, *, concurrent: bool) -> Running:
    @asynccontextmanager
    async def running() -> Any:
        builder = (
            Application.builder()
            .token("1:ECHO")
            .base_url(f"{fake.url}/bot")
            .base_file_url(f"{fake.url}/file/bot")
            .job_queue(None)
        )
        if concurrent:
            builder = builder.concurrent_updates(True)
        app = builder.build()
        app.add_handler(MessageHandler(filters.TEXT, echo))
        async with app:
            await app.start()
            assert app.updater is not None
            await app.updater.start_polling()
            try:
                yield
            finally:
                await app.updater.stop()
                await app.stop()

    return running


async def normwacht_store(folder: Path, fake: FakeTelegram, chats: list[int]) -> Config:
    config = load_config(
        env={
            "NORMWACHT_DB": str(folder / "bench.sqlite3"),
            "NORMWACHT_QUIET_HOURS": "off",
            "TELEGRAM_BOT_TOKEN": "2:NORMWACHT",
            "TELEGRAM_API_URL": fake.url,
        },
        dotenv=None,
    )
    store = await Store.open(config.db_path)
    try:
        sellers = await load_sample(store, config.policy, NOW)
        for n, chat_id in enumerate(chats):
            chat = await store.chats.get_or_create(
                "telegram", str(chat_id), language="nl" if n % 2 else "en", now=NOW
            )
            await store.chats.link(chat.id, sellers[n % len(sellers)], "bench", NOW)
    finally:
        await store.close()
    return config


def normwacht_bot(config: Config) -> Running:
    @asynccontextmanager
    async def running() -> Any:
        store = await Store.open(config.db_path)
        channel = TelegramChannel(Service(store, config, lambda: NOW), config)
        try:
            await channel.start()
            yield
        finally:
            await channel.stop()
            await store.close()

    return running


async def measure(fake: FakeTelegram, running: Running, chats: list[int]) -> list[float]:
    """One round: start the bot, warm it up, one burst from every chat, stop it."""
    async with running():
        await burst(fake, chats[:WARM_UP_CHATS], "/score")  # first render, first connections
        return await burst(fake, chats, "/score")


async def compare(chats_n: int, rounds: int) -> None:
    logging.basicConfig(level=logging.WARNING)
    chats = list(range(FIRST_CHAT, FIRST_CHAT + chats_n))
    with tempfile.TemporaryDirectory(prefix="normwacht-bench-") as folder:
        async with FakeTelegram() as fake:
            config = await normwacht_store(Path(folder), fake, chats)
            bots: dict[str, Running] = {
                ECHO: echo_bot(fake, concurrent=False),
                ECHO_CONCURRENT: echo_bot(fake, concurrent=True),
                NORMWACHT: normwacht_bot(config),
            }
            results: dict[str, list[float]] = {name: [] for name in bots}
            # Rounds alternate between the bots so a busy machine slows them alike.
            for _ in range(rounds):
                for name, running in bots.items():
                    results[name] += await measure(fake, running, chats)
    print(f"{chats_n} chats send /score at once, {rounds} rounds; update -> reply latency")
    print(f"{'':24} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}")
    for name, values in results.items():
        p50, p99 = percentile(values, 50) * 1000, percentile(values, 99) * 1000
        print(f"{name:24} {p50:8.1f} {p99:8.1f} {max(values) * 1000:8.1f}")
    ours = percentile(results[NORMWACHT], 99)
    for baseline in (ECHO, ECHO_CONCURRENT):
        ratio = ours / percentile(results[baseline], 99)
        verdict = "ok" if ratio <= 2 else "over the goal of 2x"
        print(f"p99 normwacht / {baseline}: {ratio:.2f}x ({verdict})")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Telegram /score latency against an echo bot")
    parser.add_argument("--chats", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    asyncio.run(compare(args.chats, args.rounds))


if __name__ == "__main__":
    main()
