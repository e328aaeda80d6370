"""The one SQLite connection of a process: WAL, foreign keys, serialised writes, migrations."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiosqlite

from bot.store.schema import MIGRATIONS


class Database:
    """A single aiosqlite connection shared by the process.

    A shared connection does not isolate coroutines' transactions, so every write
    transaction holds ``_write_lock`` from BEGIN to COMMIT.
    """

    def __init__(self, conn: aiosqlite.Connection, path: str) -> None:
        self.conn = conn
        self.path = path
        self._write_lock = asyncio.Lock()
        # Bumped by every commit of this connection: caches of derived data key on it.
        self.generation = 0

    @classmethod
    async def open(cls, path: Path | str) -> Database:
        """Open (creating if needed) and migrate the database at ``path``."""
        target = str(path)
        if target != ":memory:":
            Path(target).parent.mkdir(parents=True, exist_ok=True)
        conn = await aiosqlite.connect(target, isolation_level=None)
        try:
            conn.row_factory = aiosqlite.Row
            await conn.execute("PRAGMA journal_mode=WAL")
            await conn.execute("PRAGMA busy_timeout=5000")
            await conn.execute("PRAGMA foreign_keys=ON")
            await conn.execute("PRAGMA synchronous=NORMAL")
            db = cls(conn, target)
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
        """A write transaction: committed on success, rolled back on any error."""
        async with self._write_lock:
            try:
                await self.conn.execute("BEGIN IMMEDIATE")
                yield self.conn
            except BaseException:
                # Also when cancelled during BEGIN: never leave the connection inside a
                # transaction that the next writer would trip over.
                if self.conn.in_transaction:
                    await asyncio.shield(self.conn.execute("ROLLBACK"))
                raise
            await self.conn.execute("COMMIT")
            self.generation += 1

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
    return [s.strip() for s in script.split(";") if s.strip()]
