"""One database, two engines: the interface the store is written against.

``bot.store.engine.open`` takes a file path (or ``sqlite:///path``) for SQLite through aiosqlite,
the embedded default, or a ``postgresql://`` URL for PostgreSQL through asyncpg, where
several ``normwacht run`` instances share the work. The store's SQL is written once
(``bot.store.engine.dialect`` turns it into each engine's); both engines give the same meaning
to a write transaction: it holds the database's write lock from its start, so a
transaction that reads and then writes never meets another writer in between.
"""

from __future__ import annotations

import asyncio
import time
from abc import ABC, abstractmethod
from collections.abc import AsyncGenerator, Awaitable, Callable, Iterable, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any, TypeVar

from bot.store.engine.dialect import Dialect, upsert

T = TypeVar("T")

# A row: read by column name or by position (sqlite3.Row and asyncpg.Record both are).
Row = Any


class DatabaseBusy(Exception):
    """Another process held the write lock for longer than this process may wait."""


class SchemaTooNew(Exception):
    """A database whose schema a newer normwacht made: this one must not touch it."""


BUSY_MESSAGE = "the database is busy: another import is running; try again"


class Tx(ABC):
    """Statements on one connection: inside a transaction, or a session's own."""

    dialect: Dialect

    @abstractmethod
    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run one statement; returns how many rows it changed."""

    @abstractmethod
    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        """Run one statement per row of parameters."""

    @abstractmethod
    async def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[Row]: ...

    @abstractmethod
    async def fetchone(self, sql: str, params: Sequence[Any] = ()) -> Row | None: ...

    @abstractmethod
    async def insert_rows(
        self, table: str, rows: Sequence[Sequence[Any]], columns: str | None = None
    ) -> None:
        """Append rows with a value for every column of ``table``, in its column order, or
        for each of ``columns`` (the others take their defaults). Many rows at once: on
        PostgreSQL a ``COPY``."""

    async def upsert_rows(
        self, table: str, columns: str, key: str, rows: Sequence[Sequence[Any]]
    ) -> None:
        """Rows of ``columns`` that replace the rows of the same ``key`` (as ``upsert``); of
        rows with the same key, the last counts. Many rows at once: on PostgreSQL one
        statement."""
        await self.executemany(upsert(table, columns, key), rows)

    @abstractmethod
    def stream(
        self, sql: str, params: Sequence[Any] = (), *, batch: int = 4096
    ) -> AsyncGenerator[list[tuple[Any, ...]], None]:
        """A query's rows as plain tuples, a batch at a time, read only as they are asked
        for (on PostgreSQL inside a transaction or a snapshot: a cursor lives in one)."""


class Database(ABC):
    """The connection (SQLite) or pool (PostgreSQL) of a process."""

    dialect: Dialect

    def __init__(self, *, busy_wait_s: float | None) -> None:
        # Bumped by every commit of this process: caches of derived data key on it.
        self.generation = 0
        # How long a writer waits for another process's write lock; None: as long as it takes.
        self.busy_wait_s = busy_wait_s

    @property
    def engine(self) -> str:
        return self.dialect.engine

    @abstractmethod
    def describe(self) -> str:
        """Which database this is, for operators: never a password."""

    def unavailable(self, exc: BaseException) -> bool:
        """Whether ``exc`` (or what caused it) says the database could not be reached or
        used for a while (down, restarting, locked), rather than that a statement is
        wrong: work that met it is tried again once the database answers."""
        seen: set[int] = set()
        current: BaseException | None = exc
        while current is not None and id(current) not in seen:
            seen.add(id(current))
            if isinstance(current, DatabaseBusy | ConnectionError | TimeoutError | OSError):
                return True
            if self._engine_unavailable(current):
                return True
            current = current.__cause__ or current.__context__
        return False

    def _engine_unavailable(self, exc: BaseException) -> bool:
        """The engine's own errors that mean ``unavailable``."""
        return False

    async def ping(self) -> None:
        """One round trip: raises when the database does not answer."""
        await self.fetchone("SELECT 1")

    async def patiently(
        self,
        call: Callable[[], Awaitable[T]],
        *,
        limit_s: float,
        first_s: float = 0.25,
        max_s: float = 5.0,
        go_on: Callable[[], bool] = lambda: True,
    ) -> T:
        """``call()``, called again with capped backoff while it fails because the
        database is unavailable (and ``go_on()``), for up to ``limit_s``; then the last
        error is raised. Other errors are raised at once."""
        deadline = time.monotonic() + limit_s
        delay = first_s
        while True:
            try:
                return await call()
            except Exception as exc:
                left = deadline - time.monotonic()
                if not self.unavailable(exc) or left <= 0 or not go_on():
                    raise
            await asyncio.sleep(min(delay, left))
            delay = min(delay * 2, max_s)

    @abstractmethod
    async def close(self) -> None: ...

    @abstractmethod
    def transaction(self, *, serial: bool = True) -> AbstractAsyncContextManager[Tx]:
        """A write transaction: committed on success, rolled back on any error.

        ``serial`` (the default) holds the database's write lock throughout, as SQLite
        always does. A transaction that only claims or updates rows by their keys, with
        row locks doing the rest, may pass ``serial=False``: on PostgreSQL it then runs
        beside other writers.
        """

    @abstractmethod
    def session(self) -> AbstractAsyncContextManager[Tx]:
        """One connection for a while, outside any transaction: for staging tables, which
        belong to the connection that made them. The task's transactions meanwhile run on
        that connection too."""

    @abstractmethod
    def snapshot(self) -> AbstractAsyncContextManager[Tx]:
        """A read-only transaction that sees the database as it was when it began, whatever
        is committed meanwhile: for reading all of it as one (a copy)."""

    @abstractmethod
    def lock(self, name: str) -> AbstractAsyncContextManager[object]:
        """Held by one process at a time among all that use this database, and let go
        when its holder dies, even by SIGKILL."""

    @abstractmethod
    def stream(
        self, sql: str, params: Sequence[Any] = (), *, batch: int = 4096
    ) -> AsyncGenerator[list[tuple[Any, ...]], None]:
        """A query's rows as plain tuples, a batch at a time."""

    @abstractmethod
    async def schema_version(self) -> int:
        """The number of the last migration this database has had."""

    @abstractmethod
    async def version(self) -> tuple[int, int]:
        """Changes so far: this process's commits, and a count that moves when other
        processes commit."""

    @abstractmethod
    def reading(self) -> AbstractAsyncContextManager[Tx]:
        """Statements outside any write transaction (within one of this task: on its
        connection, so that they see what it wrote)."""

    async def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        async with self.reading() as tx:
            return await tx.fetchall(sql, params)

    async def fetchone(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        async with self.reading() as tx:
            return await tx.fetchone(sql, params)

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """One write statement in its own transaction; returns how many rows it changed."""
        async with self.transaction() as tx:
            return await tx.execute(sql, params)

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        async with self.transaction() as tx:
            await tx.executemany(sql, rows)

    def _committed(self) -> None:
        """Called after each commit of this process."""
        self.generation += 1


def redact(url: str) -> str:
    """The URL with its password masked, however the password is written (a ``/`` or an
    ``@`` in it that was not percent-encoded included)."""
    scheme, sep, rest = url.partition("://")
    if not sep or "@" not in rest:
        return url
    userinfo, _, host = rest.rpartition("@")
    user, colon, _ = userinfo.partition(":")
    return f"{scheme}://{user}{':***' if colon else ''}@{host}"


def password_of(url: str) -> str | None:
    """The password a PostgreSQL URL carries, as written (percent-encoded, maybe)."""
    _, sep, rest = url.partition("://")
    userinfo = rest.rpartition("@")[0] if sep else ""
    _, colon, password = userinfo.partition(":")
    return password if colon and password else None


def is_postgresql(target: str) -> bool:
    return target.startswith(("postgresql://", "postgres://"))


def sqlite_path(target: str) -> str:
    """The file of a SQLite target: a path, or ``sqlite:///relative`` or
    ``sqlite:////absolute`` as other tools write it."""
    return target.removeprefix("sqlite:///")
