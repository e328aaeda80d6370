"""The PostgreSQL engine: a pool of asyncpg connections, shared by any number of processes.

Write transactions take one transaction-level advisory lock, as SQLite's BEGIN IMMEDIATE
takes its write lock: the store's transactions that read and then write (a link code
redeemed, an epoch compared, a change numbered) keep their meaning when several
instances write at once. Claims of single rows (the outbox) skip that lock and rely on
``FOR UPDATE SKIP LOCKED`` instead. Locks between processes (``lock``) are session-level
advisory locks on a connection of their own: the server lets go of them the moment their
holder's connection ends, by a clean exit or a SIGKILL alike.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import zlib
from collections.abc import AsyncGenerator, AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from contextvars import ContextVar
from typing import Any

import asyncpg

from bot.store.engine.base import BUSY_MESSAGE, Database, DatabaseBusy, Row, Tx, redact
from bot.store.engine.dialect import POSTGRESQL, Dialect
from bot.store.engine.schema import MIGRATIONS

log = logging.getLogger(__name__)

POOL_SIZE = 10
# How long closing waits for the pool's connections to be given back.
CLOSE_WAIT_S = 5.0
# Fewer rows than this are inserted by statements: a COPY costs a round trip more.
COPY_FROM = 16
FIRST_BACKOFF_S = 0.01
MAX_BACKOFF_S = 0.25
# Advisory lock keys: one namespace for the store's own, the rest hashed from a name.
_WRITE_KEY = 0x4E57_0001
_MIGRATE_KEY = 0x4E57_0002


def lock_key(name: str) -> int:
    """A stable 64-bit advisory lock key for ``name``."""
    return (0x4E57 << 32) | zlib.crc32(name.encode())


class PgTx(Tx):
    dialect = Dialect(POSTGRESQL)

    def __init__(
        self, conn: asyncpg.Connection, types: dict[str, dict[str, str]] | None = None
    ) -> None:
        self.conn = conn
        # Column types per table (the schema is migrated before the first statement).
        self._types: dict[str, dict[str, str]] = {} if types is None else types

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        status = await self.conn.execute(self.dialect.sql(sql), *params)
        return _rowcount(status)

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        batch = [tuple(r) for r in rows]
        if batch:
            await self.conn.executemany(self.dialect.sql(sql), batch)

    async def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        return list(await self.conn.fetch(self.dialect.sql(sql), *params))

    async def fetchone(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        return await self.conn.fetchrow(self.dialect.sql(sql), *params)

    async def insert_rows(
        self, table: str, rows: Sequence[Sequence[Any]], columns: str | None = None
    ) -> None:
        if not rows:
            return
        names = None if columns is None else [c.strip() for c in columns.split(",")]
        if len(rows) < COPY_FROM:
            marks = ",".join("?" * len(rows[0]))
            named = f" ({columns})" if columns is not None else ""
            await self.executemany(f"INSERT INTO {table}{named} VALUES ({marks})", rows)
            return
        schema, _, name = table.rpartition(".")
        await self.conn.copy_records_to_table(
            name, records=[tuple(r) for r in rows], columns=names, schema_name=schema or None
        )

    async def stream(
        self, sql: str, params: Sequence[Any] = (), *, batch: int = 4096
    ) -> AsyncGenerator[list[tuple[Any, ...]], None]:
        cursor = await self.conn.cursor(self.dialect.sql(sql), *params)
        while rows := await cursor.fetch(batch):
            yield [tuple(r) for r in rows]

    async def upsert_rows(
        self, table: str, columns: str, key: str, rows: Sequence[Sequence[Any]]
    ) -> None:
        if not rows:
            return
        names = [c.strip() for c in columns.split(",")]
        at = [names.index(k.strip()) for k in key.split(",")]
        # One statement may not update a row twice: of rows with one key, the last stays.
        last = {tuple(r[i] for i in at): r for r in rows}
        types = await self._column_types(table, names)
        arrays = [list(values) for values in zip(*last.values(), strict=True)]
        await self.execute(self.dialect.upsert_arrays(table, columns, key, types), arrays)

    async def _column_types(self, table: str, names: list[str]) -> list[str]:
        known = self._types.get(table)
        if known is None:
            rows = await self.conn.fetch(
                "SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute "
                "WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped",
                table,
            )
            known = self._types[table] = {r[0]: r[1] for r in rows}
        return [known[n] for n in names]


class PostgresDatabase(Database):
    dialect = Dialect(POSTGRESQL)

    def __init__(self, pool: asyncpg.Pool, url: str, *, busy_wait_s: float | None) -> None:
        super().__init__(busy_wait_s=busy_wait_s)
        self.pool = pool
        self.url = url
        # The connection the current task works on: its transaction's, or its session's.
        self._current: ContextVar[asyncpg.Connection | None] = ContextVar(
            f"normwacht_pg_{id(self)}", default=None
        )
        self._locks: dict[str, AdvisoryLock] = {}
        self._types: dict[str, dict[str, str]] = {}

    @classmethod
    async def connect(cls, url: str, *, busy_wait_s: float | None = None) -> PostgresDatabase:
        pool = await asyncpg.create_pool(
            url,
            min_size=1,
            max_size=POOL_SIZE,
            server_settings={"application_name": "normwacht"},
        )
        db = cls(pool, url, busy_wait_s=busy_wait_s)
        try:
            await db._migrate()
        except BaseException:
            await pool.close()
            raise
        return db

    def describe(self) -> str:
        return f"postgresql {redact(self.url)}"

    def _engine_unavailable(self, exc: BaseException) -> bool:
        # Connection lost or refused, the server shutting down or starting up (class 08
        # and 57P0x), or a connection the pool had that the server closed meanwhile.
        if isinstance(exc, asyncpg.InterfaceError):
            return "closed" in str(exc)  # "connection is closed", "pool is closing"
        return isinstance(
            exc,
            asyncpg.PostgresConnectionError
            | asyncpg.CannotConnectNowError
            | asyncpg.exceptions.OperatorInterventionError,
        )

    async def close(self) -> None:
        # A connection a cancelled task never gave back must not keep the process from
        # ending: after a while the rest are closed at once.
        try:
            await asyncio.wait_for(self.pool.close(), CLOSE_WAIT_S)
        except TimeoutError:
            log.warning("database: connections still in use after %gs; closing them", CLOSE_WAIT_S)
            self.pool.terminate()

    async def _migrate(self) -> None:
        """Bring the schema up to date; two instances starting at once take turns."""
        async with self.pool.acquire() as conn:
            await conn.execute("SELECT pg_advisory_lock($1)", _MIGRATE_KEY)
            try:
                await conn.execute(
                    "CREATE TABLE IF NOT EXISTS schema_version (version BIGINT NOT NULL)"
                )
                version = await conn.fetchval("SELECT MAX(version) FROM schema_version") or 0
                for number, migration in enumerate(MIGRATIONS, 1):
                    if number <= version:
                        continue
                    async with conn.transaction():
                        await conn.execute(migration.script(self.dialect))
                        await conn.execute(
                            "DELETE FROM schema_version; INSERT INTO schema_version VALUES "
                            f"({number})"
                        )
            finally:
                await conn.execute("SELECT pg_advisory_unlock($1)", _MIGRATE_KEY)

    async def schema_version(self) -> int:
        row = await self.fetchone("SELECT MAX(version) FROM schema_version")
        return int(row[0]) if row is not None and row[0] is not None else 0

    @asynccontextmanager
    async def _connection(self) -> AsyncIterator[asyncpg.Connection]:
        pinned = self._current.get()
        if pinned is not None:
            yield pinned
            return
        async with self.pool.acquire() as conn:
            yield conn

    @asynccontextmanager
    async def transaction(self, *, serial: bool = True) -> AsyncIterator[Tx]:
        async with self._connection() as conn:
            try:
                async with conn.transaction():
                    if self.busy_wait_s is not None:
                        await conn.execute(
                            f"SET LOCAL lock_timeout = {max(int(self.busy_wait_s * 1000), 1)}"
                        )
                    if serial:
                        await conn.execute("SELECT pg_advisory_xact_lock($1)", _WRITE_KEY)
                    token = self._current.set(conn)
                    try:
                        yield PgTx(conn, self._types)
                    finally:
                        self._current.reset(token)
            except asyncpg.LockNotAvailableError as exc:
                raise DatabaseBusy(BUSY_MESSAGE) from exc
        self._committed()

    @asynccontextmanager
    async def session(self) -> AsyncIterator[Tx]:
        async with self._connection() as conn:
            token = self._current.set(conn)
            try:
                yield PgTx(conn, self._types)
            finally:
                self._current.reset(token)

    @asynccontextmanager
    async def snapshot(self) -> AsyncIterator[Tx]:
        async with (
            self.pool.acquire() as conn,
            conn.transaction(isolation="repeatable_read", readonly=True),
        ):
            # The snapshot is taken by the first statement, not by BEGIN: take it now.
            await conn.execute("SELECT 1")
            token = self._current.set(conn)
            try:
                yield PgTx(conn, self._types)
            finally:
                self._current.reset(token)

    def lock(self, name: str) -> AdvisoryLock:
        if name not in self._locks:
            self._locks[name] = AdvisoryLock(self.url, name)
        return self._locks[name]

    async def stream(
        self, sql: str, params: Sequence[Any] = (), *, batch: int = 4096
    ) -> AsyncGenerator[list[tuple[Any, ...]], None]:
        # One query, read whole: callers stream chunks of sellers already, and a server
        # cursor would hold a pooled connection for as long as the reader dawdles.
        rows = await self.fetchall(sql, params)
        for start in range(0, len(rows), batch):
            yield [tuple(r) for r in rows[start : start + batch]]

    async def version(self) -> tuple[int, int]:
        """This process's commits, and the server's write-ahead log position, which moves
        with every commit of any instance."""
        lsn = await self.fetchone("SELECT pg_current_wal_lsn()::text")
        high, _, low = str(lsn[0] if lsn else "0/0").partition("/")
        return self.generation, (int(high, 16) << 32) | int(low or "0", 16)

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[Tx]:
        async with self._connection() as conn:
            yield PgTx(conn, self._types)


class AdvisoryLock:
    """A session-level advisory lock on a connection of its own (not the pool's, so that
    waiting for it never starves the pool); within the process, an ``asyncio.Lock``."""

    def __init__(self, url: str, name: str) -> None:
        self.url = url
        self.name = name
        self.key = lock_key(name)
        self._local = asyncio.Lock()
        self._conn: asyncpg.Connection | None = None

    async def __aenter__(self) -> AdvisoryLock:
        await self._local.acquire()
        try:
            conn = await asyncpg.connect(self.url)
            try:
                delay = FIRST_BACKOFF_S
                while not await conn.fetchval("SELECT pg_try_advisory_lock($1)", self.key):
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, MAX_BACKOFF_S)
            except BaseException:
                await asyncio.shield(conn.close())
                raise
            self._conn = conn
        except BaseException:
            self._local.release()
            raise
        return self

    async def __aexit__(self, *exc: object) -> None:
        conn, self._conn = self._conn, None
        try:
            if conn is not None:
                # Closing the connection lets go of the lock, also if an unlock never ran.
                with contextlib.suppress(Exception):
                    await asyncio.shield(conn.close())
        finally:
            self._local.release()

    def locked(self) -> bool:
        return self._local.locked()


def _rowcount(status: str) -> int:
    """The row count at the end of a command tag such as ``UPDATE 3``."""
    last = status.rsplit(" ", 1)[-1]
    return int(last) if last.isdigit() else 0
