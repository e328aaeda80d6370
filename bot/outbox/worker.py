"""The delivery worker: sends what is due in the outbox, paced, retried, never lost."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
from collections import defaultdict
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from functools import partial
from typing import Protocol

from bot.channels.platforms import platform
from bot.clock import Clock
from bot.config import Config
from bot.metrics import MESSAGES_DEAD, MESSAGES_FAILED, MESSAGES_SENT, RATE_LIMITED
from bot.notices.admins import tell_admins
from bot.outbox.errors import Moved, Refused, RetryLater, Sender, SendError, Transient, Unreachable
from bot.outbox.pacing import MAX_ATTEMPTS, Pacer, SendLimits, backoff
from bot.outbox.waiting import quiet_until
from bot.runtime.logs import FailingRounds
from bot.store import OutboxItem, Store
from bot.store.outbox import EARLIER_MESSAGE, PLATFORM_DOWN, RATE_LIMIT

log = logging.getLogger(__name__)


class Lease(Protocol):
    """The life of the process that claims (``bot.runtime.instance.Instance``)."""

    id: str

    def token(self) -> int | None:
        """The lease's epoch while it is provably this process's (monotonic clock); None
        when it may have lapsed (a freeze, a database outage): then nothing may be sent
        under claims taken before, and the epoch is new once the lease is renewed."""

    def steady(self) -> bool:
        """Whether this process has been alive without a lapse for a whole lease period:
        only then does another's silence mean that one died, not a shared outage."""


# What a worker owes the database but could not write yet (it was down): each an
# idempotent write, done in order once the database answers again.
Write = Callable[[], Awaitable[object]]

# Waits for a send slot up to this long are not cut short by a stop.
SHORT_WAIT_S = 1.5
# How long a retry of unrecorded results waits at most while the database is down.
RECORD_RETRY_MAX_S = 2.0


