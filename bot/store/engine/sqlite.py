"""The SQLite engine: one aiosqlite connection per process, WAL, serialised writes.

Several processes may write the same file (``normwacht run`` and a CLI import, say). SQLite
lets one write at a time; a writer that finds the database busy waits here, in the event
loop (never in SQLite's own busy handler, which would stall every read of the process),
and tries again with backoff: without a bound in the bot, up to ``busy_wait_s`` in a CLI
command, which then gives up with ``DatabaseBusy``.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import sqlite3
import time
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar, cast

import aiosqlite

from bot.store.engine.base import BUSY_MESSAGE, Database, DatabaseBusy, Row, Tx
from bot.store.engine.dialect import SQLITE, Dialect
from bot.store.engine.locks import ProcessLock
from bot.store.engine.schema import MIGRATIONS

log = logging.getLogger(__name__)

T = TypeVar("T")

# SQLite's own wait, kept short: its busy handler sleeps in the connection's thread, where
# every other query of the process queues behind it.
BUSY_TIMEOUT_MS = 50
# Parameters one statement may have in every SQLite build (since 3.32 the limit is higher).
_MAX_VARIABLES = 999
FIRST_BACKOFF_S = 0.01
MAX_BACKOFF_S = 0.5


def is_busy(exc: BaseException) -> bool:
    """SQLITE_BUSY (and its extended codes): another connection holds the lock."""
    if not isinstance(exc, sqlite3.OperationalError):
        return False
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None:
        return int(code) & 0xFF == sqlite3.SQLITE_BUSY
    return str(exc) == "database is locked"


class SqliteTx(Tx):
    """Statements on the process's one connection."""

    dialect = Dialect(SQLITE)

    def __init__(self, conn: aiosqlite.Connection, lock: asyncio.Lock | None = None) -> None:
        self.conn = conn
        # A session's writes (to TEMP tables) wait for any transaction of another
        # coroutine on the shared connection.
        self._lock = lock

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        if self._lock is None:
            async with self.conn.execute(sql, params) as cur:
                return cur.rowcount
        async with self._lock, self.conn.execute(sql, params) as cur:
            return cur.rowcount

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        if self._lock is None:
            await self.conn.executemany(sql, rows)
            return
        async with self._lock:
            await self.conn.executemany(sql, rows)

    async def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        async with self.conn.execute(sql, params) as cur:
            return list(await cur.fetchall())

    async def fetchone(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        async with self.conn.execute(sql, params) as cur:
            return await cur.fetchone()

    async def insert_rows(
        self, table: str, rows: Sequence[Sequence[Any]], columns: str | None = None
    ) -> None:
        if not rows:
            return
        width = len(rows[0])
        one = f"({','.join('?' * width)})"
        insert = f"INSERT INTO {table}{f' ({columns})' if columns is not None else ''} VALUES "
        # Many rows a statement: SQLite starts one statement per group instead of one per
        # row. Only when every row has the width of the first: a short row must be refused,
        # not filled from the next.
        per = max(1, _MAX_VARIABLES // width)
        grouped = len(rows) - len(rows) % per if per > 1 else 0
        if grouped and set(map(len, rows)) == {width}:
            flat = itertools.chain.from_iterable
            groups = [tuple(flat(rows[i : i + per])) for i in range(0, grouped, per)]
            await self.executemany(insert + ",".join([one] * per), groups)
            rows = rows[grouped:]
        if rows:
            await self.executemany(insert + one, rows)

    async def stream(
        self, sql: str, params: Sequence[Any] = (), *, batch: int = 4096
    ) -> AsyncGenerator[list[tuple[Any, ...]], None]:
        cursor = await self.conn.execute(sql, params)
        # Plain tuples: a row is read by position, once.
        cursor.row_factory = None
        # The next batch is read while the caller works on this one: SQLite steps through
        # the rows in the connection's thread meanwhile.
        ahead = asyncio.ensure_future(cursor.fetchmany(batch))
        try:
            while rows := await ahead:
                ahead = asyncio.ensure_future(cursor.fetchmany(batch))
                # Without a row factory sqlite3 makes each row a tuple already.
                yield cast("list[tuple[Any, ...]]", rows)
        finally:
            # A read under way is let finish (the connection's thread runs it regardless)
            # before the cursor closes.
            with contextlib.suppress(Exception):
                await asyncio.shield(ahead)
            await cursor.close()


class SqliteDatabase(Database):
    """A single aiosqlite connection shared by the process.

    A shared connection does not isolate coroutines' transactions, so every write
    transaction holds ``_write_lock`` from BEGIN to COMMIT.
    """

    dialect = Dialect(SQLITE)

    def __init__(
        self, conn: aiosqlite.Connection, path: str, *, busy_wait_s: float | None = None
    ) -> None:
        super().__init__(busy_wait_s=busy_wait_s)
        self.conn = conn
        self.path = path
        self._write_lock = asyncio.Lock()
        self._reader = SqliteTx(conn)
        self._locks: dict[str, ProcessLock] = {}

    @classmethod
    async def connect(cls, path: Path | str, *, busy_wait_s: float | None = None) -> SqliteDatabase:
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

    def _engine_unavailable(self, exc: BaseException) -> bool:
        # Locked past every wait, or a file that cannot be read for a moment (a disk that
        # went away, a full disk, a file being replaced).
        return isinstance(exc, sqlite3.OperationalError) and (
            is_busy(exc)
            or any(
                part in str(exc)
                for part in (
                    "locked",
                    "unable to open",
                    "disk I/O error",
                    "database or disk is full",
                )
            )
        )

    def describe(self) -> str:
        return f"sqlite {self.path}"

    async def close(self) -> None:
        await self.conn.close()

    async def _migrate(self) -> None:
        version = await self.schema_version()
        for number, migration in enumerate(MIGRATIONS, 1):
            if number <= version:
                continue
            async with self.transaction():
                # Another process opening the same new file may have migrated it while
                # this one waited for the write lock: only the version read under it counts.
                version = await self.schema_version()
                if number <= version:
                    continue
                for statement in _statements(migration.script(self.dialect)):
                    await self.conn.execute(statement)
                await self.conn.execute(f"PRAGMA user_version={number}")
                version = number

    async def backup_into(self, target: Path) -> None:
        """A whole, consistent copy of the database at ``target`` (a new file), while other
        processes go on writing: ``VACUUM INTO`` reads one snapshot and blocks no writer."""
        async with self._write_lock:  # this process's writers wait; a snapshot is a read
            await self.conn.execute("VACUUM INTO ?", (str(target),))

    async def schema_version(self) -> int:
        async with self.conn.execute("PRAGMA user_version") as cur:
            row = await cur.fetchone()
        return int(row[0]) if row else 0

    @asynccontextmanager
    async def transaction(self, *, serial: bool = True) -> AsyncIterator[Tx]:
        """``BEGIN IMMEDIATE`` takes the write lock up front, so once it succeeds nothing
        in the transaction meets another writer; while another process holds the lock,
        BEGIN is tried again with backoff (see ``retry_busy``). SQLite has no other kind
        of write transaction: ``serial`` changes nothing here."""
        async with self._write_lock:
            try:
                await self.retry_busy(lambda: self.conn.execute("BEGIN IMMEDIATE"))
                yield SqliteTx(self.conn)
            except BaseException:
                # Also when cancelled during BEGIN: never leave the connection inside a
                # transaction that the next writer would trip over.
                if self.conn.in_transaction:
                    await asyncio.shield(self.conn.execute("ROLLBACK"))
                raise
            await self.conn.execute("COMMIT")
            self._committed()

    @asynccontextmanager
    async def session(self) -> AsyncIterator[Tx]:
        """The process's one connection: its TEMP tables lock nothing other processes see,
        and each write waits only for this process's open transaction."""
        yield SqliteTx(self.conn, self._write_lock)

    @asynccontextmanager
    async def snapshot(self) -> AsyncIterator[Tx]:
        """A read transaction on the process's connection; the process's writers wait for
        its end (they would otherwise write inside it). Other processes' do not: in WAL a
        reader and a writer never wait for each other."""
        async with self._write_lock:
            await self.conn.execute("BEGIN")
            try:
                # A deferred transaction takes its snapshot at its first read: take it now.
                await self.conn.execute("SELECT COUNT(*) FROM sqlite_master")
                yield SqliteTx(self.conn)
            finally:
                await asyncio.shield(self.conn.execute("ROLLBACK"))

    def lock(self, name: str) -> ProcessLock:
        """A file lock beside the database (an in-memory one: within the process)."""
        if name not in self._locks:
            beside = None if self.path == ":memory:" else Path(f"{self.path}-{name}.lock")
            self._locks[name] = ProcessLock(beside)
        return self._locks[name]

    async def stream(
        self, sql: str, params: Sequence[Any] = (), *, batch: int = 4096
    ) -> AsyncGenerator[list[tuple[Any, ...]], None]:
        async with contextlib.aclosing(self._reader.stream(sql, params, batch=batch)) as rows:
            async for batch_rows in rows:
                yield batch_rows

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
                    raise DatabaseBusy(BUSY_MESSAGE) from exc
                if waited >= 5 and not warned:
                    warned = True
                    log.warning("waiting for another process's write to %s", self.path)
                if self.busy_wait_s is not None:
                    delay = min(delay, max(self.busy_wait_s - waited, 0.001))
                await asyncio.sleep(delay)
                delay = min(delay * 2, MAX_BACKOFF_S)

    async def version(self) -> tuple[int, int]:
        """This connection's commits, and SQLite's count of commits by other connections
        (another ``normwacht`` process importing, say)."""
        row = await self.fetchone("PRAGMA data_version")
        return self.generation, int(row[0]) if row else 0

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[Tx]:
        # A read needs no lock: any coroutine may read while another writes.
        yield self._reader


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
