"""The one SQLite connection of a process: WAL, foreign keys, serialised writes, migrations.

Several processes may write the same file (``normwacht run`` and a CLI import, say). SQLite
lets one write at a time; a writer that finds the database busy waits here, in the event
loop (never in SQLite's own busy handler, which would stall every read of the process),
and tries again with backoff: without a bound in the bot, up to ``busy_wait_s`` in a CLI
command, which then gives up with ``DatabaseBusy``.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sqlite3
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

import aiosqlite

from bot.store.schema import MIGRATIONS

log = logging.getLogger(__name__)

T = TypeVar("T")

# SQLite's own wait, kept short: its busy handler sleeps in the connection's thread, where
# every other query of the process queues behind it.
BUSY_TIMEOUT_MS = 50
FIRST_BACKOFF_S = 0.01
MAX_BACKOFF_S = 0.5
# A test hook: the process kills itself (SIGKILL) right after its Nth commit, so tests can
# crash a real command at every step deterministically.
CRASH_AFTER_COMMIT = "NORMWACHT_CRASH_AFTER_COMMIT"


class DatabaseBusy(Exception):
    """Another process held the write lock for longer than this process may wait."""


def is_busy(exc: BaseException) -> bool:
    """SQLITE_BUSY (and its extended codes): another connection holds the lock."""
    if not isinstance(exc, sqlite3.OperationalError):
        return False
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None:
        return int(code) & 0xFF == sqlite3.SQLITE_BUSY
    return str(exc) == "database is locked"


class Database:
    """A single aiosqlite connection shared by the process.

    A shared connection does not isolate coroutines' transactions, so every write
    transaction holds ``_write_lock`` from BEGIN to COMMIT.
    """

    def __init__(
        self, conn: aiosqlite.Connection, path: str, *, busy_wait_s: float | None = None
    ) -> None:
        self.conn = conn
        self.path = path
        self._write_lock = asyncio.Lock()
        # Bumped by every commit of this connection: caches of derived data key on it.
        self.generation = 0
        # How long a writer waits for another process's write lock; None: as long as it takes.
        self.busy_wait_s = busy_wait_s
        self._crash_after = int(os.environ.get(CRASH_AFTER_COMMIT, "0") or 0)

    @classmethod
    async def open(cls, path: Path | str, *, busy_wait_s: float | None = None) -> Database:
        """Open (creating if needed) and migrate the database at ``path``."""
        target = str(path)
        if target != ":memory:":
            Path(target).parent.mkdir(parents=True, exist_ok=True)
        conn = await aiosqlite.connect(target, isolation_level=None)
        try:
            conn.row_factory = aiosqlite.Row
            db = cls(conn, target, busy_wait_s=busy_wait_s)
            await conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
            # Switching to WAL needs the lock once, on the very first open of a file.
            await db.retry_busy(lambda: conn.execute("PRAGMA journal_mode=WAL"))
            await conn.execute("PRAGMA foreign_keys=ON")
            await conn.execute("PRAGMA synchronous=NORMAL")
            await db._migrate()
        except BaseException:
            await conn.close()
            raise
        return db

    async def close(self) -> None:
        await self.conn.close()

    async def _migrate(self) -> None:
        async with self.conn.execute("PRAGMA user_version") as cur:
            row = await cur.fetchone()
        version = int(row[0]) if row else 0
        for number, script in enumerate(MIGRATIONS, 1):
            if number <= version:
                continue
            async with self.transaction():
                for statement in _statements(script):
                    await self.conn.execute(statement)
                await self.conn.execute(f"PRAGMA user_version={number}")

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """A write transaction: committed on success, rolled back on any error.

        ``BEGIN IMMEDIATE`` takes the write lock up front, so once it succeeds nothing in
        the transaction meets another writer; while another process holds the lock,
        BEGIN is tried again with backoff (see ``retry_busy``).
        """
        async with self._write_lock:
            try:
                await self.retry_busy(lambda: self.conn.execute("BEGIN IMMEDIATE"))
                yield self.conn
            except BaseException:
                # Also when cancelled during BEGIN: never leave the connection inside a
                # transaction that the next writer would trip over.
                if self.conn.in_transaction:
                    await asyncio.shield(self.conn.execute("ROLLBACK"))
                raise
            await self.conn.execute("COMMIT")
            self.generation += 1
            if self._crash_after and self.generation >= self._crash_after:
                os.kill(os.getpid(), signal.SIGKILL)

    @asynccontextmanager
    async def exclusive(self) -> AsyncIterator[aiosqlite.Connection]:
        """The connection with no transaction of another coroutine open on it, and no
        database lock taken: for writes to TEMP tables (staging), which lock nothing that
        other processes see."""
        async with self._write_lock:
            yield self.conn

    async def retry_busy(self, attempt: Callable[[], Awaitable[T]]) -> T:
        """Run ``attempt`` until it does not meet a busy database, waiting in between with
        backoff; after ``busy_wait_s`` (when set) raise ``DatabaseBusy``."""
        started = time.monotonic()
        delay = FIRST_BACKOFF_S
        warned = False
        while True:
            try:
                return await attempt()
            except sqlite3.OperationalError as exc:
                if not is_busy(exc):
                    raise
                waited = time.monotonic() - started
                if self.busy_wait_s is not None and waited >= self.busy_wait_s:
                    raise DatabaseBusy(
                        "the database is busy: another import is running; try again"
                    ) from exc
                if waited >= 5 and not warned:
                    warned = True
                    log.warning("waiting for another process's write to %s", self.path)
                if self.busy_wait_s is not None:
                    delay = min(delay, max(self.busy_wait_s - waited, 0.001))
                await asyncio.sleep(delay)
                delay = min(delay * 2, MAX_BACKOFF_S)

    async def version(self) -> tuple[int, int]:
        """Changes so far: this connection's commits, and SQLite's count of commits by
        other connections (another ``normwacht`` process importing, say)."""
        row = await self.fetchone("PRAGMA data_version")
        return self.generation, int(row[0]) if row else 0

    async def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[aiosqlite.Row]:
        async with self.conn.execute(sql, params) as cur:
            return list(await cur.fetchall())

    async def fetchone(self, sql: str, params: Sequence[Any] = ()) -> aiosqlite.Row | None:
        async with self.conn.execute(sql, params) as cur:
            return await cur.fetchone()

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """One write statement in its own transaction; returns the last row id."""
        async with self.transaction() as conn, conn.execute(sql, params) as cur:
            return cur.lastrowid or 0

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        async with self.transaction() as conn:
            await conn.executemany(sql, rows)


def _statements(script: str) -> list[str]:
    # A trigger's body holds semicolons of its own: a statement ends where SQLite says so.
    out: list[str] = []
    pending = ""
    for piece in script.split(";"):
        pending += piece + ";"
        if sqlite3.complete_statement(pending):
            if pending.strip(" \n;"):
                out.append(pending.strip().removesuffix(";"))
            pending = ""
    if pending.strip(" \n;"):
        out.append(pending.strip().removesuffix(";"))
    return out
