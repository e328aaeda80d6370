"""Fair serving: the flood budget per chat and the queues that keep one chat's order."""

from __future__ import annotations

import asyncio

import pytest

from bot.channels.telegram.fair import Admission, ChatQueues, FloodBudget


class Ticks:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_the_budget_answers_warns_once_and_is_silent_until_full_again() -> None:
    ticks = Ticks()
    budget = FloodBudget(per_minute=3, now=ticks)

    seen = [budget.admit("a") for _ in range(6)]

    assert seen == [Admission.ANSWER] * 3 + [Admission.WARN] + [Admission.IGNORE] * 2
    assert budget.admit("b") is Admission.ANSWER  # every chat has its own budget
    ticks.now += 59.0  # not yet full: still silent, and no second warning
    assert budget.admit("a") is Admission.IGNORE
    ticks.now += 1.0
    assert budget.admit("a") is Admission.ANSWER


def test_a_steady_pace_within_the_budget_is_always_answered() -> None:
    ticks = Ticks()
    budget = FloodBudget(per_minute=20, now=ticks)
    for _ in range(200):
        assert budget.admit("a") is Admission.ANSWER
        ticks.now += 3.0


def test_a_budget_needs_at_least_one_update() -> None:
    with pytest.raises(ValueError):
        FloodBudget(per_minute=0)


async def test_queues_keep_each_chat_s_order_and_serve_waiting_chats_in_turn() -> None:
    queues = ChatQueues(workers=1)
    done: list[str] = []

    async def job(name: str) -> None:
        await asyncio.sleep(0)
        done.append(name)

    for n in range(3):
        queues.put("flood", job(f"flood{n}"))
    queues.put("other", job("other"))
    queues.start()
    await queues.drain(5.0)

    # One worker: the waiting chat's turn comes after one of the flooder's, not all three.
    assert done == ["flood0", "other", "flood1", "flood2"]
    assert queues.in_hand == 0
    await queues.stop()


async def test_a_failing_job_does_not_stop_its_chat_or_the_worker() -> None:
    queues = ChatQueues(workers=2)
    done: list[str] = []

    async def boom() -> None:
        raise RuntimeError("broken")

    async def job(name: str) -> None:
        done.append(name)

    queues.start()
    queues.put("a", boom())
    queues.put("a", job("a2"))
    await queues.drain(5.0)
    assert done == ["a2"]
    await queues.stop()


async def test_stop_closes_work_that_never_ran() -> None:
    queues = ChatQueues(workers=1)
    gate = asyncio.Event()
    ran: list[str] = []

    async def blocked() -> None:
        await gate.wait()

    async def later() -> None:
        ran.append("later")

    queues.start()
    queues.put("a", blocked())
    queues.put("a", later())
    await queues.drain(0.01)  # gives up: the first job is still waiting
    assert queues.in_hand == 2
    await queues.stop()  # no "coroutine was never awaited" warning (warnings are errors)
    assert ran == [] and queues.in_hand == 0


async def test_queues_serve_again_after_a_stop() -> None:
    queues = ChatQueues(workers=1)
    gate = asyncio.Event()
    done: list[str] = []

    async def blocked() -> None:
        await gate.wait()

    async def job(name: str) -> None:
        done.append(name)

    queues.start()
    queues.put("a", blocked())
    queues.put("b", job("lost"))
    await queues.drain(0.01)
    await queues.stop()  # what a failed connect does before it is tried again

    queues.start()
    queues.put("c", job("c"))
    await queues.drain(5.0)
    assert done == ["c"]
    await queues.stop()
