"""Fair serving of chats: one queue per chat, a bounded pool that takes only chats with work,
and a flood budget per chat.

The order of one chat's updates is kept by serving each chat with at most one worker at a
time, not by making workers wait on a chat's lock: a chat with a backlog holds one worker,
and every other chat with work gets the next free one. A chat that floods is answered up to
its budget, told once to slow down, and then ignored until the budget has refilled.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import inspect
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)

# Generous for a person (a command every 3 seconds, for a minute), small for a script.
FLOOD_PER_MINUTE = 20
# Buckets that refilled are forgotten once this many chats are tracked.
_PRUNE_AT = 1024


class Admission(enum.Enum):
    """What to do with a chat's update under its flood budget."""

    ANSWER = "answer"
    WARN = "warn"  # the budget just ran out: say "slow down", once
    IGNORE = "ignore"  # after the warning, until the budget is full again


@dataclass(slots=True)
class _Bucket:
    tokens: float
    at: float
    silenced: bool = False


class FloodBudget:
    """Each chat may send ``per_minute`` updates a minute, from a bucket that refills
    steadily; the update that finds it empty gets one warning, and the chat is ignored
    until its bucket is full again. ``now`` (monotonic seconds) is injected for tests."""

    def __init__(
        self, per_minute: int = FLOOD_PER_MINUTE, now: Callable[[], float] = time.monotonic
    ) -> None:
        if per_minute < 1:
            raise ValueError("per_minute must be at least 1")
        self.capacity = float(per_minute)
        self._rate = per_minute / 60.0
        self._now = now
        self._buckets: dict[Hashable, _Bucket] = {}

    def admit(self, chat: Hashable) -> Admission:
        """Spend one update of ``chat``'s budget, and say what to do with it."""
        now = self._now()
        bucket = self._buckets.get(chat)
        if bucket is None:
            if len(self._buckets) >= _PRUNE_AT:
                self._prune(now)
            bucket = self._buckets[chat] = _Bucket(self.capacity, now)
        bucket.tokens = min(self.capacity, bucket.tokens + (now - bucket.at) * self._rate)
        bucket.at = now
        if bucket.silenced:
            if bucket.tokens < self.capacity:
                return Admission.IGNORE
            bucket.silenced = False
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return Admission.ANSWER
        bucket.silenced = True
        return Admission.WARN

    def _prune(self, now: float) -> None:
        full = [
            chat
            for chat, b in self._buckets.items()
            if b.tokens + (now - b.at) * self._rate >= self.capacity
        ]
        for chat in full:
            del self._buckets[chat]


class ChatQueues:
    """Work per chat, in arrival order, run by at most ``workers`` tasks at once. A worker
    takes the next chat that has work, runs one item, and puts the chat back at the end of
    the line if more is waiting: a chat's backlog never delays the others."""

    def __init__(self, workers: int) -> None:
        if workers < 1:
            raise ValueError("workers must be at least 1")
        self.workers = workers
        self._queues: dict[Hashable, deque[Awaitable[Any]]] = {}
        self._ready: asyncio.Queue[Hashable] = asyncio.Queue()
        self._tasks: list[asyncio.Task[None]] = []
        self._running = 0
        self._idle = asyncio.Event()
        self._idle.set()

    @property
    def in_hand(self) -> int:
        """Items queued or running."""
        return sum(len(q) for q in self._queues.values()) + self._running

    def start(self) -> None:
        """Start the workers (inside the running loop)."""
        if not self._tasks:
            self._tasks = [
                asyncio.create_task(self._work(), name=f"chat-worker-{n}")
                for n in range(self.workers)
            ]

    def put(self, chat: Hashable, work: Awaitable[Any]) -> None:
        """Queue ``work`` behind what ``chat`` already has waiting."""
        queue = self._queues.get(chat)
        if queue is None:
            queue = self._queues[chat] = deque()
            self._ready.put_nowait(chat)  # a chat with work is in line, or being served
        queue.append(work)
        self._idle.clear()

    async def drain(self, timeout: float) -> None:
        """Let the work in hand finish, for at most ``timeout`` seconds."""
        if self._tasks:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._idle.wait(), timeout)

    async def stop(self) -> None:
        """Cancel the workers; work never started is closed, not left un-awaited."""
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
        for queue in self._queues.values():
            for work in queue:
                discard(work)
        if self._queues:
            log.warning("stopped with updates of %d chats unanswered", len(self._queues))
        self._queues.clear()
        self._ready = asyncio.Queue()  # a start after a stop begins with no chats in line
        self._running = 0
        self._idle.set()

    async def _work(self) -> None:
        while True:
            chat = await self._ready.get()
            queue = self._queues[chat]
            work = queue.popleft()
            self._running += 1
            try:
                await work
            except Exception:  # one chat's failure must not end a worker
                log.exception("answering chat %s failed", chat)
            finally:
                self._running -= 1
                if queue:
                    self._ready.put_nowait(chat)
                else:
                    del self._queues[chat]
                    if not self._queues:
                        self._idle.set()


def discard(work: Awaitable[Any]) -> None:
    """Drop work that will never run (a coroutine must be closed, or Python warns)."""
    if inspect.iscoroutine(work):
        work.close()
