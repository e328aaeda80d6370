"""How fast messages may go: each platform's limits, a pacer that keeps to them as sends
really go out, and the backoff after a failure."""

from __future__ import annotations

import random
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass

# Backoff grows to 10 minutes and stays there: an outage of up to about a day is ridden
# out; only then does a message go dead, and the admins are told.
MAX_ATTEMPTS = 150
BACKOFF_BASE_S = 2.0
BACKOFF_MAX_S = 600.0
# Requests do not arrive exactly when sent: keep this much clear of every limit.
SEND_MARGIN_S = 0.02


@dataclass(frozen=True, slots=True)
class SendLimits:
    """Sending limits of one platform."""

    per_second: float
    per_chat_interval_s: float
    per_group_per_minute: int | None = None


class Pacer:
    """Spaces sends: a global rate per platform and a minimum interval per chat."""

    def __init__(self, pacing: SendLimits, now: Callable[[], float]) -> None:
        self.pacing = pacing
        self._now = now
        self._next_global = 0.0
        self._next_chat: dict[str, float] = defaultdict(float)
        self._group_sends: dict[str, list[float]] = defaultdict(list)
        self._paused_until = 0.0
        # When sends came back from the platform (it saw each no later than that), and
        # when those still out began: a stalled loop (a long GC, a busy machine) must not
        # turn planned slots, or sends it held up on their way, into a burst above the limit.
        self._sent: deque[float] = deque()
        self._out: list[float] = []
        self._last_sent: dict[str, float] = {}

    def pause(self, seconds: float) -> None:
        self._paused_until = max(self._paused_until, self._now() + seconds)

    def paused_for(self) -> float:
        """Seconds left of a pause the platform asked for (0 when none)."""
        return max(0.0, self._paused_until - self._now())

    def reserve(self, address: str) -> float:
        """Reserve the next send slot for ``address``; returns the delay until it."""
        now = self._now()
        at = max(now, self._paused_until, self._next_chat[address], self._next_global)
        if self.pacing.per_group_per_minute and address.startswith("-"):
            recent = [t for t in self._group_sends[address] if t > at - 60.0]
            if len(recent) >= self.pacing.per_group_per_minute:
                at = max(at, recent[0] + 60.0)
            recent.append(at)
            self._group_sends[address] = recent
        self._next_global = at + 1.0 / self.pacing.per_second
        self._next_chat[address] = at + self.pacing.per_chat_interval_s
        return at - now

    def hold_back(self, address: str) -> float:
        """Seconds to wait before sending to ``address`` now, judged on the sends that
        really reached the platform in the last second, or may still (and the last one to
        this chat)."""
        now = self._now()
        window = 1.0 + SEND_MARGIN_S
        while self._sent and self._sent[0] <= now - window:
            self._sent.popleft()
        wait = 0.0
        if len(self._sent) + len(self._out) >= max(1, int(self.pacing.per_second)):
            # Every place is taken: the oldest leaves the window, or one still out returns.
            wait = self._sent[0] + window - now if self._sent else 1.0 / self.pacing.per_second
        last = self._last_sent.get(address)
        if last is not None and self.pacing.per_chat_interval_s > 0:
            wait = max(wait, last + self.pacing.per_chat_interval_s + SEND_MARGIN_S - now)
        return wait

    def record(self, address: str) -> float:
        """A send to ``address`` begins now; returns its stamp for ``returned``."""
        now = self._now()
        self._out.append(now)
        self._last_sent[address] = now
        return now

    def returned(self, address: str, began: float) -> None:
        """The send begun at ``began`` came back (sent or not): from now on it counts as
        having reached the platform now, the latest it can have."""
        now = self._now()
        self._out.remove(began)
        self._sent.append(now)
        self._last_sent[address] = now


def backoff(attempts: int, rng: random.Random) -> float:
    """Exponential backoff with full jitter."""
    ceiling = min(BACKOFF_MAX_S, BACKOFF_BASE_S * 2.0 ** max(0, attempts - 1))
    return ceiling / 2 + rng.uniform(0, ceiling / 2)
