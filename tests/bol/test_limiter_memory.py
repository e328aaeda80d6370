"""The process's limiters stay as many as the clients being paced: a limiter a new one
would replace as it is (nothing in its window, its spacing or a block) is forgotten, one
that still paces or was taught a smaller budget is kept."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

import bot.bol.limits
from bot.bol.limits import ClientLimiter, Limiters, RequestBudget

URL = "https://api.bol.com"
BUDGET = RequestBudget(requests=2, window_s=60.0)


class Clock:
    """The limiters' clock, moved by hand (the event loop keeps the real one)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def monotonic(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    clock = Clock()
    monkeypatch.setattr(bot.bol.limits, "time", SimpleNamespace(monotonic=clock.monotonic))
    return clock


async def test_a_limiter_is_idle_only_once_its_window_has_passed(clock: Clock) -> None:
    limiter = ClientLimiter(2, 60.0, 30.0)
    assert limiter.idle(clock.now)
    async with limiter.slot():
        assert not limiter.idle(clock.now)
    assert not limiter.idle(clock.now)  # its answer is in the window
    clock.now += 59.0
    assert not limiter.idle(clock.now)
    clock.now += 1.0
    assert limiter.idle(clock.now)
    limiter.block(5.0)
    assert not limiter.idle(clock.now)
    assert limiter.idle(clock.now + 5.0)


async def test_a_limiter_taught_a_smaller_budget_is_not_idle(clock: Clock) -> None:
    limiter = ClientLimiter(20, 60.0, 3.0)
    limiter.observe({"x-ratelimit-limit": "10"})
    assert not limiter.idle(clock.now + 3600.0)


async def test_idle_limiters_are_forgotten_and_pacing_ones_kept(clock: Clock) -> None:
    limiters = Limiters()
    busy = limiters.for_client(URL, "busy", BUDGET)
    async with busy.slot():
        pass
    taught = limiters.for_client(URL, "taught", BUDGET)
    taught.observe({"x-ratelimit-limit": "1"})
    for n in range(5 * Limiters.SWEEP_FROM):
        limiters.for_client(URL, f"client-{n}", BUDGET)
    assert limiters.kept <= 2 * Limiters.SWEEP_FROM
    # Whatever still paces is the same limiter for its client: bol.com counts per client.
    assert limiters.for_client(URL, "busy", BUDGET) is busy
    assert limiters.for_client(URL, "taught", BUDGET) is taught
    clock.now += 60.0
    for n in range(5 * Limiters.SWEEP_FROM):
        limiters.for_client(URL, f"other-{n}", BUDGET)
    assert limiters.for_client(URL, "busy", BUDGET) is not busy
    assert limiters.for_client(URL, "taught", BUDGET) is taught
