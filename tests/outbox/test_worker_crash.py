"""``kill -9`` at any moment loses no message: a real ``normwacht deliver`` process against
the fake Bot API, killed mid-way several times, then run to the end."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import sys
from collections import Counter
from pathlib import Path

from bot.store import PlannedMessage, Store
from tests.conftest import NOW
from tests.fakes import FakeTelegram

MESSAGES = 500
CHATS = 100
KILL_AFTER = (60, 180, 320)


async def plan_messages(db: Path) -> None:
    store = await Store.open(db)
    try:
        chats = [
            await store.chats.get_or_create("telegram", str(1000 + i), language="nl", now=NOW)
            for i in range(CHATS)
        ]
        await store.outbox.plan(
            [
                PlannedMessage(
                    dedup_key=f"crash:{i}",
                    chat_id=chats[i % CHATS].id,
                    seller_id=None,
                    week=None,
                    kind="test",
                    sections=(),
                    urgent=False,
                    body={"text": f"message {i}", "blocks": None, "parse_mode": None},
                    template="test",
                )
                for i in range(MESSAGES)
            ],
            NOW,
        )
    finally:
        await store.close()


def in_flight(db: Path) -> int:
    conn = sqlite3.connect(db)
    try:
        return int(
            conn.execute("SELECT COUNT(*) FROM outbox WHERE state = 'sending'").fetchone()[0]
        )
    finally:
        conn.close()


async def test_sigkill_mid_delivery_loses_nothing(tmp_path: Path) -> None:
    db = tmp_path / "crash.sqlite3"
    await plan_messages(db)
    async with FakeTelegram(latency_s=0.002) as fake:
        env = {
            **os.environ,
            "NORMWACHT_DB": str(db),
            "TELEGRAM_BOT_TOKEN": "42:crash",
            "TELEGRAM_API_URL": fake.url,
            "NORMWACHT_QUIET_HOURS": "off",
            "NORMWACHT_TELEGRAM_RATE": "400",
            "NORMWACHT_CHAT_INTERVAL": "0.01",
            "NORMWACHT_NOW": NOW.isoformat(),
            "SLACK_BOT_TOKEN": "",
        }

        async def start() -> asyncio.subprocess.Process:
            return await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "bot",
                "deliver",
                env=env,
                cwd=tmp_path,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.PIPE,
            )

        allowed_duplicates = 0
        for threshold in KILL_AFTER:
            process = await start()
            async with asyncio.timeout(60):
                while len(fake.sent_messages()) < threshold and process.returncode is None:
                    await asyncio.sleep(0.005)
            assert process.returncode is None, "delivery ended before it could be killed"
            process.send_signal(signal.SIGKILL)
            await process.wait()
            allowed_duplicates += in_flight(db)
        process = await start()
        async with asyncio.timeout(60):
            _, err = await process.communicate()
        assert process.returncode == 0, err.decode()

    texts = Counter(m["text"] for m in fake.sent_messages())
    assert set(texts) == {f"message {i}" for i in range(MESSAGES)}
    duplicates = sum(texts.values()) - MESSAGES
    assert duplicates <= allowed_duplicates
    conn = sqlite3.connect(db)
    try:
        states = dict(conn.execute("SELECT state, COUNT(*) FROM outbox GROUP BY state").fetchall())
    finally:
        conn.close()
    assert states == {"sent": MESSAGES}