class DeliveryWorker:
    def __init__(
        self,
        store: Store,
        senders: dict[str, Sender],
        config: Config,
        clock: Clock,
        *,
        pacing: dict[str, SendLimits] | None = None,
        batch: int = 50,
        rng: random.Random | None = None,
        is_up: Callable[[str], bool] | None = None,
        instance: Lease | None = None,
        on_database_error: Callable[[BaseException], None] | None = None,
    ) -> None:
        self.store = store
        # The process that claims (``bot.runtime.instance``): another one takes over this one's
        # claims only once it stops renewing its life, and this one sends under a claim
        # only while its lease is provably its own. None: no other process can send.
        self.instance = instance
        self.senders = senders
        self.config = config
        self.clock = clock
        self.batch = batch
        self.rng = rng or random.Random()
        limits = pacing or {}
        self.pacers = {
            p: Pacer(limits.get(p) or platform(p).limits(config), _monotonic) for p in senders
        }
        self.wakeup = asyncio.Event()
        self.sent = 0
        # A platform known to be down is not tried: its messages wait in the outbox,
        # without spending attempts, however long the outage lasts.
        self.is_up = is_up or (lambda platform: True)
        self.on_database_error = on_database_error
        # Results not yet recorded because the database did not answer (in order).
        self.unrecorded: list[Write] = []
        self._stop = asyncio.Event()

    @property
    def _by(self) -> str | None:
        return None if self.instance is None else self.instance.id

    def _token(self) -> int | None:
        return 0 if self.instance is None else self.instance.token()

    async def start(self) -> int:
        """Call once at start: messages in flight at a crash go back to pending (with
        other processes about: those whose claimer has died)."""
        if self.instance is None:
            return await self.store.outbox.recover_inflight()
        return await self.store.outbox.recover_inflight(alive_within_s=self.config.lease_s)

    async def _recover(self) -> int:
        """Claims of processes that died go back to pending: judged only by a process that
        has itself been alive throughout the last lease period (after an outage that all
        shared, the others get a period to renew before they count as dead)."""
        if self.instance is None or not self.instance.steady():
            return 0
        return await self.store.outbox.recover_inflight(alive_within_s=self.config.lease_s)

    def stop(self) -> None:
        """Take no new work; sends in flight finish, the rest of the claims go back."""
        self._stop.set()

    def hushed(self, now: datetime) -> list[str]:
        """The platforms whose non-urgent messages wait now (quiet hours, judged with the
        configuration of this moment; the console is never quiet)."""
        if quiet_until(self.config.quiet_hours, now, self.config) is None:
            return []
        return sorted(p for p in self.senders if platform(p).quiet_hours)

    async def run_once(self) -> int:
        """Send everything due now, then return how many went out."""
        total = 0
        while not self._stop.is_set():
            if not await self.record_owed():
                return total
            token = self._token()
            platforms = sorted(p for p in self.senders if self.is_up(p))
            if token is None or not platforms:
                return total
            now = self.clock()
            items = await self.store.outbox.claim_due(
                now, self.batch, platforms=platforms, by=self._by, hushed=self.hushed(now)
            )
            if not items:
                return total
            total += await self._send_all(items, token)
        return total

    async def run_forever(self, stop: asyncio.Event, idle_s: float = 5.0) -> None:
        """Deliver until ``stop`` is set; woken early by ``wakeup`` when something is
        planned. After ``stop``: the sends in flight finish and are recorded, the rest of
        the claims go back to pending."""
        rounds = FailingRounds(log, "delivery")
        retry_s = 0.1
        while not stop.is_set() and not self._stop.is_set():
            # Cleared before the round, not after: what is planned while the round's last
            # claim finds nothing wakes the next one at once.
            self.wakeup.clear()
            try:
                await self._recover()
                await self.run_once()
                rounds.succeeded()
            except Exception as exc:  # a broken round must not end delivery for good
                self._database_error(exc)
                rounds.failed()
            # While results wait to be recorded, or the lease waits to be renewed (after an
            # outage or a freeze), the next round comes soon.
            wait = idle_s
            if self.unrecorded or rounds.failures or self._token() is None:
                wait, retry_s = min(retry_s, idle_s), min(retry_s * 2, RECORD_RETRY_MAX_S)
            else:
                retry_s = 0.1
            waits = [
                asyncio.ensure_future(stop.wait()),
                asyncio.ensure_future(self._stop.wait()),
                asyncio.ensure_future(self.wakeup.wait()),
            ]
            await asyncio.wait(waits, timeout=wait, return_when=asyncio.FIRST_COMPLETED)
            for w in waits:
                w.cancel()
        await self.finish()

    async def finish(self, attempts: int = 3) -> None:
        """Record what is still owed before the process ends; what cannot be is logged."""
        for _ in range(attempts):
            if await self.record_owed():
                return
            await asyncio.sleep(0.2)
        log.error(
            "delivery: %d result(s) could not be recorded before stopping (the database did "
            "not answer): messages sent just now may go again at the next start",
            len(self.unrecorded),
        )

    async def record_owed(self) -> bool:
        """Write the results the database missed, in order; True once none is left."""
        while self.unrecorded:
            try:
                await self.unrecorded[0]()
            except Exception as exc:
                self._database_error(exc)
                return False
            self.unrecorded.pop(0)
        return True

    async def _record(self, write: Write) -> bool:
        """Write a result now, or keep it for when the database answers again."""
        if not self.unrecorded:
            try:
                await write()
                return True
            except Exception as exc:
                self._database_error(exc)
        self.unrecorded.append(write)
        return False

    def _database_error(self, exc: BaseException) -> None:
        if self.on_database_error is not None:
            self.on_database_error(exc)

    def _may_send(self, token: int) -> bool:
        """The fence before every send: not stopping, every result so far recorded, and
        the claim still provably this process's."""
        return not self._stop.is_set() and not self.unrecorded and self._token() == token

    async def _send_all(self, items: list[OutboxItem], token: int) -> int:
        by_chat: dict[int, list[OutboxItem]] = defaultdict(list)
        for item in items:
            by_chat[item.chat_id].append(item)
        results = await asyncio.gather(
            *(self._send_chat(chat_items, token) for chat_items in by_chat.values())
        )
        return sum(results)

    async def _send_chat(self, items: list[OutboxItem], token: int) -> int:
        sent = 0
        for index, item in enumerate(items):
            rest = items[index + 1 :]
            outcome, until = await self._send_one(item, token)
            if outcome == "sent":
                sent += 1
            elif outcome == "unreachable":
                return sent  # the rest were marked dead with the chat
            elif outcome == "released":
                if rest:
                    await self._record(partial(self.store.outbox.release, rest))
                return sent
            elif outcome == "wait":
                # Keep this chat's order: the rest go after this one, not before it.
                at = until or self.clock()
                why = EARLIER_MESSAGE if self.is_up(item.platform) else PLATFORM_DOWN
                for later in rest:
                    await self._record(partial(self.store.outbox.hold_until, later, at, why))
                return sent
        return sent

    async def _send_one(self, item: OutboxItem, token: int) -> tuple[str, datetime | None]:
        outbox = self.store.outbox
        if not item.urgent and item.platform in self.hushed(self.clock()):
            # Quiet hours began after the claim: it waits, and is due again when they end.
            await self._record(partial(outbox.release, [item]))
            return "released", None
        sender = self.senders[item.platform]
        pacer = self.pacers[item.platform]
        delay = pacer.reserve(item.address)
        if delay > 0:
            await self._sleep(delay)
        # A 429 seen by another send while this one waited pauses this one too; and what
        # really went out in the last second has the last word over the plan.
        while (wait := max(pacer.paused_for(), pacer.hold_back(item.address))) > 0:
            if self._stop.is_set():
                break
            await self._sleep(wait)
        if not self._may_send(token):
            await self._record(partial(outbox.release, [item]))
            return "released", None
        if not self.is_up(item.platform):
            # It went down while this one waited its turn: it waits for the platform.
            now = self.clock()
            await self._record(partial(outbox.hold_until, item, now, PLATFORM_DOWN))
            return "wait", now
        before = json.dumps(item.body, sort_keys=True)
        try:
            remote_id = await self._paced(sender, pacer, item)
        except asyncio.CancelledError:
            # Stopped mid-send: whether it arrived only the platform knows. It goes again
            # at the next start rather than never.
            log.warning(
                "delivery: message %d was being sent when delivery stopped: it may arrive twice",
                item.id,
            )
            await self._record(partial(outbox.release, [item]))
            raise
        except SendError as exc:
            if json.dumps(item.body, sort_keys=True) != before:
                # The sender noted progress (parts of a long message already out): keep it,
                # so a retry does not repeat them.
                await self._record(partial(outbox.update_body, item.id, item.body))
            return await self._failed(item, exc, pacer)
        except Exception as exc:  # timeouts and connection errors not mapped by a sender
            return await self._failed(item, Transient(f"{type(exc).__name__}: {exc}"), pacer)
        await self._record(partial(outbox.mark_sent, item.id, self.clock(), remote_id))
        MESSAGES_SENT.labels(item.platform).inc()
        self.sent += 1
        return "sent", None

    @staticmethod
    async def _paced(sender: Sender, pacer: Pacer, item: OutboxItem) -> str | None:
        """The send itself, counted by the pacer from when it begins until it comes back."""
        began = pacer.record(item.address)
        try:
            return await sender.send(item.address, item.body)
        finally:
            pacer.returned(item.address, began)

    async def _sleep(self, seconds: float) -> None:
        """Wait for a send slot; a stop cuts a long wait (a 429's pause) short. A short one
        is a plain sleep: pacing is kept to the millisecond."""
        if self._stop.is_set():
            return
        if seconds <= SHORT_WAIT_S:
            await asyncio.sleep(seconds)
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stop.wait(), seconds)

    async def _failed(
        self, item: OutboxItem, exc: SendError, pacer: Pacer
    ) -> tuple[str, datetime | None]:
        outbox, now = self.store.outbox, self.clock()
        if isinstance(exc, RetryLater):
            RATE_LIMITED.labels(item.platform).inc()
            pacer.pause(exc.seconds)
            at = now + timedelta(seconds=exc.seconds)
            await self._record(
                partial(outbox.retry_at, item, at, str(exc), count=False, reason=RATE_LIMIT)
            )
            return "wait", at
        if isinstance(exc, Unreachable):
            await self._record(partial(self._unreachable, item, str(exc)))
            return "unreachable", None
        if isinstance(exc, Moved):
            await self._record(partial(self.store.chats.move, item.chat_id, exc.new_address))
            await self._record(partial(outbox.retry_at, item, now, str(exc), count=False))
            return "wait", now
        error = str(exc)
        if isinstance(exc, Transient) and not self.is_up(item.platform):
            # The platform itself is out (this send may be what showed it): not the
            # message's failure. It waits, uncounted, until the platform is back.
            await self._record(
                partial(outbox.retry_at, item, now, error, count=False, reason=PLATFORM_DOWN)
            )
            return "wait", now
        if isinstance(exc, Refused) or item.attempts >= MAX_ATTEMPTS:
            await self._record(partial(self._dead, item, error))
            MESSAGES_DEAD.labels(item.platform).inc()
            return "dead", None
        MESSAGES_FAILED.labels(item.platform).inc()
        at = now + timedelta(seconds=backoff(item.attempts, self.rng))
        await self._record(partial(outbox.retry_at, item, at, error))
        return "wait", at

    async def _dead(self, item: OutboxItem, error: str) -> None:
        if await self.store.outbox.mark_dead(item, error):
            await self._tell_admins(item, error, key=f"dead:{item.id}")

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
