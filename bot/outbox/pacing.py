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


# Telegram's paid broadcasts (Bot API ``allow_paid_broadcast``): up to 1,000 messages a
# second; each message beyond the free limit of about 30 a second costs 0.1 Telegram
# Stars, withdrawn from the bot's balance.
PAID_BROADCAST_PER_S = 1000.0
PAID_BROADCAST_FREE_PER_S = 30
PAID_BROADCAST_STARS = 0.1


@dataclass(frozen=True, slots=True)
class SendLimits:
    """Sending limits of one platform. ``billed_above``: sends a second beyond which each
    costs (Telegram's paid broadcasts); None: sending is free."""

    per_second: float
    per_chat_interval_s: float
    per_group_per_minute: int | None = None
    billed_above: int | None = None


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
        # Sends that went beyond ``billed_above`` in their second: what Telegram bills.
        self.billed = 0
        self._second: deque[float] = deque()

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
        if self.pacing.billed_above is not None:
            second = self._second
            while second and second[0] <= now - 1.0:
                second.popleft()
            second.append(now)
            if len(second) > self.pacing.billed_above:
                self.billed += 1


def telegram_limits(
    per_second: float, chat_interval_s: float, *, paid_broadcast: bool
) -> SendLimits:
    """Telegram's limits: ``per_second`` overall (about 30 free), or with paid broadcasts
    up to 1,000, the sends beyond the free 30 billed; 1 a second per chat and 20 a minute
    per group either way."""
    if paid_broadcast:
        return SendLimits(
            PAID_BROADCAST_PER_S,
            chat_interval_s,
            per_group_per_minute=20,
            billed_above=PAID_BROADCAST_FREE_PER_S,
        )
    return SendLimits(per_second, chat_interval_s, per_group_per_minute=20)


def billing_note(pacer: Pacer) -> dict[str, object]:
    """What ``/healthz`` says of Telegram's paid broadcasts while they are on: the rate,
    the price, and what this process's sends have cost so far (as its pacer counted)."""
    billed = pacer.billed
    return {
        "on": True,
        "per_second": pacer.pacing.per_second,
        "price": f"{PAID_BROADCAST_STARS:g} Telegram Stars per message beyond the free "
        f"{PAID_BROADCAST_FREE_PER_S} a second, from the bot's Stars balance",
        "billed_messages": billed,
        "stars_spent": round(billed * PAID_BROADCAST_STARS, 1),
    }


def backoff(attempts: int, rng: random.Random) -> float:
    """Exponential backoff with full jitter."""
    ceiling = min(BACKOFF_MAX_S, BACKOFF_BASE_S * 2.0 ** max(0, attempts - 1))
    return ceiling / 2 + rng.uniform(0, ceiling / 2)
