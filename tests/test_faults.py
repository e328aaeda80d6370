"""The faults a lease cannot see, tried on real ``normwacht run`` processes, a real
PostgreSQL server and the fake Telegram: an instance frozen past its lease, the database
stopped mid-delivery, a graceful stop mid-delivery. Every message arrives, and none twice
(beyond a send that was literally in flight)."""

from __future__ import annotations

import asyncio
import signal
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.store import Store
from tests.conftest import running_cluster
from tests.fakes import FakeTelegram
from tests.postgres import Cluster
from tests.test_instances import _until_up, instance_env, outbox_states, plan_many, stop
from tests.test_run import CHAT, free_port, healthz, prepare, start_run, until

LEASE_S = 2.0
# The outage outlasts this lease period by far; delivery must resume within one of the
# database's return.
OUTAGE_LEASE_S = 4.0
# Warnings go out at this pace, so that a fault meets them mid-way.
RATE = "5"


def fault_env(database: str, telegram: FakeTelegram, port: int, **extra: str) -> dict[str, str]:
    return {
        **instance_env(database, telegram, port),
        "NORMWACHT_TELEGRAM_RATE": RATE,
        "NORMWACHT_LEASE_SECONDS": str(LEASE_S),
        **extra,
    }


async def claimer_pid(database: str) -> int | None:
    """The pid of the instance holding claimed messages (ids are ``host:pid:tag``)."""
    store = await Store.open(database)
    try:
        row = await store.db.fetchone(
            "SELECT claimed_by FROM outbox WHERE state = 'sending' AND claimed_by IS NOT NULL"
        )
    finally:
        await store.close()
    return int(row[0].split(":")[1]) if row is not None else None


def duplicates(telegram: FakeTelegram) -> int:
    return sum(n - 1 for n in Counter(telegram.sent_texts()).values())


@pytest.mark.parametrize("engine", ["postgresql"], indirect=True)
async def test_a_frozen_instance_that_wakes_sends_nothing_the_other_took_over(
    database: str, tmp_path: Path
) -> None:
    texts = await plan_many(database, 30, chats=30)
    async with FakeTelegram() as telegram:
        ports = [free_port(), free_port()]
        first = await start_run(fault_env(database, telegram, ports[0]), tmp_path)
        second: asyncio.subprocess.Process | None = None
        try:
            await _until_up(ports[0])
            # The first instance claimed the whole batch and is sending it.
            await until(lambda: len(telegram.sent_messages()) >= 3, timeout=30)
            assert await claimer_pid(database) == first.pid
            second = await start_run(fault_env(database, telegram, ports[1]), tmp_path)
            await _until_up(ports[1])
            # Frozen (a VM pause, a long GC) for well over a lease period, its claims in hand.
            first.send_signal(signal.SIGSTOP)
            frozen_at = len(telegram.sent_messages())
            # The other takes the claims over and delivers everything.
            await until(lambda: set(telegram.sent_texts()) >= texts, timeout=60)
            assert len(telegram.sent_messages()) > frozen_at
            await asyncio.sleep(max(0.0, 4 * LEASE_S - 1))
            first.send_signal(signal.SIGCONT)
            # Time for the woken instance to do whatever it would do.
            await asyncio.sleep(3 * LEASE_S)
        finally:
            if first.returncode is None:
                first.send_signal(signal.SIGCONT)
            errors = [await stop(first)] + ([await stop(second)] if second else [])
    assert set(telegram.sent_texts()) == texts
    # At most the send that was in flight when it froze goes twice.
    assert duplicates(telegram) <= 1, Counter(telegram.sent_texts()).most_common(3)
    assert await outbox_states(database) == {"sent": 30}
    for process, err in zip([first, second], errors, strict=True):
        assert process is not None and process.returncode == 0, err.decode()
    assert b"its leases may have lapsed" in errors[0]


@pytest.fixture(scope="module")
def own_cluster() -> Iterator[Cluster]:
    """A PostgreSQL server of this module's own: the tests stop and start it."""
    yield from running_cluster()


@pytest.mark.parametrize("instances", [1, 2])
async def test_a_database_outage_mid_delivery_loses_nothing_and_repeats_nothing(
    own_cluster: Cluster, tmp_path: Path, instances: int
) -> None:
    database = await own_cluster.new_database()
    texts = await plan_many(database, 30, chats=30)
    async with FakeTelegram() as telegram:
        port = free_port()
        lease = {"NORMWACHT_LEASE_SECONDS": str(OUTAGE_LEASE_S)}
        process = await start_run(fault_env(database, telegram, port, **lease), tmp_path)
        others = [
            await start_run(fault_env(database, telegram, free_port(), **lease), tmp_path)
            for _ in range(instances - 1)
        ]
        try:
            await _until_up(port)
            await until(lambda: len(telegram.sent_messages()) >= 5, timeout=30)
            # The server goes away for longer than a lease period, messages in hand.
            await asyncio.to_thread(own_cluster.halt)
            down_since = time.monotonic()
            status, state = await healthz(port)
            assert status == 503 and str(state["database"]).startswith("down since")
            await asyncio.sleep(max(0.0, 10.0 - (time.monotonic() - down_since)))
            assert [p.returncode for p in [process, *others]] == [None] * instances
            during = len(telegram.sent_messages())
            await asyncio.to_thread(own_cluster.resume)
            back_at = time.monotonic()
            # Delivery resumes within a lease period of the database's return.
            await until(lambda: len(telegram.sent_messages()) > during, timeout=30)
            resumed_after = time.monotonic() - back_at
            await until(lambda: set(telegram.sent_texts()) >= texts, timeout=60)
            status, state = await healthz(port)
            assert (status, state["database"]) == (200, "up")
            await asyncio.sleep(2 * LEASE_S)  # time for a duplicate to show, were there one
        finally:
            err = await stop(process)
            errors = [await stop(other) for other in others]
    assert process.returncode == 0, err.decode()
    for other, other_err in zip(others, errors, strict=True):
        assert other.returncode == 0, other_err.decode()
    assert set(telegram.sent_texts()) == texts
    assert duplicates(telegram) == 0, Counter(telegram.sent_texts()).most_common(3)
    assert resumed_after < OUTAGE_LEASE_S, resumed_after
    assert await outbox_states(database) == {"sent": 30}
    await own_cluster.drop_database(database)


