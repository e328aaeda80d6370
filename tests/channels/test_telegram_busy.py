"""The bot keeps answering while another process writes: every ``/start CODE`` sent during
a CLI import (and a write lock held for a while) is answered once the lock is free, and
chats that only read are answered meanwhile. No update is dropped for a lock."""

from __future__ import annotations

import asyncio
import csv
import os
import sqlite3
import sys
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from bot.channels.telegram.adapter import TelegramChannel
from bot.commands.service import Service
from bot.config import Config
from bot.store import Store
from norms import INDICATORS
from tests.conftest import NOW, FixedClock, make_config
from tests.fakes.telegram import FakeTelegram

READER = 502  # follows a shop already
NEWCOMERS = (601, 602, 603, 604, 605)
BULK_SELLERS = 3000


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram() as tg:
        yield tg


@pytest.fixture
def tg_config(tmp_path: Path, fake: FakeTelegram) -> Config:
    return make_config(tmp_path, TELEGRAM_BOT_TOKEN="123:ABC", TELEGRAM_API_URL=fake.url)


@pytest.fixture
async def channel(
    tg_config: Config, sample_store: Store, clock: FixedClock
) -> AsyncIterator[TelegramChannel]:
    telegram = TelegramChannel(Service(sample_store, tg_config, clock), tg_config)
    await telegram.start()
    try:
        yield telegram
    finally:
        await telegram.stop()


async def until(check: Callable[[], bool], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "the bot did not answer in time"
        await asyncio.sleep(0.01)


def bulk_file(path: Path) -> Path:
    """A big upload: many new sellers, one week each."""
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(
            ["seller_id", "year", "week", "indicator", "numerator", "denominator", "value", "norm"]
        )
        for s in range(BULK_SELLERS):
            for indicator in INDICATORS:
                if indicator.value not in ("REVIEWS", "CASE_ITEM_RATIO", "RETURNS"):
                    w.writerow([f"bulk-{s}", 2026, 46, indicator.value, 98, 100, "", ""])
    return path


async def test_start_codes_sent_during_an_import_are_all_answered(
    fake: FakeTelegram,
    channel: TelegramChannel,
    sample_store: Store,
    tg_config: Config,
    clock: FixedClock,
    tmp_path: Path,
) -> None:
    reader = await sample_store.chats.get_or_create(
        "telegram", str(READER), language="nl", now=clock()
    )
    await sample_store.chats.link(reader.id, "snel-speelgoed", "test", clock())
    codes = [await sample_store.chats.create_link_code("boekenhoek", clock()) for _ in NEWCOMERS]
    upload = bulk_file(tmp_path / "bulk.csv")
    env = {
        **os.environ,
        "NORMWACHT_DB": str(tg_config.db_path),
        "NORMWACHT_NOW": NOW.isoformat(),
        "TELEGRAM_BOT_TOKEN": "",
    }
    # Another process's long write holds the lock while the chats come in.
    holder = sqlite3.connect(tg_config.db_path, isolation_level=None, timeout=0)
    holder.execute("BEGIN IMMEDIATE")
    importing = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "import",
        str(upload),
        "--create-sellers",
        env=env,
        cwd=tmp_path,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        for chat_id, code in zip(NEWCOMERS, codes, strict=True):
            fake.push_message(chat_id, f"/start {code}")
        # A chat that only reads is answered while the writers wait.
        fake.push_message(READER, "/score")
        await until(lambda: bool(fake.sent_messages(READER)), timeout=10)
        assert not any(fake.sent_messages(c) for c in NEWCOMERS)
    finally:
        holder.execute("COMMIT")
        holder.close()
    # Each is answered with the link's confirmation and then the seller's status.
    await until(lambda: all(len(fake.sent_messages(c)) == 2 for c in NEWCOMERS), timeout=30)
    for chat_id in NEWCOMERS:
        linked, status = fake.sent_texts(chat_id)
        assert "Gekoppeld" in linked and "Boekenhoek" in status
        chat = await sample_store.chats.find("telegram", str(chat_id))
        assert chat is not None
        assert [s.id for s in await sample_store.chats.sellers_of(chat.id)] == ["boekenhoek"]
    out, err = await asyncio.wait_for(importing.communicate(), 120)
    assert importing.returncode == 0, err.decode()
    assert f"for {BULK_SELLERS} seller(s)" in out.decode()
