"""Another process holding the write lock: writers wait and retry, reads go on, and a
bounded writer gives up with ``DatabaseBusy``."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from bot.store import DatabaseBusy, Store
from bot.store.engine.sqlite import is_busy
from tests.conftest import NOW


@contextmanager
def other_writer(path: Path | str) -> Iterator[sqlite3.Connection]:
    """Another process's write transaction, held until the block ends."""
    conn = sqlite3.connect(path, isolation_level=None, timeout=0)
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    finally:
        conn.execute("COMMIT")
        conn.close()


async def seller_count(store: Store) -> int:
    row = await store.db.fetchone("SELECT COUNT(*) FROM sellers")
    assert row is not None
    return int(row[0])


async def test_a_writer_waits_for_the_lock_while_reads_of_the_process_go_on(
    store: Store,
) -> None:
    holder = sqlite3.connect(store.db.path, isolation_level=None, timeout=0)
    holder.execute("BEGIN IMMEDIATE")
    write = asyncio.create_task(
        store.db.execute(
            "INSERT INTO sellers (id, name, language, created_at) VALUES ('a', 'A', 'nl', 'x')"
        )
    )
    try:
        # The writer is retrying, yet the connection answers reads at once: the wait is in
        # the event loop, not in SQLite's busy handler in the connection's thread.
        for _ in range(20):
            assert await asyncio.wait_for(seller_count(store), 0.5) == 0
        assert not write.done()
    finally:
        holder.execute("COMMIT")
        holder.close()
    await asyncio.wait_for(write, 5)
    assert await seller_count(store) == 1


async def test_a_bounded_writer_gives_up_with_database_busy_and_changes_nothing(
    tmp_path: Path,
) -> None:
    store = await Store.open(tmp_path / "b.sqlite3", busy_wait_s=0.2)
    try:
        with other_writer(store.db.path), pytest.raises(DatabaseBusy) as raised:
            await store.sellers.add("a", "A", "nl", NOW)
        assert str(raised.value) == "the database is busy: another import is running; try again"
        assert await seller_count(store) == 0
        # Once the lock is free the same store writes again.
        await store.sellers.add("a", "A", "nl", NOW)
        assert await seller_count(store) == 1
    finally:
        await store.close()


def test_busy_is_told_apart_from_other_operational_errors(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite3"
    sqlite3.connect(path).execute("PRAGMA journal_mode=WAL").close()
    with other_writer(path):
        second = sqlite3.connect(path, isolation_level=None, timeout=0)
        with pytest.raises(sqlite3.OperationalError) as busy:
            second.execute("BEGIN IMMEDIATE")
        second.close()
    assert is_busy(busy.value)
    with pytest.raises(sqlite3.OperationalError) as other:
        sqlite3.connect(path).execute("SELECT * FROM no_such_table")
    assert not is_busy(other.value)
