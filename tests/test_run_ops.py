"""``normwacht run`` as an operator runs it in production: ``/metrics``, logs at a chosen
level and as JSON, the listener's address, ``/healthz`` and ``/metrics`` on an admin
address apart from the public webhook port."""

from __future__ import annotations

import asyncio
import json
import re
import signal
import socket
import sqlite3
from datetime import datetime, timedelta
from pathlib import Path

import aiohttp
import pytest

from bot.config import ConfigError
from bot.exposition import WAITING_REASONS
from bot.store import PlannedMessage, Store
from tests.conftest import NOW
from tests.fakes import FakeSlack, FakeTelegram
from tests.test_run import CHAT, TEAM, free_port, prepare, run_env, start_run, until


async def get(url: str) -> tuple[int, str]:
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        return response.status, await response.text()


def sample(metrics: str, name: str, **labels: str) -> float | None:
    """The value of one sample of a Prometheus text exposition (None: not there)."""
    wanted = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    for line in metrics.splitlines():
        if line.startswith("#"):
            continue
        key, _, value = line.rpartition(" ")
        metric, _, rest = key.partition("{")
        got = ",".join(sorted(re.findall(r'\w+="[^"]*"', rest)))
        if metric == name and got == wanted:
            return float(value)
    return None


async def stop(process: asyncio.subprocess.Process) -> str:
    if process.returncode is None:
        process.send_signal(signal.SIGTERM)
    async with asyncio.timeout(15):
        _, err = await process.communicate()
    return err.decode()


async def test_metrics_count_what_was_planned_sent_and_rate_limited(tmp_path: Path) -> None:
    """Telegram answers the week's alert with a 429 (the pinned clock never reaches its
    retry), Slack takes its copy: /metrics says so, from the process and the database."""
    db = tmp_path / "run.sqlite3"
    await prepare(db)
    store = await Store.open(db)
    try:
        team = await store.chats.get_or_create("slack", TEAM, language="en", now=NOW)
        await store.chats.link(team.id, "snel-speelgoed", "test", NOW)
    finally:
        await store.close()
    port = free_port()
    async with FakeTelegram() as telegram, FakeSlack() as slack:
        telegram.fail_next("sendMessage", 429, retry_after=30)
        env = {**run_env(db, port, telegram.url, slack.url), "NORMWACHT_LOG_LEVEL": "WARNING"}
        process = await start_run(env, tmp_path)
        try:
            await until(lambda: bool(slack.posted_messages(TEAM)))
            await until(lambda: bool(telegram.calls_to("sendMessage")))
            metrics = ""

            async def scraped() -> bool:
                nonlocal metrics
                status, metrics = await get(f"http://127.0.0.1:{port}/metrics")
                assert status == 200
                # Both answers recorded in the database, not only counted.
                return (
                    sample(metrics, "normwacht_outbox_messages", platform="slack", state="sent")
                    == sample(
                        metrics, "normwacht_outbox_messages", platform="telegram", state="failed"
                    )
                    == 1.0
                )

            for _ in range(100):
                if await scraped():
                    break
                await asyncio.sleep(0.1)
            # From the process: what it planned, sent, and the 429 it got.
            assert sample(metrics, "normwacht_rate_limited_total", service="telegram") == 1.0
            assert sample(metrics, "normwacht_messages_planned_total", kind="alerts") == 2.0
            assert sample(metrics, "normwacht_messages_sent_total", platform="slack") == 1.0
            assert (sample(metrics, "normwacht_check_duration_seconds_count") or 0) >= 1
            # From the database at the scrape: the outbox per platform and state, and why
            # a message waits.
            assert sample(metrics, "normwacht_database_up") == 1.0
            assert (
                sample(metrics, "normwacht_outbox_messages", platform="slack", state="sent") == 1.0
            )
            assert (
                sample(metrics, "normwacht_outbox_messages", platform="telegram", state="failed")
                == 1.0
            )
            waiting = {
                reason: sample(
                    metrics, "normwacht_outbox_waiting_messages", platform="telegram", reason=reason
                )
                for reason in WAITING_REASONS
            }
            assert waiting == {r: 1.0 if r == "retry after 429" else 0.0 for r in WAITING_REASONS}
            holders = [
                line
                for line in metrics.splitlines()
                if line.startswith("normwacht_lease_holder{") and 'lease="scheduler"' in line
            ]
            assert len(holders) == 1 and f":{process.pid}:" in holders[0]
            assert sample(metrics, "normwacht_instances") == 1.0
            assert sample(metrics, "normwacht_up", part="slack") == 1.0
            # /healthz is on the same listener when no admin address is set.
            assert (await get(f"http://127.0.0.1:{port}/healthz"))[0] == 200
        finally:
            log = await stop(process)
    assert process.returncode == 0, log
    # NORMWACHT_LOG_LEVEL=WARNING: the INFO lines of a start are not written.
    assert " INFO " not in log and "serving telegram" not in log


