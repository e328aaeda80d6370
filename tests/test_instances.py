"""Several ``normwacht run`` processes on one PostgreSQL database and one Telegram bot:
every message goes out once, one instance runs the schedule and polls, and when it is
killed the other takes both over and finishes the week."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections import Counter
from pathlib import Path

import pytest

from bot.store import Store
from tests.bot.test_delivery import plan
from tests.conftest import NOW, FixedClock
from tests.fakes import FakeTelegram
from tests.test_run import CHAT, free_port, healthz, prepare, start_run, until

pytestmark = pytest.mark.parametrize("engine", ["postgresql"], indirect=True)

LEASE_S = 2.0


def instance_env(database: str, telegram: FakeTelegram, port: int) -> dict[str, str]:
    return {
        **os.environ,
        "NORMWACHT_DB": database,
        "NORMWACHT_NOW": NOW.isoformat(),  # Thursday of week 47: week 46 is due
        "NORMWACHT_QUIET_HOURS": "off",
        "NORMWACHT_HTTP_PORT": str(port),
        "NORMWACHT_LEASE_SECONDS": str(LEASE_S),
        "NORMWACHT_TELEGRAM_RATE": "60",
        "NORMWACHT_CHAT_INTERVAL": "0.1",
        "TELEGRAM_BOT_TOKEN": "42:instances",
        "TELEGRAM_API_URL": telegram.url,
        "SLACK_BOT_TOKEN": "",
    }


async def plan_many(database: str, count: int, chats: int) -> set[str]:
    """``count`` messages spread over ``chats`` Telegram chats; returns their texts."""
    store = await Store.open(database)
    try:
        await plan(store, FixedClock(), count, chats=chats, prefix="bericht")
    finally:
        await store.close()
    return {f"bericht {i}" for i in range(count)}


async def outbox_states(database: str) -> dict[str, int]:
    store = await Store.open(database)
    try:
        return await store.outbox.counts()
    finally:
        await store.close()


async def leases_of(port: int) -> list[str]:
    _, state = await healthz(port)
    instance = state["instance"]
    assert isinstance(instance, dict)
    return list(instance["leases"])


async def stop(process: asyncio.subprocess.Process) -> bytes:
    """SIGTERM, and what the process said; one that does not stop in time is killed and
    the test fails with its last words."""
    if process.returncode is None:
        process.send_signal(signal.SIGTERM)
    try:
        async with asyncio.timeout(40):
            _, err = await process.communicate()
    except TimeoutError:
        process.kill()
        _, err = await process.communicate()
        raise AssertionError(f"did not stop on SIGTERM:\n{err.decode()[-6000:]}") from None
    return err


async def test_two_instances_deliver_every_planned_message_exactly_once(
    database: str, tmp_path: Path
) -> None:
    async with FakeTelegram() as telegram:
        ports = [free_port(), free_port()]
        processes = [
            await start_run(instance_env(database, telegram, port), tmp_path) for port in ports
        ]
        errors: list[bytes] = []
        try:
            for port in ports:
                await _until_up(port)
            await asyncio.sleep(LEASE_S / 2)  # both have renewed their leases once
            # One instance holds the schedule and the polling; the other neither.
            held = sorted([await leases_of(port) for port in ports], key=len)
            assert held == [[], ["scheduler", "telegram-polling"]]
            texts = await plan_many(database, 400, chats=40)
            await until(lambda: len(telegram.sent_messages()) >= 400, timeout=60)
            await asyncio.sleep(LEASE_S)  # time for a duplicate to show, were there one
        finally:
            for process in processes:
                errors.append(await stop(process))
    sent = Counter(telegram.sent_texts())
    assert set(sent) == texts
    assert [text for text, n in sent.items() if n > 1] == []
    assert await outbox_states(database) == {"sent": 400}
    for process, err in zip(processes, errors, strict=True):
        assert process.returncode == 0, err.decode()
        assert b"Traceback" not in err, err.decode()
    # Both shared the sending: each claimed some of the messages.
    store = await Store.open(database)
    try:
        claimers = await store.db.fetchall("SELECT DISTINCT claimed_by FROM outbox")
    finally:
        await store.close()
    assert len(claimers) == 2


async def _until_up(port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            status, state = await healthz(port)
            if status == 200 and "instance" in state:
                return
        except OSError:
            pass
        assert time.monotonic() < deadline, f"instance on port {port} did not come up"
        await asyncio.sleep(0.05)


async def test_killing_the_lease_holder_hands_schedule_polling_and_sending_to_the_other(
    database: str, tmp_path: Path
) -> None:
    await prepare(database)  # week 46's check, due at start, alerts one chat
    texts = await plan_many(database, 200, chats=20)
    async with FakeTelegram() as telegram:
        first_port, second_port = free_port(), free_port()
        first = await start_run(instance_env(database, telegram, first_port), tmp_path)
        second: asyncio.subprocess.Process | None = None
        try:
            await _until_up(first_port)
            started = time.monotonic()
            while await leases_of(first_port) != ["scheduler", "telegram-polling"]:
                assert time.monotonic() - started < 30, "the first instance took no leases"
                await asyncio.sleep(0.05)
            second = await start_run(instance_env(database, telegram, second_port), tmp_path)
            await _until_up(second_port)
            assert await leases_of(second_port) == []
            # Killed mid-work: the week's check may be half done, messages in flight.
            first.kill()
            await first.wait()
            killed_at = time.monotonic()
            while await leases_of(second_port) != ["scheduler", "telegram-polling"]:
                assert time.monotonic() - killed_at < 2 * LEASE_S, "no takeover in time"
                await asyncio.sleep(0.05)
            # The survivor finishes the week's check and sends everything planned.
            await until(lambda: bool(telegram.sent_texts(CHAT)), timeout=60)
            await until(lambda: texts <= set(telegram.sent_texts()), timeout=60)
            alerts = [t for t in telegram.sent_texts(CHAT) if "tijdelijk gesloten" in t]
            # It polls Telegram now: a command is answered.
            before = len(telegram.sent_messages(CHAT))
            telegram.push_message(CHAT, "/status")
            await until(lambda: len(telegram.sent_messages(CHAT)) > before, timeout=30)
        finally:
            if first.returncode is None:
                first.kill()
            err = await stop(second) if second is not None else b""
    assert second is not None and second.returncode == 0, err.decode()
    assert b"Traceback" not in err
    assert err.count(b"telegram: polling as") == 1
    sent = Counter(telegram.sent_texts())
    # Only what was in flight at the kill may have gone twice (at most one claimed batch).
    assert sum(n - 1 for n in sent.values()) <= 50
    assert len(alerts) in (1, 2)  # twice only if it was in flight at the kill
    store = await Store.open(database)
    try:
        assert await store.owed.any() is False
        checked = await store.db.fetchall("SELECT run_key FROM job_runs WHERE job = 'check'")
        assert [r["run_key"] for r in checked] == ["2026-W46"]
        counts = await store.outbox.counts()
        assert set(counts) == {"sent"}
    finally:
        await store.close()


async def test_in_webhook_mode_every_instance_receives_and_none_polls(
    database: str, tmp_path: Path
) -> None:
    import hashlib

    import aiohttp

    await prepare(database)  # week 46's check, due at start, alerts one chat
    async with FakeTelegram() as telegram:
        ports = [free_port(), free_port()]
        processes = [
            await start_run(
                {
                    **instance_env(database, telegram, port),
                    "NORMWACHT_WEBHOOK_URL": "https://bot.example.com/",
                },
                tmp_path,
            )
            for port in ports
        ]
        try:
            for port in ports:
                await _until_up(port)
            await asyncio.sleep(LEASE_S / 2)
            held = sorted([await leases_of(port) for port in ports], key=len)
            assert held == [[], ["scheduler"]]  # no polling lease: nobody polls
            digest = hashlib.sha256(b"normwacht-webhook:42:instances").hexdigest()
            headers = {"X-Telegram-Bot-Api-Secret-Token": digest[32:]}
            async with aiohttp.ClientSession() as session:
                # A load balancer may hand each update to either instance: both answer.
                for port in ports:
                    update = telegram.push_message(CHAT, "/help")
                    before = len(telegram.sent_messages(CHAT))
                    async with session.post(
                        f"http://127.0.0.1:{port}/telegram/{digest[:32]}",
                        json=update,
                        headers=headers,
                    ) as response:
                        assert response.status == 200
                    await until(
                        lambda before=before: any(
                            "/score" in t for t in telegram.sent_texts(CHAT)[before:]
                        ),
                        timeout=30,
                    )
            assert not telegram.calls_to("getUpdates")
        finally:
            errors = [await stop(process) for process in processes]
    for process, err in zip(processes, errors, strict=True):
        assert process.returncode == 0, err.decode()
