"""One stranger floods the bot with ``/start`` guesses while linked chats ask ``/help``.

The flooder sends ``--flood`` updates, ``--rate`` a second; meanwhile each linked chat in
turn asks ``/help`` and waits for the answer. Every Bot API call of the fake takes
``--latency`` seconds (a round trip to Telegram from Europe is 30-100 ms; 0 measures the
bot's own work alone, where the machine's noise weighs most).

Reports p50 and p99 of the linked chats' update -> reply latency without a flood (the
baseline, measured in the same run) and under it: with the flood budget (the default, 20
a minute), and with the budget lifted so that only the per-chat queues keep the flooder's
backlog away from the others. Goal: under a flood, the others' p99 at most 2x the baseline.

    python -m bench.flood [--chats N] [--flood F] [--rate R] [--latency S] [--rounds N]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import tempfile
import time
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from bench.telegram_score import NOW, burst, normwacht_store, percentile
from bot.channels.telegram.adapter import TelegramChannel
from bot.channels.telegram.fair import FloodBudget
from bot.commands.service import Service
from bot.config import Config
from bot.store import Store
from tests.fakes.telegram import FakeTelegram

FIRST_CHAT = 20_000
FLOODER = 666
SETTLE_TIMEOUT_S = 120.0
QUIET = "no flood"
BUDGET = "flood, budget 20/min"
QUEUES = "flood, no budget"


@asynccontextmanager
async def running(config: Config, budget: FloodBudget) -> Any:
    store = await Store.open(config.db_path)
    channel = TelegramChannel(Service(store, config, lambda: NOW), config, budget=budget)
    try:
        await channel.start()
        yield channel
    finally:
        await channel.stop()
        await store.close()


async def settle(fake: FakeTelegram, channel: TelegramChannel) -> None:
    """Wait until every update was fetched and answered, so rounds do not overlap."""
    deadline = time.monotonic() + SETTLE_TIMEOUT_S
    while fake._pending or channel.processor.current_concurrent_updates:
        if time.monotonic() > deadline:
            raise TimeoutError("the bot did not work through the flood")
        await asyncio.sleep(0.01)


async def flood_from(fake: FakeTelegram, count: int, rate: float) -> None:
    """One chat sends ``count`` link-code guesses, ``rate`` a second."""
    for n in range(count):
        fake.push_message(FLOODER, f"/start GUESS{n:04d}")
        await asyncio.sleep(1.0 / rate)


async def measure(
    fake: FakeTelegram,
    config: Config,
    chats: list[int],
    flood: tuple[int, float],
    budget: FloodBudget | None,
) -> list[float]:
    """One round: start the bot, warm it up, then each chat in turn asks ``/help`` (while
    one chat floods, when ``budget`` is given)."""
    async with running(config, budget or FloodBudget(per_minute=1_000_000)) as channel:
        await burst(fake, chats[:5], "/help")
        flooding = asyncio.create_task(flood_from(fake, *flood)) if budget else None
        await asyncio.sleep(0.2)  # the flood is well under way
        latencies = [(await burst(fake, [chat], "/help"))[0] for chat in chats]
        if flooding is not None:
            await flooding
        await settle(fake, channel)
        return latencies


async def compare(chats_n: int, flood: tuple[int, float], latency: float, rounds: int) -> None:
    logging.basicConfig(level=logging.ERROR)
    chats = list(range(FIRST_CHAT, FIRST_CHAT + chats_n))
    results: dict[str, list[float]] = {QUIET: [], BUDGET: [], QUEUES: []}
    with tempfile.TemporaryDirectory(prefix="normwacht-bench-") as folder:
        async with FakeTelegram(latency_s=latency) as fake:
            config = await normwacht_store(Path(folder), fake, chats)
            # Rounds alternate between the cases so a busy machine slows them alike.
            for _ in range(rounds):
                results[QUIET] += await measure(fake, config, chats, flood, None)
                results[BUDGET] += await measure(fake, config, chats, flood, FloodBudget())
                results[QUEUES] += await measure(
                    fake, config, chats, flood, FloodBudget(per_minute=1_000_000)
                )
    print(
        f"{chats_n} linked chats ask /help in turn while one chat sends {flood[0]} /start "
        f"guesses, {flood[1]:g} a second; Bot API latency {latency * 1000:g} ms; {rounds} "
        "rounds; update -> reply latency"
    )
    print(f"{'':24} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}")
    for name, values in results.items():
        p50, p99 = percentile(values, 50) * 1000, percentile(values, 99) * 1000
        print(f"{name:24} {p50:8.1f} {p99:8.1f} {max(values) * 1000:8.1f}")
    baseline = percentile(results[QUIET], 99)
    for name in (BUDGET, QUEUES):
        ratio = percentile(results[name], 99) / baseline
        verdict = "ok" if ratio <= 2 else "over the goal of 2x"
        print(f"p99 {name} / {QUIET}: {ratio:.2f}x ({verdict})")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Other chats' latency under one chat's flood")
    parser.add_argument("--chats", type=int, default=50)
    parser.add_argument("--flood", type=int, default=300)
    parser.add_argument("--rate", type=float, default=100.0)
    parser.add_argument("--latency", type=float, default=0.03)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    asyncio.run(compare(args.chats, (args.flood, args.rate), args.latency, args.rounds))


if __name__ == "__main__":
    main()