async def test_admin_address_json_logs_and_an_ipv6_listener(tmp_path: Path) -> None:
    db = tmp_path / "run.sqlite3"
    await prepare(db)
    # A message sent two years ago: past NORMWACHT_KEEP_DAYS (400), the start deletes it.
    store = await Store.open(db)
    try:
        long_ago = NOW - timedelta(days=730)
        chat = await store.chats.get_or_create("telegram", str(CHAT), language="nl", now=NOW)
        await store.outbox.plan(
            [
                PlannedMessage(
                    "old", chat.id, None, "2024-W47", "digest", (), False, {"text": "x"}, "d"
                )
            ],
            long_ago,
        )
        [item] = await store.outbox.claim_due(long_ago, 10)
        await store.outbox.mark_sent(item.id, long_ago, None)
    finally:
        await store.close()
    port, admin = free_port(), free_port()
    async with FakeTelegram() as telegram, FakeSlack() as slack:
        env = {
            **run_env(db, port, telegram.url, slack.url),
            "NORMWACHT_HTTP_HOST": "::1",
            "NORMWACHT_ADMIN_ADDRESS": f"127.0.0.1:{admin}",
            "NORMWACHT_LOG_FORMAT": "json",
            "NORMWACHT_LOG_LEVEL": "debug",
        }
        process = await start_run(env, tmp_path)
        try:
            await until(lambda: bool(telegram.sent_messages(CHAT)))
            # The public port, on IPv6, receives webhooks only.
            assert (await get(f"http://[::1]:{port}/healthz"))[0] == 404
            assert (await get(f"http://[::1]:{port}/metrics"))[0] == 404
            async with (
                aiohttp.ClientSession() as session,
                session.post(f"http://[::1]:{port}/slack/events", data="x") as response,
            ):
                assert response.status == 401  # there, but unsigned
            # The admin address serves both.
            status, body = await get(f"http://127.0.0.1:{admin}/healthz")
            assert status == 200 and json.loads(body)["ok"] is True
            status, metrics = await get(f"http://127.0.0.1:{admin}/metrics")
            assert status == 200
            assert sample(metrics, "normwacht_database_up") == 1.0
        finally:
            log = await stop(process)
    assert process.returncode == 0, log
    lines = [json.loads(line) for line in log.splitlines()]
    assert lines and all(set(line) >= {"time", "level", "logger", "message"} for line in lines)
    # Each time with its offset (the configured zone, Amsterdam: +01:00 in November).
    for line in lines:
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d", line["time"])
        assert datetime.fromisoformat(line["time"]).utcoffset() is not None
    assert any(line["level"] == "DEBUG" for line in lines)
    assert any("/healthz and /metrics on 127.0.0.1" in line["message"] for line in lines)
    for secret in ("42:run", "xoxb-run", "run-signing-secret"):
        assert secret not in log
    # The daily retention ran on start: the old message is gone, this week's stays.
    assert any(
        line["message"].startswith("retention: deleted 1 message(s) sent before 2025-10-15")
        for line in lines
    )
    conn = sqlite3.connect(db)
    try:
        assert conn.execute("SELECT week, state FROM outbox").fetchall() == [("2026-W46", "sent")]
    finally:
        conn.close()


async def test_with_an_admin_address_and_no_webhook_the_public_port_stays_closed() -> None:
    from bot.runtime.http import HttpServer

    port, admin = free_port(), free_port()
    http = HttpServer(port, "127.0.0.1", admin=("127.0.0.1", admin))
    await http.start()
    try:
        assert (await get(f"http://127.0.0.1:{admin}/healthz"))[0] == 200
        assert (await get(f"http://127.0.0.1:{admin}/metrics"))[0] == 404  # nothing measures
        try:
            await get(f"http://127.0.0.1:{port}/healthz")
        except aiohttp.ClientConnectorError:
            pass
        else:
            raise AssertionError("the public port answered")
    finally:
        await http.stop()
    # An admin address that cannot be had is named like any other bad setting.
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy = HttpServer(port, "127.0.0.1", admin=("127.0.0.1", taken.getsockname()[1]))
        with pytest.raises(ConfigError, match=r"^NORMWACHT_ADMIN_ADDRESS: cannot listen on 127"):
            await busy.start()
        assert not busy.running
