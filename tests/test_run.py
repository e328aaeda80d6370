"""``normwacht run`` as an operator starts it: channels, scheduler and delivery in one
process, catching up on start, and a clean stop on SIGTERM."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import aiohttp

from bot.sample import load_sample
from bot.store import Store
from norms import load_policy
from tests.conftest import NOW
from tests.fakes import FakeSlack, FakeTelegram

CHAT = 4242


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def prepare(db: Path) -> None:
    """A database whose seller was linked to a Telegram chat while the bot was down."""
    store = await Store.open(db)
    try:
        await load_sample(store, load_policy("verbetertraject-24w"), NOW)
        chat = await store.chats.get_or_create("telegram", str(CHAT), language="nl", now=NOW)
        await store.chats.link(chat.id, "snel-speelgoed", "test", NOW)
    finally:
        await store.close()


async def until(check, timeout: float = 20.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.02)


async def test_run_serves_telegram_and_slack_and_stops_cleanly(tmp_path: Path) -> None:
    db = tmp_path / "run.sqlite3"
    await prepare(db)
    port = free_port()
    async with FakeTelegram() as telegram, FakeSlack() as slack:
        env = {
            **os.environ,
            "NORMWACHT_DB": str(db),
            "NORMWACHT_NOW": NOW.isoformat(),  # Thursday of week 47: week 46 is due
            "NORMWACHT_QUIET_HOURS": "off",
            "NORMWACHT_HTTP_PORT": str(port),
            "TELEGRAM_BOT_TOKEN": "42:run",
            "TELEGRAM_API_URL": telegram.url,
            "SLACK_BOT_TOKEN": "xoxb-run",
            "SLACK_SIGNING_SECRET": "run-signing-secret",
            "SLACK_API_URL": f"{slack.url}/api/",
            "SLACK_APP_TOKEN": "",
        }
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "run",
            env=env,
            cwd=tmp_path,
            stdin=subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            # The check missed while down runs at start, and its alert is delivered.
            await until(lambda: bool(telegram.sent_messages(CHAT)))
            assert "Snel Speelgoed" in telegram.sent_texts(CHAT)[0]
            assert "tijdelijk gesloten" in telegram.sent_texts(CHAT)[0]
            # Telegram is polled; Slack answers on the shared HTTP port.
            await until(lambda: bool(telegram.calls_to("getUpdates")))
            assert slack.calls_to("auth.test")
            async with aiohttp.ClientSession() as session:
                async with session.get(f"http://127.0.0.1:{port}/healthz") as response:
                    assert await response.json() == {"ok": True}
                async with session.post(
                    f"http://127.0.0.1:{port}/slack/events", data="x"
                ) as response:
                    assert response.status == 401  # unsigned
            telegram.push_message(CHAT, "/status")
            await until(lambda: len(telegram.sent_messages(CHAT)) >= 2)
            assert "Status" in telegram.sent_texts(CHAT)[1]
        finally:
            if process.returncode is None:
                process.send_signal(signal.SIGTERM)
            async with asyncio.timeout(15):
                _, err = await process.communicate()
    assert process.returncode == 0, err.decode()
    assert b"Traceback" not in err
    for secret in (b"42:run", b"xoxb-run", b"run-signing-secret"):
        assert secret not in err  # the log names no token, not even inside URLs
    # Nothing half-written: the one alert is recorded as sent, the check as done.
    conn = sqlite3.connect(db)
    try:
        assert conn.execute("SELECT state FROM outbox WHERE kind = 'alerts'").fetchall() == [
            ("sent",)
        ]
        assert conn.execute("SELECT run_key FROM job_runs WHERE job = 'check'").fetchall() == [
            ("2026-W46",)
        ]
    finally:
        conn.close()


def test_make_run_answers_on_the_console_with_the_sample(tmp_path: Path) -> None:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("TELEGRAM_", "SLACK_", "NORMWACHT_"))
    }
    env["NORMWACHT_NOW"] = NOW.isoformat()
    done = subprocess.run(
        [sys.executable, "-m", "bot", "run"],
        input="/score\n/score snel speelgoed\n/goldlabel\n/status\n",
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    out = done.stdout
    # The week's alerts first, then the answers, in Dutch with real numbers: the five
    # shops at a glance, one in full by its name.
    assert "Winkel tijdelijk gesloten · Snel Speelgoed" in out
    assert "📊 Prestatiescores · 5 verkopers" in out
    assert "Prestatiescores · Snel Speelgoed" in out and "92,98%" in out
    assert "Gouden label · Zonnig Wonen" in out
    assert "🧭 Status · 5 verkopers" in out and "stap 5 van 7" in out
    assert (tmp_path / "data" / "normwacht.sqlite3").exists()


async def test_the_console_stops_on_sigterm_while_waiting_for_input(tmp_path: Path) -> None:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("TELEGRAM_", "SLACK_", "NORMWACHT_"))
    }
    env["NORMWACHT_NOW"] = NOW.isoformat()
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "run",
        env=env,
        cwd=tmp_path,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert process.stdout is not None
    async with asyncio.timeout(60):
        # The week's alerts are printed first; then it waits for input that never comes.
        assert "Winkel tijdelijk gesloten" in (await process.stdout.readuntil(b"gesloten")).decode()
    await asyncio.sleep(0.5)
    process.send_signal(signal.SIGTERM)
    async with asyncio.timeout(15):
        await process.communicate()
    assert process.returncode == 0
