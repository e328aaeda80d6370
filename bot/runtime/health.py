"""What is up and what is down: each platform's reachability, for ``/healthz``, for the
delivery worker (which leaves a down platform's messages waiting), and for the log (one
line when a platform goes down, one when it is back).

``Reconnector`` keeps one channel connected: it connects at start, and whenever the
platform is unreachable it tries again with capped backoff, while the rest serves on.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime

from bot.clock import Clock

log = logging.getLogger("normwacht")

FIRST_RETRY_S = 1.0
MAX_RETRY_S = 60.0

# Whether an error means the part is out (wait and retry) rather than misconfigured.
Outage = Callable[[BaseException], bool]


class Health:
    """The state of each part: platforms are marked up or down by what their traffic
    shows; other parts (the scheduler) answer a live check."""

    def __init__(self, clock: Clock, *, log_outages: bool = True) -> None:
        self.clock = clock
        # A one-shot command (``deliver``) says what waited in its own summary, and does
        # not retry: the "retrying" of a long-running bot's log would not be true there.
        self.log_outages = log_outages
        self._down_since: dict[str, datetime | None] = {}
        self._checks: dict[str, Callable[[], bool]] = {}
        self._changed: dict[str, asyncio.Event] = {}
        self._on_up: list[Callable[[str], None]] = []
        self._where: dict[str, str] = {}
        # Which instance this is, for /healthz (``bot.runtime.instance.Instance.describe``).
        self.instance: Callable[[], dict[str, object]] | None = None
        # What /healthz tells beside the states (Telegram's paid broadcasts and their cost).
        self._notes: dict[str, Callable[[], object]] = {}
        # Parts asked afresh by ``refresh`` (the database), and what counts as down.
        self._probes: dict[str, tuple[Callable[[], Awaitable[object]], Outage]] = {}

    def watch(self, name: str, where: str | None = None) -> None:
        """Track platform ``name``; it counts as up until something says otherwise.
        ``where`` names it as the operator configured it, for the outage's log line."""
        self._down_since.setdefault(name, None)
        self._changed.setdefault(name, asyncio.Event())
        if where is not None:
            self._where[name] = where

    def check(self, name: str, alive: Callable[[], bool]) -> None:
        """Report part ``name`` as up while ``alive()`` is true."""
        self._checks[name] = alive

    def probe_with(
        self, name: str, probe: Callable[[], Awaitable[object]], is_outage: Outage
    ) -> None:
        """Let ``refresh`` ask part ``name`` itself whether it answers."""
        self.watch(name)
        self._probes[name] = (probe, is_outage)

    async def refresh(self, timeout_s: float = 2.0) -> None:
        """Ask every probed part now (``/healthz``): an outage shorter than any loop's
        round is seen too, and a part that is back is up at once."""
        for name, (probe, is_outage) in self._probes.items():
            try:
                await asyncio.wait_for(probe(), timeout_s)
            except TimeoutError:
                self.down(name, f"no answer within {timeout_s:g}s")
            except Exception as exc:
                if not is_outage(exc):
                    raise
                self.down(name, describe(exc))
            else:
                self.up(name)

    def on_up(self, callback: Callable[[str], None]) -> None:
        """Call ``callback(name)`` whenever a platform comes back."""
        self._on_up.append(callback)

    def platforms(self) -> list[str]:
        """The platforms watched (not the parts asked by a probe, such as the database)."""
        return sorted(n for n in self._down_since if n not in self._probes)

    def is_up(self, name: str) -> bool:
        """Whether ``name`` is reachable; a part nobody watches (the console) always is."""
        return self._down_since.get(name) is None

    def up(self, name: str) -> None:
        """``name`` answered: if it was down, log that it is back and tell the listeners."""
        self.watch(name)
        since = self._down_since[name]
        if since is None:
            return
        self._down_since[name] = None
        log.info("%s: reachable again (down since %s)", name, _stamp(since))
        self._changed[name].set()
        for callback in self._on_up:
            callback(name)

    def down(self, name: str, reason: str) -> None:
        """``name`` could not be reached: logged once per outage."""
        self.watch(name)
        if self._down_since[name] is not None:
            return
        self._down_since[name] = self.clock()
        if self.log_outages:
            log.warning(
                "%s: unreachable: %s did not answer (%s); serving the rest and retrying",
                name,
                self._where.get(name, name),
                reason,
            )
        self._changed[name].set()

    async def wait_down(self, name: str) -> None:
        """Return once ``name`` is down."""
        self.watch(name)
        while self.is_up(name):
            event = self._changed[name]
            event.clear()
            await event.wait()

    def note(self, name: str, describe: Callable[[], object]) -> None:
        """Have ``/healthz`` tell ``describe()`` under ``name``, as it is at each request."""
        self._notes[name] = describe

    def notes(self) -> dict[str, object]:
        return {name: describe() for name, describe in self._notes.items()}

    def states(self) -> dict[str, str]:
        """``{"telegram": "down since 2026-11-19T09:00:00+00:00", "slack": "up", ...}``."""
        out = {
            name: "up" if since is None else f"down since {_stamp(since)}"
            for name, since in self._down_since.items()
        }
        for name, alive in self._checks.items():
            out[name] = "up" if alive() else "down"
        return out


def _stamp(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")


class Reconnector:
    """Connects one channel and keeps it connected. ``connect`` brings the channel up
    (and may be called again after it failed); ``probe`` asks a connected platform whether
    it answers. ``is_outage`` tells an unreachable platform (wait and retry) from a
    configuration fault at start (raised: the operator must fix it)."""

    def __init__(
        self,
        name: str,
        health: Health,
        connect: Callable[[], Awaitable[None]],
        probe: Callable[[], Awaitable[None]],
        is_outage: Callable[[BaseException], bool],
        *,
        first_retry_s: float = FIRST_RETRY_S,
        max_retry_s: float = MAX_RETRY_S,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.name = name
        self.health = health
        self._connect = connect
        self._probe = probe
        self._is_outage = is_outage
        self.first_retry_s = first_retry_s
        self.max_retry_s = max_retry_s
        self._sleep = sleep
        self.connected = False
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Connect once; an outage is noted and retried in the background."""
        self.health.watch(self.name)
        try:
            await self._connect()
        except Exception as exc:
            if not self._is_outage(exc):
                raise
            self.health.down(self.name, describe(exc))
        else:
            self.connected = True
            self.health.up(self.name)
        self._task = asyncio.create_task(self._keep(), name=f"reconnect-{self.name}")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _keep(self) -> None:
        delay = self.first_retry_s
        fault: str | None = None
        while True:
            if self.health.is_up(self.name):
                await self.health.wait_down(self.name)
                delay = self.first_retry_s
                continue
            await self._sleep(delay)
            try:
                if self.connected:
                    await self._probe()
                else:
                    await self._connect()
                    self.connected = True
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # still down; a fault found now is retried too
                reason = describe(exc)
                if not self._is_outage(exc) and reason != fault:
                    # Not an outage (a token revoked meanwhile): the operator must hear it.
                    log.error("%s: refused: %s; retrying", self.name, reason)
                fault = reason
                delay = min(self.max_retry_s, delay * 2)
                continue
            fault = None
            self.health.up(self.name)


def describe(exc: BaseException) -> str:
    """A short reason for the log: the error's kind and first line."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