async def test_a_check_that_meets_a_database_outage_is_done_once_the_database_is_back(
    own_cluster: Cluster, tmp_path: Path
) -> None:
    from bot.config import load_config
    from bot.notices.owed_work import check_week
    from bot.sample import load_sample
    from norms import IsoWeek, load_policy
    from tests.conftest import NOW

    database = await own_cluster.new_database()
    store = await Store.open(database)
    try:
        await load_sample(store, load_policy("verbetertraject-24w"), NOW)
        chat = await store.chats.get_or_create("telegram", "4242", language="nl", now=NOW)
        await store.chats.link(chat.id, "snel-speelgoed", "test", NOW)
        config = load_config(env={"NORMWACHT_DB": database}, dotenv=None)
        week = IsoWeek.parse("2026-W46")
        await asyncio.to_thread(own_cluster.halt)
        back = asyncio.create_task(asyncio.sleep(3.0))
        back.add_done_callback(lambda _: own_cluster.resume())
        # The scheduled job's way: met by the outage, it runs again once the server answers.
        outcome = await store.db.patiently(
            lambda: check_week(store, config, week, now=NOW), limit_s=60
        )
        await back
        assert outcome.planned >= 1
        again = await check_week(store, config, week, now=NOW)
        assert again.planned == 0  # nothing twice
        assert await store.owed.any() is False
        planned = await store.db.fetchall(
            "SELECT kind FROM outbox WHERE seller_id = 'snel-speelgoed'"
        )
        assert [r["kind"] for r in planned] == ["alerts"]
    finally:
        await store.close()
    await own_cluster.drop_database(database)


@pytest.mark.parametrize("engine", ["sqlite", "postgresql"], indirect=True)
async def test_a_graceful_stop_mid_delivery_then_a_new_start_loses_nothing_and_repeats_nothing(
    database: str, tmp_path: Path
) -> None:
    texts = await plan_many(database, 30, chats=30)
    async with FakeTelegram() as telegram:
        port = free_port()
        process = await start_run(fault_env(database, telegram, port), tmp_path)
        try:
            await _until_up(port)
            await until(lambda: len(telegram.sent_messages()) >= 5, timeout=30)
            process.send_signal(signal.SIGTERM)
            async with asyncio.timeout(30):
                _, err = await process.communicate()
        finally:
            if process.returncode is None:
                process.kill()
        assert process.returncode == 0, err.decode()
        assert b"Traceback" not in err, err.decode()
        counts = await outbox_states(database)
        assert "sending" not in counts  # every claim recorded or given back
        # Nothing went twice: what the first process sent is recorded as sent.
        assert counts.get("sent", 0) == len(telegram.sent_messages())
        again = await start_run(fault_env(database, telegram, free_port()), tmp_path)
        try:
            await until(lambda: set(telegram.sent_texts()) >= texts, timeout=60)
        finally:
            err = await stop(again)
    assert again.returncode == 0, err.decode()
    assert duplicates(telegram) == 0, Counter(telegram.sent_texts()).most_common(3)
    assert await outbox_states(database) == {"sent": 30}


async def test_a_command_sent_during_a_database_outage_is_answered_once_it_is_back(
    own_cluster: Cluster, tmp_path: Path
) -> None:
    database = await own_cluster.new_database()
    await prepare(database)  # a chat linked to a sample shop
    async with FakeTelegram() as telegram:
        port = free_port()
        process = await start_run(fault_env(database, telegram, port), tmp_path)
        try:
            await _until_up(port)
            await until(lambda: bool(telegram.sent_texts(CHAT)), timeout=30)  # week 46's alert
            await asyncio.sleep(1.0)
            before = len(telegram.sent_messages(CHAT))
            await asyncio.to_thread(own_cluster.halt)
            telegram.push_message(CHAT, "/status")
            await asyncio.sleep(3.0)
            assert len(telegram.sent_messages(CHAT)) == before  # it waits for the database
            await asyncio.to_thread(own_cluster.resume)
            await until(lambda: len(telegram.sent_messages(CHAT)) > before, timeout=30)
            assert "Status" in telegram.sent_texts(CHAT)[-1]
        finally:
            err = await stop(process)
    assert process.returncode == 0, err.decode()
    await own_cluster.drop_database(database)
