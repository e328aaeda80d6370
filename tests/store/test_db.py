"""The database: migrations, pragmas, and write transactions that roll back whole."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.store import Store
from bot.store.engine.open import open_database
from bot.store.engine.schema import MIGRATIONS

pytestmark = pytest.mark.both_engines


async def test_new_database_is_migrated_to_the_latest_version(tmp_path: Path) -> None:
    db = await open_database(tmp_path / "x.sqlite3")
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
    from bot.store.engine.postgres import redact

    assert redact("postgresql://nw:s3cret@db.example:5433/normwacht") == (
        "postgresql://nw:***@db.example:5433/normwacht"
    )
    assert redact("postgresql://db.example/normwacht") == "postgresql://db.example/normwacht"


@pytest.mark.parametrize("count", [3, 40])
async def test_rows_inserted_in_bulk_name_their_columns(store: Store, count: int) -> None:
    """Few rows go as statements and many as a COPY on PostgreSQL: both the same."""
    rows = [(f"s{n:02d}", f"Shop {n}", "2026-11-19T09:00:00Z") for n in range(count)]
    async with store.db.transaction() as tx:
        await tx.insert_rows("sellers", rows, "id, name, created_at")
    stored = await store.db.fetchall("SELECT id, name, language FROM sellers ORDER BY id")
    # The column not named takes its default.
    assert [tuple(r) for r in stored] == [(i, name, "nl") for i, name, _ in rows]


@pytest.mark.parametrize("count", [2, 40])
async def test_upserted_rows_replace_those_of_their_key_and_the_last_of_a_key_counts(
    store: Store, count: int
) -> None:
    sellers = [(f"s{n:02d}", f"Shop {n}", "nl", "x") for n in range(count)]
    async with store.db.transaction() as tx:
        await tx.insert_rows("sellers", sellers, "id, name, language, created_at")
        await tx.upsert_rows(
            "seller_states",
            "seller_id, policy, week_key, state, alerts",
            "seller_id, policy, week_key",
            [(s[0], "p", 202646, "old", "kept?") for s in sellers],
        )
    async with store.db.transaction() as tx:
        await tx.upsert_rows(
            "seller_states",
            "seller_id, policy, week_key, state, alerts",
            "seller_id, policy, week_key",
            [
                ("s00", "p", 202646, "first", None),
                ("s00", "p", 202647, "new week", "a"),
                ("s00", "p", 202646, "second", None),
            ],
        )
    rows = await store.db.fetchall(
        "SELECT seller_id, week_key, state, alerts FROM seller_states ORDER BY seller_id, week_key"
    )
    assert [tuple(r) for r in rows] == [
        ("s00", 202646, "second", None),
        ("s00", 202647, "new week", "a"),
        *((s[0], 202646, "old", "kept?") for s in sellers[1:]),
    ]


async def test_many_rows_inserted_in_bulk_keep_their_order_and_values(store: Store) -> None:
    """Many rows go several to a statement on SQLite: each row lands whole, in order."""
    rows = [
        (f"s{n:04d}", f"Shop {n}", "fr" if n % 7 else "nl", f"2026-11-{n % 28 + 1:02d}")
        for n in range(1000)
    ]
    async with store.db.transaction() as tx:
        await tx.insert_rows("sellers", rows, "id, name, language, created_at")
    stored = await store.db.fetchall(
        "SELECT id, name, language, created_at FROM sellers ORDER BY id"
    )
    assert [tuple(r) for r in stored] == rows


async def test_a_short_row_among_many_is_refused_not_filled_from_the_next(
    store: Store,
) -> None:
    rows: list[tuple[str, ...]] = [(f"s{n:04d}", f"Shop {n}", "x") for n in range(600)]
    rows[10] = ("s0010", "Shop 10")
    rows[11] = ("s0011", "Shop 11", "x", "y")
    with pytest.raises(Exception, match=r"bind|index"):
        async with store.db.transaction() as tx:
            await tx.insert_rows("sellers", rows, "id, name, created_at")
    assert await store.sellers.all() == []
