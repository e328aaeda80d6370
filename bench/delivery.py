"""Deliver 3,000 messages to a fake Telegram that enforces 30 messages/s overall and
1/s per chat; report the achieved rate as a ratio of the limit (goal ≥ 0.95) and the
number of 429s (goal 0).

    python -m bench.delivery [--messages N] [--chats N]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

from telegram import Bot

from bot.channels.telegram.sender import TelegramSender
from bot.config import load_config
from bot.outbox.worker import DeliveryWorker
from bot.store import PlannedMessage, Store
from tests.conftest import NOW, FixedClock
from tests.fakes import FakeTelegram

LIMIT_PER_S = 30


async def run(messages: int, chats: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        config = load_config(
            env={"NORMWACHT_DB": str(Path(tmp) / "b.sqlite3"), "NORMWACHT_QUIET_HOURS": "off"},
            dotenv=None,
        )
        clock = FixedClock(NOW)
        store = await Store.open(config.db_path)
        try:
            ids = [
                (
                    await store.chats.get_or_create(
                        "telegram", str(10_000 + c), language="nl", now=NOW
                    )
                ).id
                for c in range(chats)
            ]
            await store.outbox.plan(
                [
                    PlannedMessage(
                        dedup_key=f"bench:{i}",
                        chat_id=ids[i % chats],
                        seller_id=None,
                        week=None,
                        kind="bench",
                        sections=(),
                        urgent=False,
                        body={"text": f"message {i}", "blocks": None, "parse_mode": None},
                        template="bench",
                    )
                    for i in range(messages)
                ],
                NOW,
            )
            async with FakeTelegram() as fake:
                fake.enforce_limits(global_per_s=LIMIT_PER_S, per_chat_per_s=1)
                bot = Bot(
                    "1:bench", base_url=f"{fake.url}/bot", base_file_url=f"{fake.url}/file/bot"
                )
                async with bot:
                    worker = DeliveryWorker(store, {"telegram": TelegramSender(bot)}, config, clock)
                    start = time.perf_counter()
                    sent = 0
                    while sent < messages:
                        sent += await worker.run_once()
                        clock.advance(seconds=60)  # let any retry come due
                    elapsed = time.perf_counter() - start
                rejected = fake.rejected_429
        finally:
            await store.close()
    rate = messages / elapsed
    print(f"delivered {messages:,} messages to {chats} chats in {elapsed:.1f} s")
    print(
        f"rate {rate:.2f}/s = {rate / LIMIT_PER_S:.3f} of the {LIMIT_PER_S}/s limit (goal >= 0.95)"
    )
    print(f"429 answers: {rejected} (goal 0)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=3000)
    parser.add_argument("--chats", type=int, default=300)
    args = parser.parse_args()
    asyncio.run(run(args.messages, args.chats))


if __name__ == "__main__":
    main()
