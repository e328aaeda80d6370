"""The database: migrations, pragmas, and write transactions that roll back whole."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.store import Database, Store
from bot.store.schema import MIGRATIONS

pytestmark = pytest.mark.both_engines


async def test_new_database_is_migrated_to_the_latest_version(tmp_path: Path) -> None:
    db = await Database.open(tmp_path / "x.sqlite3")
    try:
        row = await db.fetchone("PRAGMA user_version")
        assert row is not None and row[0] == len(MIGRATIONS)
        mode = await db.fetchone("PRAGMA journal_mode")
        assert mode is not None and mode[0] == "wal"
        fk = await db.fetchone("PRAGMA foreign_keys")
        assert fk is not None and fk[0] == 1
    finally:
        await db.close()


async def test_reopening_does_not_migrate_again(tmp_path: Path) -> None:
    path = tmp_path / "x.sqlite3"
    first = await Store.open(path)
    await first.db.execute(
        "INSERT INTO sellers (id, name, language, created_at) VALUES ('a', 'A', 'nl', 'x')"
    )
    await first.close()
    second = await Store.open(path)
    try:
        assert [s.id for s in await second.sellers.all()] == ["a"]
    finally:
        await second.close()


async def test_a_failed_transaction_leaves_nothing_behind(store: Store) -> None:
    with pytest.raises(RuntimeError):
        async with store.db.transaction() as conn:
            await conn.execute(
                "INSERT INTO sellers (id, name, language, created_at) VALUES ('a', 'A', 'nl', 'x')"
            )
            raise RuntimeError("boom")
    assert await store.sellers.all() == []


def test_a_postgresql_database_describes_itself_without_its_password() -> None:
    from bot.store.postgres import redact

    assert redact("postgresql://nw:s3cret@db.example:5433/normwacht") == (
        "postgresql://nw:***@db.example:5433/normwacht"
    )
    assert redact("postgresql://db.example/normwacht") == "postgresql://db.example/normwacht"
