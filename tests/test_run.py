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
from contextlib import AsyncExitStack
from pathlib import Path
from urllib.parse import urlencode

import aiohttp
import pytest
from slack_sdk.signature import SignatureVerifier

from bot.commands.service import Service
from bot.config import ConfigError
from bot.outbox.errors import Sender
from bot.runtime.app import start_channels
from bot.runtime.health import Health
from bot.sample import load_sample
from bot.store import Store
from norms import load_policy
from tests.conftest import NOW, FixedClock, make_config
from tests.fakes import FakeSlack, FakeTelegram

CHAT = 4242
TEAM = "C0TEAM01"
SIGNING_SECRET = "run-signing-secret"


async def start_run(
    env: dict[str, str], cwd: Path, *, stdin: int = subprocess.DEVNULL
) -> asyncio.subprocess.Process:
    """``normwacht run`` as its own process, its output piped for the test to read."""
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "run",
        env=env,
        cwd=cwd,
        stdin=stdin,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def prepare(db: Path | str) -> None:
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
        process = await start_run(env, tmp_path)
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
                    health = await response.json()
                instance = health.pop("instance")
                assert health == {
                    "ok": True,
                    "telegram": "up",
                    "slack": "up",
                    "scheduler": "up",
                    "delivery": "up",
                    "database": "up",
                }
                # The one instance runs the schedule and polls Telegram.
                assert instance["id"].endswith(f":{process.pid}:" + instance["id"][-6:])
                assert instance["database"] == f"sqlite {db}"
                assert instance["leases"] == ["scheduler", "telegram-polling"]
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
        input="/score\n/score snel speelgoed\n/goldlabel\n/status\n/kwaliteit tuin en co\n",
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
    # Two shops bring bol.com's own verdict: its news in the week's alerts, and /kwaliteit.
    assert "Je kwaliteitsscore is gedaald van 66 naar 58" in out
    assert "🏷️ Kwaliteitsscore · Tuin & Co" in out
    assert "cijfers van bol.com, opgehaald op 2026-11-18 07:00 CET" in out
    # The samples have a database of their own, and the console's first line names it.
    demo = tmp_path / "data" / "demo.sqlite3"
    assert demo.exists() and not (tmp_path / "data" / "normwacht.sqlite3").exists()
    assert done.stderr.splitlines()[0].startswith(f"De voorbeeldwinkels zijn geladen in {demo} ")
    again = subprocess.run(
        [sys.executable, "-m", "bot", "run"],
        input="",
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=120,
        check=False,
    )
    assert again.returncode == 0, again.stderr
    assert again.stderr.splitlines()[0].startswith(f"De voorbeeldwinkels, in {demo} ")


async def test_the_samples_never_land_in_the_operators_database(
    tmp_path: Path, clock: FixedClock
) -> None:
    """Without a chat token, ``run`` opens the samples' own database: the operator's
    ``NORMWACHT_DB`` keeps its real sellers, and nothing of the samples."""
    from bot.runtime.app import prepare_store

    config = make_config(tmp_path)
    operator = await Store.open(config.db_path)
    try:
        await operator.sellers.add("mijn-winkel", "Mijn Winkel", "nl", clock())
    finally:
        await operator.close()
    for _ in range(2):  # always the same database
        store = await prepare_store(config, clock, demo=False)
        try:
            assert store.db.describe() == f"sqlite {tmp_path / 'demo.sqlite3'}"
            assert len(await store.sellers.all()) == 5
        finally:
            await store.close()
    operator = await Store.open(config.db_path)
    try:
        assert [s.id for s in await operator.sellers.all()] == ["mijn-winkel"]
    finally:
        await operator.close()


async def test_the_console_stops_on_sigterm_while_waiting_for_input(tmp_path: Path) -> None:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("TELEGRAM_", "SLACK_", "NORMWACHT_"))
    }
    env["NORMWACHT_NOW"] = NOW.isoformat()
    process = await start_run(env, tmp_path, stdin=asyncio.subprocess.PIPE)
    assert process.stdout is not None
    async with asyncio.timeout(60):
        # The week's alerts are printed first; then it waits for input that never comes.
        assert "Winkel tijdelijk gesloten" in (await process.stdout.readuntil(b"gesloten")).decode()
    await asyncio.sleep(0.5)
    process.send_signal(signal.SIGTERM)
    async with asyncio.timeout(15):
        await process.communicate()
    assert process.returncode == 0


