"""The part every fake shares: an aiohttp server on 127.0.0.1, a free port, a record of calls."""

from __future__ import annotations

import time
from collections import deque
from types import TracebackType
from typing import Any, NamedTuple, Self

from aiohttp import web


class Call(NamedTuple):
    """One request the fake answered: API method (or path), its parameters, when."""

    method: str
    params: dict[str, Any]
    at: float


class FakeServer:
    """A real HTTP server on ``127.0.0.1:<free port>``; ``async with`` starts and stops it."""

    def __init__(self, port: int = 0) -> None:
        """``port``: 0 for a free one; a fixed one to come back where a client still looks."""
        # Uploads in tests may exceed aiohttp's 1 MiB default body limit.
        self.app = web.Application(client_max_size=64 * 1024 * 1024)
        self.calls: list[Call] = []
        self._runner: web.AppRunner | None = None
        self._wanted_port = port
        self._port = 0

    @property
    def url(self) -> str:
        """Root URL, without a trailing slash."""
        if self._runner is None:
            raise RuntimeError(f"{type(self).__name__} is not running")
        return f"http://127.0.0.1:{self._port}"

    async def start(self) -> None:
        # A short shutdown timeout: a fake must never hold a test up on exit.
        self._runner = web.AppRunner(self.app, access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", self._wanted_port)
        await site.start()
        self._port = int(self._runner.addresses[0][1])

    async def stop(self) -> None:
        await self._before_stop()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _before_stop(self) -> None:
        """Hook: wake up long polls and the like so shutdown is quick."""

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    def _record(self, method: str, params: dict[str, Any]) -> None:
        self.calls.append(Call(method, params, time.monotonic()))

    def calls_to(self, method: str) -> list[Call]:
        """The recorded calls of one method, in order."""
        return [c for c in self.calls if c.method == method]


def count_recent(stamps: deque[float], now: float, window_s: float) -> int:
    """Drop stamps older than the window (sliding window) and count the rest."""
    while stamps and stamps[0] <= now - window_s:
        stamps.popleft()
    return len(stamps)
