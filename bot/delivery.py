"""The delivery worker: sends what is due in the outbox, paced, retried, never lost.

Every platform has a ``Sender`` that raises one of the ``SendError`` kinds below, so the
worker decides retries the same way for Telegram, Slack and the console.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from bot.clock import Clock
from bot.config import Config, QuietHours
from bot.logs import FailingRounds
from bot.metrics import MESSAGES_DEAD, MESSAGES_FAILED, MESSAGES_SENT, RATE_LIMITED
from bot.notify import tell_admins
from bot.store import OutboxItem, Store

log = logging.getLogger(__name__)

# Backoff grows to 10 minutes and stays there: an outage of up to about a day is ridden
# out; only then does a message go dead, and the admins are told.
MAX_ATTEMPTS = 150
BACKOFF_BASE_S = 2.0
BACKOFF_MAX_S = 600.0
# A claim older than this was lost (its send raised past us, the database was locked):
# the row goes back to pending while the process keeps running.
STALE_CLAIM = timedelta(minutes=10)
# Requests do not arrive exactly when sent: keep this much clear of every limit.
SEND_MARGIN_S = 0.02


class SendError(Exception):
    """A message did not go out."""


class RetryLater(SendError):
    """The platform asked us to wait exactly ``seconds`` (HTTP 429)."""

    def __init__(self, seconds: float, detail: str = "rate limited") -> None:
        super().__init__(f"{detail}: retry after {seconds:g}s")
        self.seconds = seconds


class Transient(SendError):
    """A 5xx, a timeout or a broken connection: try again with backoff."""


class Unreachable(SendError):
    """The destination is gone (blocked the bot, channel not found): stop sending to it."""


class Rejected(SendError):
    """The platform refused this message for good (a bad request)."""


class Moved(SendError):
    """The chat lives at a new address now (a Telegram group became a supergroup)."""

    def __init__(self, new_address: str) -> None:
        super().__init__(f"moved to {new_address}")
        self.new_address = new_address


class Sender(Protocol):
    platform: str

    async def send(self, address: str, body: dict[str, Any]) -> str | None:
        """Send ``body`` to ``address``; returns the platform's message id."""


@dataclass(frozen=True, slots=True)
class Pacing:
    """Sending limits of one platform."""

    per_second: float
    per_chat_interval_s: float
    per_group_per_minute: int | None = None


def pacing_from(config: Config) -> dict[str, Pacing]:
    """The platforms' limits: Telegram 30/s overall, 1/s per chat and 20/min per group;
    Slack 1/s per channel (rates configurable)."""
    return {
        "telegram": Pacing(config.telegram_rate, config.chat_interval_s, per_group_per_minute=20),
        "slack": Pacing(config.slack_rate, config.chat_interval_s),
        "console": Pacing(per_second=1000.0, per_chat_interval_s=0.0),
    }


