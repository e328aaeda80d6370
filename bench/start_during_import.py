"""``/start CODE`` answered while another process imports ~16 MB.

The real bot (PTB against the fake Bot API) serves new chats linking with a code, one every
50 ms: first alone (the baseline), then while a real ``normwacht import`` of a 16 MB CSV
runs in another process on the same database. Reports update -> reply latency (p50, p99,
max) of both phases, their ratio, and updates that got no answer.

    python -m bench.start_during_import [--sellers N]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
import tempfile
import time
from pathlib import Path

from bench.import_check import write_csv
from bench.telegram_score import NOW, percentile
from bot.channels.telegram.adapter import TelegramChannel
from bot.commands.service import Service
from bot.config import load_config
from bot.sample import load_sample
from bot.store import Store
from tests.fakes.telegram import FakeTelegram

EVERY_S = 0.05
BASELINE_S = 3.0
REPLY_TIMEOUT_S = 120.0


class Linking:
    """New chats sending ``/start CODE``; when each was answered."""

    def __init__(self, fake: FakeTelegram, codes: list[str]) -> None:
        self.fake = fake
        self.codes = codes
        self.pushed: dict[int, float] = {}
        self.answered: dict[int, float] = {}
        self._seen = 0

    def push(self) -> int:
        chat_id = 20_000 + len(self.pushed)
        self.pushed[chat_id] = time.monotonic()
        self.fake.push_message(chat_id, f"/start {self.codes[len(self.pushed) - 1]}")
        return chat_id

    def collect(self) -> None:
        for call in self.fake.calls[self._seen :]:
            to = call.params.get("chat_id")
            if call.method == "sendMessage" and to in self.pushed and to not in self.answered:
                self.answered[to] = call.at - self.pushed[to]
        self._seen = len(self.fake.calls)

    async def while_running(
        self, running: asyncio.Future[object] | None, seconds: float
    ) -> list[int]:
        chats: list[int] = []
        deadline = time.monotonic() + seconds
        while (running is not None and not running.done()) or (
            running is None and time.monotonic() < deadline
        ):
            chats.append(self.push())
            await asyncio.sleep(EVERY_S)
            self.collect()
        return chats

    async def replies(self, chats: list[int]) -> list[float]:
        deadline = time.monotonic() + REPLY_TIMEOUT_S
        while any(c not in self.answered for c in chats) and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
            self.collect()
        return [self.answered[c] for c in chats if c in self.answered]


def line(name: str, values: list[float], sent: int) -> str:
    p50, p99 = percentile(values, 50) * 1000, percentile(values, 99) * 1000
    return f"{name:22} {p50:8.1f} {p99:8.1f} {max(values) * 1000:8.1f} {len(values):>6}/{sent:<6}"


async def measure(folder: Path, sellers: int) -> None:
    logging.basicConfig(level=logging.ERROR)
    data = folder / "big.csv"
    write_csv(data, sellers)
    async with FakeTelegram() as fake:
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
            await load_sample(store, config.policy, NOW)
            codes = [await store.chats.create_link_code("boekenhoek", NOW) for _ in range(2000)]
            channel = TelegramChannel(Service(store, config, lambda: NOW), config)
            await channel.start()
            try:
                linking = Linking(fake, codes)
                alone = await linking.replies(await linking.while_running(None, BASELINE_S))
                alone_sent = len(linking.pushed)
                env = {**os.environ, "NORMWACHT_DB": str(config.db_path), "TELEGRAM_BOT_TOKEN": ""}
                env["NORMWACHT_NOW"] = NOW.isoformat()
                started = time.monotonic()
                process = await asyncio.create_subprocess_exec(
                    sys.executable,
                    "-m",
                    "bot",
                    "import",
                    str(data),
                    "--create-sellers",
                    env=env,
                    stdout=asyncio.subprocess.DEVNULL,
                    stderr=asyncio.subprocess.PIPE,
                )
                importing = asyncio.ensure_future(process.communicate())
                chats = await linking.while_running(importing, 0)
                _, err = await importing
                took = time.monotonic() - started
                during = await linking.replies(chats)
                assert process.returncode == 0, err.decode()
            finally:
                await channel.stop()
        finally:
            await store.close()
    size = data.stat().st_size / 1024 / 1024 if data.exists() else 0
    print(f"/start CODE from a new chat every {EVERY_S * 1000:.0f} ms; update -> reply latency")
    print(f"{'':22} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} {'answered':>13}")
    print(line("alone", alone, alone_sent))
    print(line(f"during a {size:.0f} MiB import", during, len(chats)))
    print(f"the import took {took:.1f} s in another process")
    print(
        f"p99 during / alone: {percentile(during, 99) / percentile(alone, 99):.1f}x; "
        f"unanswered: {len(chats) - len(during)}"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sellers", type=int, default=50_000)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="normwacht-bench-") as folder:
        asyncio.run(measure(Path(folder), args.sellers))


if __name__ == "__main__":
    main()
