"""Processes sharing a database: leases with one holder, claims that never overlap, and
what a dead process held passing to a living one."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from bot.config import Config
from bot.runtime.instance import SCHEDULER, Instance
from bot.store import PlannedMessage, Store
from bot.store.leases import Leases
from tests.conftest import FixedClock

pytestmark = pytest.mark.both_engines

PERIOD = 0.6


@pytest.fixture
async def other(config: Config) -> AsyncIterator[Store]:
    """A second process's store on the same database."""
    opened = await Store.open(config.database)
    try:
        yield opened
    finally:
        await opened.close()


async def plan(store: Store, clock: FixedClock, count: int) -> None:
    chat = await store.chats.get_or_create("telegram", "7001", language="nl", now=clock())
    await store.outbox.plan(
        [
            PlannedMessage(
                dedup_key=f"m:{i}",
                chat_id=chat.id,
                seller_id=None,
                week=None,
                kind="test",
                sections=(),
                urgent=False,
                body={"text": f"m {i}", "blocks": None, "parse_mode": None},
                template="test",
            )
            for i in range(count)
        ],
        clock(),
    )


async def test_a_lease_has_one_holder_until_it_expires(store: Store, other: Store) -> None:
    first, second = Leases(store.db), Leases(other.db)
    await first.register("a", FixedClock()(), "here", 1)
    await second.register("b", FixedClock()(), "here", 2)
    assert await first.renew("a", ["scheduler"], PERIOD) == {"scheduler"}
    assert await second.renew("b", ["scheduler"], PERIOD) == set()
    # Renewing keeps it; the other still cannot take it.
    assert await first.renew("a", ["scheduler"], PERIOD) == {"scheduler"}
    assert await second.renew("b", ["scheduler", "polling"], PERIOD) == {"polling"}
    assert await first.holders() == {"polling": "b", "scheduler": "a"}
    # "a" stops renewing (it died): once the period is over, "b" takes the lease.
    await asyncio.sleep(PERIOD * 1.5)
    assert await second.renew("b", ["scheduler", "polling"], PERIOD) == {"scheduler", "polling"}
    assert await first.renew("a", ["scheduler"], PERIOD) == set()


async def test_a_stopping_instance_lets_its_leases_go_at_once(
    store: Store, other: Store, clock: FixedClock
) -> None:
    first = Instance(store, clock, period_s=30)
    second = Instance(other, clock, period_s=30)
    gained: list[str] = []

    async def took() -> None:
        gained.append(second.id)

    first.want(SCHEDULER)
    second.want(SCHEDULER, on_gain=took)
    await first.start()
    await second.start()
    assert first.holds(SCHEDULER) and not second.holds(SCHEDULER)
    await first.stop()
    await second.renew()
    assert second.holds(SCHEDULER)
    await asyncio.sleep(0)  # the callback runs beside the renewals
    assert gained == [second.id]
    assert second.describe()["leases"] == [SCHEDULER]
    await second.stop()


async def test_claims_made_at_once_never_share_a_message(
    store: Store, other: Store, clock: FixedClock
) -> None:
    await plan(store, clock, 300)
    claims = await asyncio.gather(
        *(
            (store if i % 2 else other).outbox.claim_due(clock(), 25, by=f"p{i % 2}")
            for i in range(16)
        )
    )
    ids = [item.id for claim in claims for item in claim]
    assert len(ids) == len(set(ids)) == 300


async def test_a_dead_claimers_messages_go_back_and_a_living_ones_stay(
    store: Store, other: Store, clock: FixedClock
) -> None:
    await plan(store, clock, 10)
    alive, dead = Leases(store.db), Leases(other.db)
    await alive.register("alive", clock(), "here", 1)
    await dead.register("dead", clock(), "here", 2)
    assert len(await store.outbox.claim_due(clock(), 4, by="alive")) == 4
    assert len(await other.outbox.claim_due(clock(), 4, by="dead")) == 4
    # Both renewed just now: nothing goes back.
    assert await store.outbox.recover_inflight(alive_within_s=PERIOD) == 0
    await asyncio.sleep(PERIOD * 1.5)
    await alive.renew("alive", [], PERIOD)  # "dead" renews no more
    assert await store.outbox.recover_inflight(alive_within_s=PERIOD) == 4
    again = await store.outbox.claim_due(clock(), 10, by="alive")
    assert len(again) == 6  # the 2 never claimed and the dead one's 4
    counts = await store.outbox.counts()
    assert counts == {"sending": 10}


async def test_a_killed_process_of_this_machine_is_known_dead_at_once(
    store: Store, other: Store, clock: FixedClock
) -> None:
    """No lease period to wait for a crash on this machine: its pid is gone."""
    import subprocess
    import sys

    from bot.runtime.instance import process_namespace

    await plan(store, clock, 3)
    gone = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    )
    dead_pid = int(gone.stdout)
    await Leases(other.db).register("killed", clock(), process_namespace(), dead_pid)
    assert len(await other.outbox.claim_due(clock(), 3, by="killed")) == 3
    survivor = Instance(store, clock, period_s=30)
    await survivor.start()
    try:
        assert await store.outbox.recover_inflight(alive_within_s=30) == 3
    finally:
        await survivor.stop()


async def test_a_database_that_stops_answering_takes_the_instance_out_of_service(
    config: Config, clock: FixedClock
) -> None:
    """``/healthz`` is 503 while the renewals fail: a load balancer stops sending there."""
    import aiohttp

    from bot.runtime.health import Health
    from bot.runtime.http import HttpServer

    store = await Store.open(config.database)
    health = Health(clock)
    instance = Instance(store, clock, period_s=30, health=health)
    health.instance = instance.describe
    http = HttpServer(0, "127.0.0.1", health=health)
    await instance.start()
    await http.start()
    url = f"http://127.0.0.1:{http.port}/healthz"
    try:
        async with aiohttp.ClientSession() as session:
            async with session.get(url) as response:
                assert response.status == 200
                assert (await response.json())["database"] == "up"
            await store.close()  # the database is gone for this process
            await instance.renew()
            async with session.get(url) as response:
                assert response.status == 503
                state = await response.json()
        assert state["ok"] is False
        assert state["database"].startswith("down since")
    finally:
        await http.stop()
        await instance.stop()