class Pacer:
    """Spaces sends: a global rate per platform and a minimum interval per chat."""

    def __init__(self, pacing: Pacing, now: Callable[[], float]) -> None:
        self.pacing = pacing
        self._now = now
        self._next_global = 0.0
        self._next_chat: dict[str, float] = defaultdict(float)
        self._group_sends: dict[str, list[float]] = defaultdict(list)
        self._paused_until = 0.0
        # When sends really went: a stalled loop (a long GC, a busy machine) must not turn
        # planned slots into a burst above the limit.
        self._sent: deque[float] = deque()
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
        really went out in the last second (and the last one to this chat)."""
        now = self._now()
        window = 1.0 + SEND_MARGIN_S
        while self._sent and self._sent[0] <= now - window:
            self._sent.popleft()
        wait = 0.0
        if len(self._sent) >= max(1, int(self.pacing.per_second)):
            wait = self._sent[0] + window - now
        last = self._last_sent.get(address)
        if last is not None and self.pacing.per_chat_interval_s > 0:
            wait = max(wait, last + self.pacing.per_chat_interval_s + SEND_MARGIN_S - now)
        return wait

    def record(self, address: str) -> None:
        now = self._now()
        self._sent.append(now)
        self._last_sent[address] = now


def backoff(attempts: int, rng: random.Random) -> float:
    """Exponential backoff with full jitter."""
    ceiling = min(BACKOFF_MAX_S, BACKOFF_BASE_S * 2.0 ** max(0, attempts - 1))
    return ceiling / 2 + rng.uniform(0, ceiling / 2)


def quiet_until(quiet: QuietHours | None, now: datetime, config: Config) -> datetime | None:
    """When quiet hours end, if ``now`` is inside them (in the configured time zone)."""
    if quiet is None:
        return None
    local = now.astimezone(config.timezone)
    if not quiet.contains(local.time().replace(tzinfo=None)):
        return None
    end = local.replace(hour=quiet.end.hour, minute=quiet.end.minute, second=0, microsecond=0)
    if end <= local:
        end += timedelta(days=1)
    return end


class DeliveryWorker:
    def __init__(
        self,
        store: Store,
        senders: dict[str, Sender],
        config: Config,
        clock: Clock,
        *,
        pacing: dict[str, Pacing] | None = None,
        batch: int = 50,
        rng: random.Random | None = None,
        is_up: Callable[[str], bool] | None = None,
        instance: str | None = None,
    ) -> None:
        self.store = store
        # The process that claims (``bot.instance``): another one takes over this one's
        # claims only once it stops renewing its life. None: no other process can send.
        self.instance = instance
        self.senders = senders
        self.config = config
        self.clock = clock
        self.batch = batch
        self.rng = rng or random.Random()
        limits = pacing or pacing_from(config)
        self.pacers = {p: Pacer(limits.get(p, limits["console"]), _monotonic) for p in senders}
        self.wakeup = asyncio.Event()
        self.sent = 0
        # A platform known to be down is not tried: its messages wait in the outbox,
        # without spending attempts, however long the outage lasts.
        self.is_up = is_up or (lambda platform: True)

    async def start(self) -> int:
        """Call once at start: messages in flight at a crash go back to pending (with
        other processes about: those whose claimer has died)."""
        return await self._recover()

    async def _recover(self, older_than: datetime | None = None) -> int:
        if self.instance is None and older_than is None:
            return await self.store.outbox.recover_inflight()
        return await self.store.outbox.recover_inflight(
            older_than, alive_within_s=None if self.instance is None else self.config.lease_s
        )

    async def run_once(self) -> int:
        """Send everything due now, then return how many went out."""
        total = 0
        while True:
            platforms = sorted(p for p in self.senders if self.is_up(p))
            if not platforms:
                return total
            items = await self.store.outbox.claim_due(
                self.clock(), self.batch, platforms=platforms, by=self.instance
            )
            if not items:
                return total
            total += await self._send_all(items)

    async def run_forever(self, stop: asyncio.Event, idle_s: float = 5.0) -> None:
        """Deliver until ``stop`` is set; woken early by ``wakeup`` when something is planned."""
        rounds = FailingRounds(log, "delivery")
        while not stop.is_set():
            try:
                await self._recover(self.clock() - STALE_CLAIM)
                await self.run_once()
                rounds.succeeded()
            except Exception:  # a broken round must not end delivery for good
                rounds.failed()
            self.wakeup.clear()
            waits = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(self.wakeup.wait())]
            await asyncio.wait(waits, timeout=idle_s, return_when=asyncio.FIRST_COMPLETED)
            for w in waits:
                w.cancel()

    async def _send_all(self, items: list[OutboxItem]) -> int:
        by_chat: dict[int, list[OutboxItem]] = defaultdict(list)
        for item in items:
            by_chat[item.chat_id].append(item)
        results = await asyncio.gather(
            *(self._send_chat(chat_items) for chat_items in by_chat.values())
        )
        return sum(results)

    async def _send_chat(self, items: list[OutboxItem]) -> int:
        sent = 0
        for index, item in enumerate(items):
            try:
                outcome = await self._send_one(item)
            except Exception:
                # Not the platform's answer but ours (the database, say): the claim is put
                # back, or recovered later as stale; the message is not lost.
                log.exception("delivery of message %d failed", item.id)
                with contextlib.suppress(Exception):
                    await self.store.outbox.hold_until(item.id, self.clock())
                outcome = "wait"
            if outcome == "sent":
                sent += 1
            elif outcome == "unreachable":
                return sent  # the rest were marked dead with the chat
            elif outcome == "wait":
                # Keep this chat's order: the rest go after this one, not before it.
                row = await self.store.outbox.next_attempt(item.id)
                for rest in items[index + 1 :]:
                    await self.store.outbox.hold_until(rest.id, row or self.clock())
                return sent
        return sent

    async def _send_one(self, item: OutboxItem) -> str:
        now = self.clock()
        if not item.urgent and item.platform != "console":
            until = quiet_until(self.config.quiet_hours, now, self.config)
            if until is not None:
                await self.store.outbox.hold_until(item.id, until)
                return "held"
        sender = self.senders[item.platform]
        pacer = self.pacers[item.platform]
        delay = pacer.reserve(item.address)
        if delay > 0:
            await asyncio.sleep(delay)
        # A 429 seen by another send while this one waited pauses this one too; and what
        # really went out in the last second has the last word over the plan.
        while (wait := max(pacer.paused_for(), pacer.hold_back(item.address))) > 0:
            await asyncio.sleep(wait)
        if not self.is_up(item.platform):
            # It went down while this one waited its turn: it waits for the platform.
            await self.store.outbox.hold_until(item.id, self.clock())
            return "wait"
        pacer.record(item.address)
        before = json.dumps(item.body, sort_keys=True)
        try:
            remote_id = await sender.send(item.address, item.body)
        except SendError as exc:
            if json.dumps(item.body, sort_keys=True) != before:
                # The sender noted progress (parts of a long message already out): keep it,
                # so a retry does not repeat them.
                await self.store.outbox.update_body(item.id, item.body)
            return await self._failed(item, exc, pacer)
        except Exception as exc:  # timeouts and connection errors not mapped by a sender
            return await self._failed(item, Transient(f"{type(exc).__name__}: {exc}"), pacer)
        await self.store.outbox.mark_sent(item.id, self.clock(), remote_id)
        MESSAGES_SENT.labels(item.platform).inc()
        self.sent += 1
        return "sent"

    async def _failed(self, item: OutboxItem, exc: SendError, pacer: Pacer) -> str:
        if isinstance(exc, RetryLater):
            RATE_LIMITED.labels(item.platform).inc()
            pacer.pause(exc.seconds)
            await self.store.outbox.retry_at(
                item.id, self.clock() + timedelta(seconds=exc.seconds), str(exc), count=False
            )
            return "wait"
        if isinstance(exc, Unreachable):
            await self._unreachable(item, str(exc))
            return "unreachable"
        if isinstance(exc, Moved):
            await self.store.chats.move(item.chat_id, exc.new_address)
            await self.store.outbox.retry_at(item.id, self.clock(), str(exc), count=False)
            return "wait"
        error = str(exc)
        if isinstance(exc, Transient) and not self.is_up(item.platform):
            # The platform itself is out (this send may be what showed it): not the
            # message's failure. It waits, uncounted, until the platform is back.
            await self.store.outbox.retry_at(item.id, self.clock(), error, count=False)
            return "wait"
        if isinstance(exc, Rejected) or item.attempts >= MAX_ATTEMPTS:
            await self.store.outbox.mark_dead(item.id, error)
            MESSAGES_DEAD.labels(item.platform).inc()
            await self._tell_admins(item, error, key=f"dead:{item.id}")
            return "dead"
        wait = backoff(item.attempts, self.rng)
        MESSAGES_FAILED.labels(item.platform).inc()
        await self.store.outbox.retry_at(item.id, self.clock() + timedelta(seconds=wait), error)
        return "failed"

    async def _unreachable(self, item: OutboxItem, reason: str) -> None:
        first = await self.store.chats.deactivate(item.chat_id, reason)
        await self.store.outbox.kill_pending_for_chat(item.chat_id, reason)
        if first:
            await self._tell_admins(item, reason, key=f"inactive:{item.chat_id}:{item.id}")

    async def _tell_admins(self, item: OutboxItem, reason: str, *, key: str) -> None:
        """The operators hear once that a destination cannot be reached."""
        await tell_admins(
            self.store,
            self.config,
            "destination_inactive",
            {"destination": f"{item.platform}:{item.address}", "reason": reason},
            key=key,
            now=self.clock(),
        )


def _monotonic() -> float:
    return asyncio.get_running_loop().time()
