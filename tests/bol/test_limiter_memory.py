"""The process's limiters stay as many as the clients being paced: a limiter a new one
would replace as it is (nothing in its window, its spacing or a block) is forgotten, one
that still paces or was taught a smaller budget is kept."""

from __future__ import annotations

import asyncio
import time

from bot.bol.limits import ClientLimiter, Limiters, RequestBudget

URL = "https://api.bol.com"
# A window short enough to pass within a test.
SHORT = RequestBudget(requests=2, window_s=0.05)


async def test_a_limiter_is_idle_only_once_its_window_has_passed() -> None:
    limiter = ClientLimiter(2, 0.05, 0.02)
    assert limiter.idle(time.monotonic())
    async with limiter.slot():
        assert not limiter.idle(time.monotonic())
    assert not limiter.idle(time.monotonic())  # its answer is in the window
    await asyncio.sleep(0.06)
    assert limiter.idle(time.monotonic())
    limiter.block(0.05)
    assert not limiter.idle(time.monotonic())


async def test_a_limiter_taught_a_smaller_budget_is_not_idle() -> None:
    limiter = ClientLimiter(20, 0.05, 0.0025)
    limiter.observe({"x-ratelimit-limit": "10"})
    await asyncio.sleep(0.01)
    assert not limiter.idle(time.monotonic())


async def test_idle_limiters_are_forgotten_and_pacing_ones_kept() -> None:
    limiters = Limiters()
    busy = limiters.for_client(URL, "busy", SHORT)
    async with busy.slot():
        pass
    taught = limiters.for_client(URL, "taught", SHORT)
    taught.observe({"x-ratelimit-limit": "1"})
    for n in range(5 * Limiters.SWEEP_FROM):
        limiters.for_client(URL, f"client-{n}", SHORT)
    assert limiters.kept <= 2 * Limiters.SWEEP_FROM
    # Whatever still paces is the same limiter for its client: bol.com counts per client.
    assert limiters.for_client(URL, "busy", SHORT) is busy
    assert limiters.for_client(URL, "taught", SHORT) is taught
    await asyncio.sleep(0.06)
    for n in range(5 * Limiters.SWEEP_FROM):
        limiters.for_client(URL, f"other-{n}", SHORT)
    assert limiters.for_client(URL, "busy", SHORT) is not busy