def run_env(db: Path, port: int, telegram_url: str, slack_url: str) -> dict[str, str]:
    return {
        **os.environ,
        "NORMWACHT_DB": str(db),
        "NORMWACHT_NOW": NOW.isoformat(),  # Thursday of week 47: week 46 is due
        "NORMWACHT_QUIET_HOURS": "off",
        "NORMWACHT_HTTP_PORT": str(port),
        "TELEGRAM_BOT_TOKEN": "42:run",
        "TELEGRAM_API_URL": telegram_url,
        "SLACK_BOT_TOKEN": "xoxb-run",
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": f"{slack_url}/api/",
        "SLACK_APP_TOKEN": "",
    }


async def slash_command(port: int, text: str, slack: FakeSlack) -> int:
    """``/normwacht <text>`` in the team channel, signed as Slack does; the HTTP status."""
    body = urlencode(
        {
            "team_id": slack.team_id,
            "channel_id": TEAM,
            "channel_name": "webshops",
            "user_id": "U0MEMBER1",
            "command": "/normwacht",
            "text": text,
            "response_url": f"{slack.url}/respond",
            "trigger_id": "1.2.3",
        }
    )
    timestamp = str(int(time.time()))
    signature = SignatureVerifier(SIGNING_SECRET).generate_signature(timestamp=timestamp, body=body)
    assert signature is not None
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Slack-Request-Timestamp": timestamp,
        "X-Slack-Signature": signature,
    }
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            f"http://127.0.0.1:{port}/slack/events", data=body.encode(), headers=headers
        ) as response,
    ):
        return response.status


async def healthz(port: int) -> tuple[int, dict[str, object]]:
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"http://127.0.0.1:{port}/healthz") as response,
    ):
        return response.status, await response.json()


async def test_run_serves_slack_and_the_schedule_while_telegram_is_down(tmp_path: Path) -> None:
    """Started during a Telegram outage: Slack is served and the week's check delivered to
    it, /healthz says Telegram is down, and Telegram's message waits in the outbox until
    the Bot API is back on its port."""
    db = tmp_path / "run.sqlite3"
    await prepare(db)
    store = await Store.open(db)
    try:
        team = await store.chats.get_or_create("slack", TEAM, language="en", now=NOW)
        await store.chats.link(team.id, "snel-speelgoed", "test", NOW)
    finally:
        await store.close()
    port, telegram_port = free_port(), free_port()  # nothing listens on Telegram's port
    async with FakeSlack() as slack:
        env = run_env(db, port, f"http://127.0.0.1:{telegram_port}", slack.url)
        process = await start_run(env, tmp_path)
        try:
            # The schedule ran its catch-up, and Slack got the week's alert.
            await until(lambda: bool(slack.posted_messages(TEAM)))
            assert "Snel Speelgoed" in slack.posted_texts(TEAM)[0]
            status, states = await healthz(port)
            states.pop("instance")
            assert status == 200
            assert states == {
                "ok": True,
                "telegram": f"down since {NOW.isoformat(timespec='seconds')}",
                "slack": "up",
                "scheduler": "up",
                "delivery": "up",
                "database": "up",
            }
            # Slack commands are answered meanwhile.
            assert await slash_command(port, "help", slack) == 200
            await until(lambda: len(slack.posted_messages(TEAM)) >= 2)
            # Telegram's alert waits, not a single attempt spent on it.
            conn = sqlite3.connect(db)
            try:
                waiting = conn.execute(
                    "SELECT o.state, o.attempts FROM outbox o JOIN chats c ON c.id = o.chat_id "
                    "WHERE c.platform = 'telegram' AND o.kind = 'alerts'"
                ).fetchall()
            finally:
                conn.close()
            assert waiting == [("pending", 0)]

            # The Bot API comes back where the bot looks for it: the backlog goes out.
            async with FakeTelegram(port=telegram_port) as telegram:
                await until(lambda: bool(telegram.sent_messages(CHAT)), timeout=60.0)
                assert "tijdelijk gesloten" in telegram.sent_texts(CHAT)[0]
                await until(lambda: bool(telegram.calls_to("getUpdates")))
                assert (await healthz(port))[1]["telegram"] == "up"
                telegram.push_message(CHAT, "/status")
                await until(lambda: len(telegram.sent_messages(CHAT)) >= 2)
                process.send_signal(signal.SIGTERM)
                async with asyncio.timeout(15):
                    _, err = await process.communicate()
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()
    log = err.decode()
    assert process.returncode == 0, log
    assert "Traceback" not in log
    # One line when Telegram went down, one when it came back; not one per retry.
    assert log.count("telegram: unreachable") == 1, log
    assert log.count("telegram: reachable again") == 1, log
    conn = sqlite3.connect(db)
    try:
        states = conn.execute(
            "SELECT c.platform, o.state, o.attempts FROM outbox o "
            "JOIN chats c ON c.id = o.chat_id WHERE o.kind = 'alerts' ORDER BY c.platform"
        ).fetchall()
    finally:
        conn.close()
    assert states == [("slack", "sent", 1), ("telegram", "sent", 1)]


