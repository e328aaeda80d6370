"""Health: each part's state and one log line per outage; Reconnector: connect, and retry
with capped backoff while the platform is unreachable."""

from __future__ import annotations

import asyncio
import logging

import pytest

from bot.runtime.health import Health, Reconnector
from tests.conftest import NOW, FixedClock


def test_states_and_one_log_line_per_outage(
    clock: FixedClock, caplog: pytest.LogCaptureFixture
) -> None:
    health = Health(clock)
    health.watch("slack")
    health.check("scheduler", lambda: True)
    back: list[str] = []
    health.on_up(back.append)
    caplog.set_level(logging.INFO, logger="normwacht")

    health.watch("telegram", where="Telegram (TELEGRAM_API_URL=http://127.0.0.1:9)")
    for _ in range(3):
        health.down("telegram", "ConnectError")
    clock.advance(minutes=5)
    health.up("telegram")
    health.up("telegram")

    assert health.is_up("telegram") and health.is_up("console")  # never watched: up
    lines = [r.getMessage() for r in caplog.records]
    assert lines == [
        "telegram: unreachable: Telegram (TELEGRAM_API_URL=http://127.0.0.1:9) did not answer"
        " (ConnectError); serving the rest and retrying",
        f"telegram: reachable again (down since {NOW.isoformat(timespec='seconds')})",
    ]
    assert back == ["telegram"]
    health.down("slack", "ClientConnectorError")
    assert health.states() == {
        "slack": f"down since {(NOW.replace(minute=5)).isoformat(timespec='seconds')}",
        "telegram": "up",
        "scheduler": "up",
    }


class Platform:
    """A platform that is unreachable for the first ``failures`` connects."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.connects = 0
        self.probes = 0
        self.probe_fails = 0

    async def connect(self) -> None:
        self.connects += 1
        if self.connects <= self.failures:
            raise ConnectionError("refused")

    async def probe(self) -> None:
        self.probes += 1
        if self.probe_fails:
            self.probe_fails -= 1
            raise ConnectionError("refused")


class Sleeps:
    """Records the backoff instead of waiting it out."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)
        await asyncio.sleep(0)


def outage(exc: BaseException) -> bool:
    return isinstance(exc, ConnectionError)


async def until(check, rounds: int = 1000) -> None:  # type: ignore[no-untyped-def]
    for _ in range(rounds):
        if check():
            return
        await asyncio.sleep(0)
    raise AssertionError("never happened")


async def test_a_platform_down_at_start_is_retried_with_capped_backoff(clock: FixedClock) -> None:
    health = Health(clock)
    platform, sleeps = Platform(failures=8), Sleeps()
    link = Reconnector(
        "telegram", health, platform.connect, platform.probe, outage, max_retry_s=60, sleep=sleeps
    )
    await link.start()  # does not raise: the rest of the bot starts
    assert not health.is_up("telegram")
    await until(lambda: health.is_up("telegram"))
    await link.stop()

    assert platform.connects == 9
    assert sleeps.delays == [1, 2, 4, 8, 16, 32, 60, 60]


async def test_a_configuration_fault_at_start_is_raised(clock: FixedClock) -> None:
    async def bad_token() -> None:
        raise PermissionError("invalid_auth")

    link = Reconnector("slack", Health(clock), bad_token, bad_token, outage)
    with pytest.raises(PermissionError):
        await link.start()


async def test_an_outage_after_start_is_probed_until_the_platform_answers(
    clock: FixedClock,
) -> None:
    health = Health(clock)
    platform, sleeps = Platform(failures=0), Sleeps()
    link = Reconnector("slack", health, platform.connect, platform.probe, outage, sleep=sleeps)
    await link.start()
    assert health.is_up("slack") and platform.connects == 1

    platform.probe_fails = 2
    health.down("slack", "a send could not connect")  # what the sender saw
    await until(lambda: health.is_up("slack"))
    await link.stop()

    assert platform.connects == 1 and platform.probes == 3
    assert sleeps.delays == [1, 2, 4]


async def test_a_fault_that_appears_during_an_outage_is_logged_once(
    clock: FixedClock, caplog: pytest.LogCaptureFixture
) -> None:
    health = Health(clock)
    sleeps = Sleeps()
    attempts: list[int] = []

    async def connect() -> None:
        attempts.append(1)
        if len(attempts) == 1:
            raise ConnectionError("refused")
        if len(attempts) < 5:
            raise PermissionError("invalid_auth")  # the token was revoked meanwhile

    link = Reconnector("slack", health, connect, connect, outage, sleep=sleeps)
    await link.start()
    await until(lambda: health.is_up("slack"))
    await link.stop()

    refused = [r.getMessage() for r in caplog.records if "slack: refused" in r.getMessage()]
    assert refused == ["slack: refused: PermissionError: invalid_auth; retrying"]


async def test_healthz_tells_what_paid_broadcasts_cost(clock: FixedClock) -> None:
    """TELEGRAM_PAID_BROADCAST=on: /healthz says so, the rate, the price, and what the
    sends so far were billed, as the pacer counted them."""
    import aiohttp

    from bot.outbox.pacing import Pacer, billing_note, telegram_limits
    from bot.runtime.http import HttpServer

    moments = iter(i * 0.001 for i in range(1000))
    pacer = Pacer(telegram_limits(30, 1.0, paid_broadcast=True), lambda: next(moments))
    health = Health(clock)
    health.note("telegram_paid_broadcasts", lambda: billing_note(pacer))
    http = HttpServer(port=0, host="127.0.0.1", health=health)
    await http.start()
    try:
        for chat in range(40):  # each send counts once it came back
            pacer.returned(str(chat), pacer.record(str(chat)))
        async with (
            aiohttp.ClientSession() as session,
            session.get(f"http://127.0.0.1:{http.port}/healthz") as response,
        ):
            body = await response.json()
    finally:
        await http.stop()
    assert body["telegram_paid_broadcasts"] == {
        "on": True,
        "per_second": 1000.0,
        "price": "0.1 Telegram Stars per message beyond the free 30 a second, "
        "from the bot's Stars balance",
        "billed_messages": 10,
        "stars_spent": 1.0,
    }
