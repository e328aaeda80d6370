"""This process among all that share the database: its id, its life, its leases.

Any number of ``normwacht run`` instances may serve one PostgreSQL database (or one SQLite
file on one machine). Each renews its life and its leases every quarter of a lease period;
the scheduler's jobs run on the holder of the ``scheduler`` lease, Telegram is polled by
the holder of ``telegram-polling`` (Telegram allows one poller per token), and when a
holder dies its leases expire and another instance takes them within a period. What a
lease brings (a catch-up of the schedule, starting to poll) runs beside the renewals, so
a long catch-up never lets the lease lapse.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import socket
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from bot.clock import Clock
from bot.runtime.health import Health, describe
from bot.store import Store
from bot.store.leases import Leases

log = logging.getLogger("normwacht")

SCHEDULER = "scheduler"
DATABASE = "database"


def polling_lease(platform: str) -> str:
    """The lease of polling ``platform`` (``telegram-polling``): one poller per token."""
    return f"{platform}-polling"


Callback = Callable[[], Awaitable[object]]


@dataclass(slots=True)
class _Wanted:
    on_gain: Callback | None
    on_lose: Callback | None


class Instance:
    def __init__(
        self, store: Store, clock: Clock, *, period_s: float, health: Health | None = None
    ) -> None:
        self.store = store
        # Renewals are the heartbeat that also tells whether the database answers.
        self.health = health
        if health is not None:
            health.watch(DATABASE, where=store.db.describe())
        self.clock = clock
        self.period_s = period_s
        self.id = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"
        self.leases = Leases(store.db)
        self.held: set[str] = set()
        self._wanted: dict[str, _Wanted] = {}
        # Held leases count until then (monotonic): a renewal that fails for longer than
        # this lets them go here too, before another instance can take them there.
        self._valid_until = 0.0
        # Each unbroken stretch of valid leases is an epoch: a renewal that comes after the
        # leases could have lapsed (a freeze, an outage) starts a new one, and what was
        # taken under the old one (outbox claims) may no longer be acted on.
        self.epoch = 0
        self._steady_from = 0.0
        self._loop: asyncio.Task[None] | None = None
        self._callbacks: set[asyncio.Task[object]] = set()
        self._renewing = asyncio.Lock()
        # Leases this instance wants that another holds, and their holders.
        self._others: dict[str, str] = {}

    def want(
        self, name: str, *, on_gain: Callback | None = None, on_lose: Callback | None = None
    ) -> None:
        """Ask for lease ``name`` from the next renewal on."""
        self._wanted[name] = _Wanted(on_gain, on_lose)

    def holds(self, name: str) -> bool:
        return name in self.held and time.monotonic() < self._valid_until

    def token(self) -> int | None:
        """The current epoch while this instance's life is provably its own (renewed
        within the last 0.9 lease period, by the monotonic clock); else None."""
        return self.epoch if time.monotonic() < self._valid_until else None

    def steady(self) -> bool:
        """Alive without a lapse for a whole lease period (or since its start): another
        instance that stopped renewing meanwhile is dead, not caught in a shared outage."""
        now = time.monotonic()
        return now < self._valid_until and now >= self._steady_from

    async def start(self) -> None:
        """Say this instance lives, take what leases are free, and keep renewing them."""
        place = process_namespace()
        await self.leases.register(self.id, self.clock(), place, os.getpid())
        # A process of this machine that was killed is known dead now, not in a period.
        neighbours = await self.leases.neighbours(place, self.id)
        await self.leases.forget(sorted(i for i, pid in neighbours.items() if not _alive(pid)))
        await self.renew()
        self._loop = asyncio.create_task(self._renew_forever(), name="leases")
        waiting = {n: h for n, h in self._others.items() if n not in self.held}
        # Alone (the console, ``deliver``) there is nothing to tell an operator.
        log.log(
            logging.INFO if self._wanted else logging.DEBUG,
            "instance %s on %s: %s%s",
            self.id,
            self.store.db.describe(),
            f"holding {', '.join(sorted(self.held))}" if self.held else "holding no lease",
            "".join(f"; {n} is held by {h}" for n, h in sorted(waiting.items())),
        )

    async def renew(self) -> None:
        """One renewal: life and leases; a lease gained or lost calls its callback."""
        async with self._renewing:
            started = time.monotonic()
            try:
                now_held = await self.leases.renew(self.id, sorted(self._wanted), self.period_s)
            except Exception as exc:
                if self.health is not None:
                    self.health.down(DATABASE, describe(exc))
                if time.monotonic() < self._valid_until:
                    log.warning("could not renew leases (%s); trying again", exc)
                    return
                if self.held:
                    log.warning("could not renew leases (%s): letting them go", exc)
                now_held = set()
            else:
                if started >= self._valid_until:
                    # The leases could have lapsed before this renewal: a new epoch. After a
                    # lapse (not at start) others get a period to show they live on.
                    self._steady_from = started + (self.period_s if self.epoch else 0.0)
                    self.epoch += 1
                    if len(self.held) and self.epoch > 1:
                        log.warning(
                            "instance %s: its leases may have lapsed (renewed %.1fs late): "
                            "work claimed before is given up",
                            self.id,
                            started - self._valid_until,
                        )
                # Counted from before the call: the database may have renewed it earlier.
                self._valid_until = started + self.period_s * 0.9
                if self.health is not None:
                    self.health.up(DATABASE)
            gained, lost = now_held - self.held, self.held - now_held
            self.held = now_held
            before, self._others = self._others, {}
            if set(self._wanted) - now_held:
                # Standing by: who holds what this instance waits for.
                with contextlib.suppress(Exception):
                    holders = await self.leases.holders()
                    self._others = {n: h for n, h in holders.items() if n in self._wanted}
        for name in sorted(lost):
            log.info("lease %s: no longer held by this instance", name)
            self._call(self._wanted[name].on_lose)
        for name in sorted(gained):
            previous = before.get(name)
            if previous is not None and previous != self.id:
                log.info("lease %s: taken over from %s", name, previous)
            else:
                log.info("lease %s: held by this instance", name)
            self._call(self._wanted[name].on_gain)

    def _call(self, callback: Callback | None) -> None:
        if callback is None:
            return
        task: asyncio.Task[object] = asyncio.create_task(_logged(callback))
        self._callbacks.add(task)
        task.add_done_callback(self._callbacks.discard)

    async def _renew_forever(self) -> None:
        rounds = 0
        while True:
            await asyncio.sleep(self.period_s / 4)
            await self.renew()
            rounds += 1
            if rounds % 100 == 0:
                with contextlib.suppress(Exception):
                    await self.leases.forget_dead(self.period_s)

    async def stop(self) -> None:
        """Stop renewing and let the leases go at once, for another instance to take."""
        if self._loop is not None:
            self._loop.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._loop
        for task in list(self._callbacks):
            task.cancel()
        await asyncio.gather(*self._callbacks, return_exceptions=True)
        released = sorted(self.held)
        self.held = set()
        try:
            await self.leases.release(self.id)
        except Exception as exc:  # the leases expire by themselves
            log.warning("could not release leases: %s", exc)
            return
        log.log(
            logging.INFO if self._wanted else logging.DEBUG,
            "instance %s stopped%s",
            self.id,
            f"; {', '.join(released)} free for another instance" if released else "",
        )

    def describe(self) -> dict[str, object]:
        """For ``/healthz``: which instance this is, on which database, holding what."""
        return {
            "id": self.id,
            "database": self.store.db.describe(),
            "leases": sorted(n for n in self.held if self.holds(n)),
        }


def process_namespace() -> str:
    """Where a pid names one process: this kernel's boot and this pid namespace (two
    containers of one machine differ), or else the host."""
    try:
        boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
        return f"{boot}:{os.stat('/proc/self/ns/pid').st_ino}"
    except OSError:
        return socket.gethostname()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


async def _logged(callback: Callback) -> object:
    try:
        return await callback()
    except asyncio.CancelledError:
        raise
    except Exception:
        log.exception("lease callback failed")
        return None