async def test_slack_down_at_start_is_reconnected_while_telegram_serves(
    tmp_path: Path, sample_store: Store, clock: FixedClock
) -> None:
    slack_port = free_port()  # nothing listens there yet
    async with FakeTelegram() as telegram:
        config = make_config(
            tmp_path,
            NORMWACHT_HTTP_PORT=str(free_port()),
            TELEGRAM_BOT_TOKEN="42:run",
            TELEGRAM_API_URL=telegram.url,
            SLACK_BOT_TOKEN="xoxb-run",
            SLACK_SIGNING_SECRET=SIGNING_SECRET,
            SLACK_API_URL=f"http://127.0.0.1:{slack_port}/api/",
        )
        health = Health(clock)
        senders: dict[str, Sender] = {}
        async with AsyncExitStack() as stack:
            names = await start_channels(
                stack,
                Service(sample_store, config, clock),
                config,
                senders,
                asyncio.Event(),
                health,
            )
            assert names == ["telegram", "slack"] and set(senders) == {"telegram", "slack"}
            assert health.states() == {
                "telegram": "up",
                "slack": f"down since {NOW.isoformat(timespec='seconds')}",
            }
            telegram.push_message(CHAT, "/help")
            await until(lambda: bool(telegram.sent_messages(CHAT)))
            async with FakeSlack(port=slack_port) as slack:
                await until(lambda: health.is_up("slack"), timeout=10.0)
                assert slack.calls_to("auth.test")


async def test_a_taken_http_port_is_a_configuration_error(
    tmp_path: Path, sample_store: Store, clock: FixedClock
) -> None:
    with socket.socket() as taken:
        taken.bind(("0.0.0.0", 0))
        taken.listen()
        port = taken.getsockname()[1]
        config = make_config(
            tmp_path,
            NORMWACHT_HTTP_PORT=str(port),
            SLACK_BOT_TOKEN="xoxb-run",
            SLACK_SIGNING_SECRET=SIGNING_SECRET,
            SLACK_API_URL="http://127.0.0.1:9/api/",
        )
        async with AsyncExitStack() as stack:
            with pytest.raises(
                ConfigError, match=f"NORMWACHT_HTTP_PORT: cannot listen on port {port}"
            ):
                await start_channels(
                    stack, Service(sample_store, config, clock), config, {}, asyncio.Event()
                )


@pytest.mark.parametrize(
    ("env", "demo", "sample", "banner"),
    [
        ({}, False, True, True),
        ({"TELEGRAM_BOT_TOKEN": "123:abc"}, False, False, False),
        (
            {"SLACK_BOT_TOKEN": "xoxb-run", "SLACK_SIGNING_SECRET": SIGNING_SECRET},
            False,
            False,
            False,
        ),
        ({"TELEGRAM_BOT_TOKEN": "123:abc"}, True, True, False),
    ],
)
async def test_only_the_console_or_the_demo_starts_on_the_sample_shops(
    tmp_path: Path,
    clock: FixedClock,
    capsys: pytest.CaptureFixture[str],
    env: dict[str, str],
    demo: bool,
    sample: bool,
    banner: bool,
) -> None:
    """A bot configured for a chat platform starts on an empty database as it is: the
    operator imports the real sellers. The console's banner is for the console alone."""
    from bot.runtime.app import prepare_store

    store = await prepare_store(make_config(tmp_path, **env), clock, demo=demo)
    try:
        assert bool(await store.sellers.all()) is sample
    finally:
        await store.close()
    assert ("boekenhoek" in capsys.readouterr().err) is banner


