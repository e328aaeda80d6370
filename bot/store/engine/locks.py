"""A lock held across processes that share one database file (``fcntl.flock``).

The operating system drops it when its holder dies, even by SIGKILL, so a crash never
leaves it taken. Waiting polls with backoff in the event loop, never blocking it.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
from pathlib import Path
from types import TracebackType

FIRST_BACKOFF_S = 0.01
MAX_BACKOFF_S = 0.25


class ProcessLock:
    """An ``asyncio.Lock`` within the process and a file lock between processes;
    ``path`` None (an in-memory database) leaves only the first."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._local = asyncio.Lock()
        self._fd: int | None = None

    async def __aenter__(self) -> ProcessLock:
        await self._local.acquire()
        try:
            if self.path is not None:
                await self._lock_file(self.path)
        except BaseException:
            self._local.release()
            raise
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._fd is not None:
            with contextlib.suppress(OSError):
                fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None
        self._local.release()

    async def _lock_file(self, path: Path) -> None:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        delay = FIRST_BACKOFF_S
        try:
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, MAX_BACKOFF_S)
        except BaseException:
            os.close(fd)
            raise
        self._fd = fd

    def locked(self) -> bool:
        return self._local.locked()