@pytest.mark.parametrize(
    ("language", "banner"),
    [
        ("nl", "De voorbeeldwinkels zijn geladen in "),
        ("en", "Loaded the sample shops into "),
        ("fr", "Boutiques d'exemple chargées dans "),
    ],
)
async def test_the_consoles_first_line_speaks_the_chats_language(
    tmp_path: Path,
    clock: FixedClock,
    capsys: pytest.CaptureFixture[str],
    language: str,
    banner: str,
) -> None:
    from bot.runtime.app import prepare_store

    config = make_config(tmp_path, NORMWACHT_LANGUAGE=language)
    store = await prepare_store(config, clock, demo=False)
    await store.close()
    said = capsys.readouterr().err.splitlines()
    assert [line for line in said if line.startswith(banner) and "/help" in line], said


@pytest.mark.parametrize(
    ("setting", "right"),
    [
        ("TELEGRAM_BOT_TOKEN", {"SLACK_BOT_TOKEN": "xoxb-right", "SLACK_APP_TOKEN": ""}),
        ("SLACK_BOT_TOKEN", {"TELEGRAM_BOT_TOKEN": "42:right", "SLACK_APP_TOKEN": ""}),
        ("SLACK_APP_TOKEN", {"TELEGRAM_BOT_TOKEN": "42:right", "SLACK_BOT_TOKEN": "xoxb-right"}),
    ],
)
async def test_a_credential_the_platform_refuses_stops_run_naming_the_setting(
    tmp_path: Path, setting: str, right: dict[str, str]
) -> None:
    """With Telegram and Slack both configured, the one line names which token was
    refused (exit 2), and never the token itself."""
    db = tmp_path / "run.sqlite3"
    await prepare(db)
    wrong = {
        "TELEGRAM_BOT_TOKEN": "42:Wr0ngT0kenXYZ",
        "SLACK_BOT_TOKEN": "xoxb-Wr0ngT0kenXYZ",
        "SLACK_APP_TOKEN": "xapp-Wr0ngT0kenXYZ",
    }[setting]
    async with (
        FakeTelegram(token="42:right") as telegram,
        FakeSlack(token="xoxb-right", app_token="xapp-right") as slack,
    ):
        env = {
            **run_env(db, free_port(), telegram.url, slack.url),
            **right,
            setting: wrong,
        }
        process = await start_run(env, tmp_path)
        try:
            async with asyncio.timeout(60):
                out, err = await process.communicate()
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()
    text = err.decode()
    assert process.returncode == 2, text
    assert text.splitlines()[-1].startswith(f"normwacht: {setting}: "), text
    assert "refused" in text.splitlines()[-1]
    assert "Traceback" not in text
    assert "Wr0ngT0kenXYZ" not in text + out.decode()


async def test_deliver_names_a_refused_telegram_token_too(tmp_path: Path) -> None:
    db = tmp_path / "run.sqlite3"
    await prepare(db)
    async with FakeTelegram(token="42:right") as telegram, FakeSlack() as slack:
        env = {
            **run_env(db, free_port(), telegram.url, slack.url),
            "TELEGRAM_BOT_TOKEN": "42:Wr0ngT0kenXYZ",
            "SLACK_BOT_TOKEN": "",
        }
        done = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "deliver",
            env=env,
            cwd=tmp_path,
            stdin=subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        async with asyncio.timeout(60):
            out, err = await done.communicate()
        url = telegram.url
    assert done.returncode == 2, err.decode()
    assert err.decode().splitlines() == [
        f"normwacht: TELEGRAM_BOT_TOKEN: Telegram (TELEGRAM_API_URL={url}) does not "
        "accept this token (refused at start); set the right one and start again"
    ]
    assert b"Wr0ngT0kenXYZ" not in out + err
