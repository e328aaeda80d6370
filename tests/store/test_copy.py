"""db copy: every record of one database into another, empty one, on real SQLite and
PostgreSQL, in every direction."""

from __future__ import annotations

import itertools
import sqlite3
import time
import tracemalloc
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.bol.credentials import SecretBox, new_key
from bot.commands.service import Service
from bot.config import Config
from bot.notices.check import run_check
from bot.sample import load_sample
from bot.store import Database, Store
from bot.store.engine.copy import COPIED, ENGINE_TABLES, SKIPPED, RowRefused, copy_database
from bot.store.engine.open import open_database
from bot.store.leases import Leases
from norms import INDICATORS, Exemption, Indicator, IsoWeek, WeekReport
from norms.bol import PerformanceStatus
from tests.conftest import NOW, Conversation, FixedClock, make_config, run_aside
from tests.postgres import Cluster

WEEK = IsoWeek(2026, 46)
KEY = new_key().encode("ascii")

Dump = dict[str, tuple[list[str], list[tuple[Any, ...]]]]


@pytest.fixture
def new_database(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Callable[[str], str]]:
    """Makes an empty, migrated database of either engine; returns its NORMWACHT_DB."""
    made: list[tuple[Cluster, str]] = []
    names = itertools.count(1)

    def make(engine: str) -> str:
        if engine == "sqlite":
            return str(tmp_path / f"db{next(names)}.sqlite3")
        cluster: Cluster = request.getfixturevalue("pg_cluster")
        url = run_aside(cluster.new_database())
        made.append((cluster, url))
        return url

    yield make
    for cluster, url in made:
        run_aside(cluster.drop_database(url))


async def fill(store: Store, config: Config) -> None:
    """A record in every table that is copied: the sample's sellers and weeks, and what
    running the bot adds to them."""
    await load_sample(store, config.policy, NOW)
    box = SecretBox(KEY)
    await store.sellers.set_credentials(
        "tuin-en-co", box.seal("client-1"), box.seal("secret-1"), NOW
    )
    await store.exemptions.add(
        Exemption(
            week=WEEK.shift(-1),
            reason="PostNL strike",
            indicators=frozenset({Indicator.FULFILMENT}),
            sellers=frozenset({"tuin-en-co"}),
        ),
        "operator",
        NOW,
    )  # and the recheck it owes, left undone
    await store.plans.add("snel-speelgoed", date(2026, 11, 18), "submitted", "op", NOW)
    await store.reopens.add("boekenhoek", date(2026, 11, 18), "operator", NOW)
    await store.bol_statuses.add(
        "tuin-en-co", PerformanceStatus(NOW, "GroeiKracht", points_left=70), "bol.com", NOW
    )
    telegram = await store.chats.get_or_create(
        "telegram", "1001", language="nl", now=NOW, title="Snel"
    )
    slack = await store.chats.get_or_create("slack", "C01", language="en", now=NOW)
    await store.chats.link(telegram.id, "snel-speelgoed", "test", NOW)
    await store.chats.link(slack.id, "kado-kelder", "test", NOW)
    code = await store.chats.create_link_code("tuin-en-co", NOW)
    assert await store.chats.redeem_link_code(code, slack.id, "test", NOW) == "tuin-en-co"
    await store.chats.create_link_code("zonnig-wonen", NOW)
    assert await store.chats.redeem_link_code("WRONG00000", telegram.id, "test", NOW) == "unknown"
    await store.chats.set_conversation(telegram.id, "connect_secret", {"client_id": "c"}, NOW)
    outcome = await run_check(store, config.policy, WEEK, now=NOW)
    assert outcome.planned > 1
    first = min(r.id for r in await store.outbox.history())
    await store.outbox.mark_sent(first, NOW, "remote-1")
    # What the processes running on it wrote: a Slack request seen, an instance and its lease.
    leases = Leases(store.db)
    assert await leases.first_sight("v0=seen", time.time() + 300)
    await leases.register("bot-1:4711:abcdef", NOW, "place", 4711)
    assert await leases.renew("bot-1:4711:abcdef", ["scheduler"], 15) == {"scheduler"}


async def dump(db: Database) -> Dump:
    """Every copied table's columns, and its rows sorted."""
    out: Dump = {}
    for table in COPIED:
        columns = [r[0] for r in await db.fetchall(db.dialect.columns(table))]
        rows = await db.fetchall(f"SELECT {', '.join(columns)} FROM {table}")
        out[table] = (columns, sorted((tuple(r) for r in rows), key=repr))
    return out


def assert_same(a: Dump, b: Dump) -> None:
    assert list(a) == list(b)
    for table, (columns, rows) in a.items():
        assert b[table][0] == columns, table
        other = b[table][1]
        assert len(other) == len(rows), table
        for i, column in enumerate(columns):
            assert [r[i] for r in other] == [r[i] for r in rows], f"{table}.{column}"


async def reports(store: Store, config: Config) -> list[dict[str, Any]]:
    made: list[WeekReport] = []
    await run_check(store, config.policy, WEEK, now=NOW, dry_run=True, on_report=made.append)
    return [r.to_json() for r in made]


async def status(store: Store, config: Config) -> str:
    """/status as the seller's Telegram chat reads it."""
    chat = await store.chats.find("telegram", "1001")
    assert chat is not None
    return await Conversation(Service(store, config, FixedClock()), chat).text("/status")


async def epoch_rows(db: Database) -> int:
    row = await db.fetchone("SELECT COUNT(*) FROM seller_state_epoch")
    assert row is not None
    return int(row[0])


PAIRS = [
    ("sqlite", "postgresql"),
    ("postgresql", "sqlite"),
    ("sqlite", "sqlite"),
    ("postgresql", "postgresql"),
]


@pytest.mark.parametrize(("src_engine", "dst_engine"), PAIRS, ids=[f"{a}-{b}" for a, b in PAIRS])
async def test_every_record_is_copied_and_the_copy_works_as_the_original(
    src_engine: str, dst_engine: str, new_database: Callable[[str], str], tmp_path: Path
) -> None:
    config = make_config(tmp_path)
    src = await Store.open(new_database(src_engine))
    dst = await Store.open(new_database(dst_engine))
    try:
        await fill(src, config)
        before = await dump(src.db)
        assert [t for t, (_, rows) in before.items() if not rows] == []  # every table tried
        assert (await src.db.fetchone("SELECT COUNT(*) FROM seller_states"))[0] > 0

        # Batches of 7 rows: every table of more than that goes in several.
        copied = await copy_database(src.db, dst.db, batch=7)

        assert [(c.table, c.rows) for c in copied] == [(t, len(before[t][1])) for t in COPIED]
        assert_same(before, await dump(dst.db))
        assert_same(before, await dump(src.db))  # the source is read, never written
        # The cache is not copied but rebuilt; its counter stays one row. The processes of
        # the source are not those of the target.
        for table in ("seller_states", "instances", "leases"):
            assert (await dst.db.fetchone(f"SELECT COUNT(*) FROM {table}"))[0] == 0, table
        assert await epoch_rows(dst.db) == 1
        # PostgreSQL's planner knows the copied tables' sizes before the first check.
        estimate = dst.db.dialect.estimated_rows("measurements")
        if estimate is not None:
            row = await dst.db.fetchone(estimate)
            assert row is not None and row[0] == len(before["measurements"][1])
        # The credentials are the same sealed bytes, opened by the same key.
        sealed = await dst.sellers.credentials("tuin-en-co")
        assert sealed is not None and SecretBox(KEY).open(sealed[1]) == "secret-1"

        assert await reports(dst, config) == await reports(src, config)
        assert await dst.outbox.history() == await src.outbox.history()
        assert await status(dst, config) == await status(src, config)
        assert await dst.owed.pending() == await src.owed.pending()

        # New rows after the copy get ids of their own, in every numbered table.
        numbered = [t for t in COPIED if before[t][0][0] == "id" and t != "sellers"]
        top = {t: max(r[0] for r in before[t][1]) for t in numbered}
        exemption = await dst.exemptions.add(
            Exemption(week=WEEK, reason="new", sellers=frozenset({"zonnig-wonen"})), "op", NOW
        )
        chat = await dst.chats.get_or_create("telegram", "2002", language="nl", now=NOW)
        await dst.plans.add("snel-speelgoed", date(2026, 11, 19), "approved", "op", NOW)
        await dst.reopens.add("boekenhoek", date(2026, 11, 19), "operator", NOW)
        await dst.bol_statuses.add(
            "tuin-en-co", PerformanceStatus(NOW + timedelta(days=7), points_left=65), "bol.com", NOW
        )
        await dst.chats.link(chat.id, "snel-speelgoed", "test", NOW)
        planned = await run_check(dst, config.policy, WEEK, now=NOW)
        assert planned.planned >= 1
        assert exemption > top["exemptions"] and chat.id > top["chats"]
        for table, highest in top.items():
            newest = await dst.db.fetchone(f"SELECT MAX(id), COUNT(*) FROM {table}")
            assert newest is not None and newest[0] > highest, table
            assert newest[1] > len(before[table][1]), table
    finally:
        await src.close()
        await dst.close()


@pytest.mark.parametrize("dst_engine", ["postgresql", "sqlite"])
async def test_a_row_the_target_refuses_leaves_it_empty(
    dst_engine: str, new_database: Callable[[str], str], tmp_path: Path
) -> None:
    config = make_config(tmp_path)
    source = new_database("sqlite")
    src = await Store.open(source)
    try:
        await fill(src, config)
    finally:
        await src.close()
    # SQLite checks references only where foreign keys are on: a section of a message
    # that is not there, copied after every table it refers to.
    conn = sqlite3.connect(source)
    conn.execute(
        "INSERT INTO sent_sections (seller_id, week, section, chat_id, outbox_id) "
        "VALUES ('snel-speelgoed', '2026-W46', 'warning', 1, 999)"
    )
    conn.commit()
    conn.close()

    src = await Store.open(source)
    dst = await Store.open(new_database(dst_engine))
    try:
        empty = await dump(dst.db)
        with pytest.raises(RowRefused) as refused:
            await copy_database(src.db, dst.db, batch=7)
        assert refused.value.table == "sent_sections"
        if dst_engine == "postgresql":
            assert "(outbox_id)=(999)" in str(refused.value)
        assert_same(empty, await dump(dst.db))
        assert await epoch_rows(dst.db) == 1

        # With the row gone, the same target takes the copy whole.
        await src.db.execute("DELETE FROM sent_sections WHERE outbox_id = 999")
        copied = await copy_database(src.db, dst.db)
        assert_same(await dump(src.db), await dump(dst.db))
        assert sum(c.rows for c in copied) > 1000
    finally:
        await src.close()
        await dst.close()


async def test_a_value_postgresql_cannot_hold_is_refused_by_table(
    new_database: Callable[[str], str], tmp_path: Path
) -> None:
    source = new_database("sqlite")
    src = await Store.open(source)
    try:
        await fill(src, make_config(tmp_path))
    finally:
        await src.close()
    conn = sqlite3.connect(source)  # SQLite keeps a text it cannot read as a number
    conn.execute(
        "UPDATE measurements SET numerator = 'many' WHERE seller_id = 'zonnig-wonen' "
        "AND year = 2026 AND week = 46 AND indicator = 'FULFILMENT'"
    )
    conn.commit()
    conn.close()
    src = await Store.open(source)
    dst = await Store.open(new_database("postgresql"))
    try:
        empty = await dump(dst.db)
        with pytest.raises(RowRefused) as refused:
            await copy_database(src.db, dst.db)
        assert refused.value.table == "measurements"
        assert "wrong type" in str(refused.value)
        assert_same(empty, await dump(dst.db))
    finally:
        await src.close()
        await dst.close()


TABLES = {
    "sqlite": "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
    "postgresql": "SELECT table_name::text FROM information_schema.tables "
    "WHERE table_schema = current_schema()",
}


@pytest.mark.parametrize("engine", ["sqlite", "postgresql"])
async def test_every_table_is_copied_or_skipped_on_purpose(
    engine: str, new_database: Callable[[str], str]
) -> None:
    db = await open_database(new_database(engine))
    try:
        tables = {r[0] for r in await db.fetchall(TABLES[engine])}
    finally:
        await db.close()
    assert set(COPIED) | set(SKIPPED) == tables - set(ENGINE_TABLES)
    assert len(set(COPIED)) == len(COPIED)


async def test_tables_are_copied_in_foreign_key_order(tmp_path: Path) -> None:
    db = await open_database(tmp_path / "x.sqlite3")
    try:
        for position, table in enumerate(COPIED):
            for (parent,) in await db.fetchall(
                f"SELECT DISTINCT \"table\" FROM pragma_foreign_key_list('{table}')"
            ):
                assert COPIED.index(parent) < position, (table, parent)
    finally:
        await db.close()


def build_history(path: Path, sellers: int, weeks: int) -> int:
    """A migrated SQLite file with ``weeks`` weeks of the eight indicators per seller."""
    run_aside(_migrate(path))
    conn = sqlite3.connect(path)
    stamp = "2026-11-18T09:00:00.000000Z"
    conn.executemany(
        "INSERT INTO sellers (id, name, language, created_at) VALUES (?, ?, 'nl', ?)",
        ((f"shop-{s:06d}", f"Shop {s}", stamp) for s in range(sellers)),
    )
    rows = [
        (f"shop-{s:06d}", week.year, week.week, indicator.value, 95, 100, "upload", stamp)
        for s in range(sellers)
        for week in (WEEK.shift(-back) for back in range(weeks))
        for indicator in INDICATORS
    ]
    conn.executemany(
        "INSERT INTO measurements (seller_id, year, week, indicator, numerator, denominator, "
        "source, imported_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        rows,
    )
    conn.commit()
    conn.close()
    return len(rows)


async def _migrate(path: Path) -> None:
    db = await open_database(path)
    await db.close()


@pytest.mark.parametrize("direction", ["sqlite-postgresql", "postgresql-sqlite"])
async def test_the_source_is_read_a_batch_at_a_time(
    direction: str, new_database: Callable[[str], str], tmp_path: Path
) -> None:
    """What a copy holds at once is a batch, not a table: it peaks far below what
    reading the one table whole takes."""
    seeded = tmp_path / "history.sqlite3"
    measurements = build_history(seeded, sellers=300, weeks=10)
    src_engine, dst_engine = direction.split("-")
    source = str(seeded)
    if src_engine == "postgresql":
        source = new_database("postgresql")
        seed, into = await open_database(seeded), await open_database(source)
        try:
            await copy_database(seed, into)
        finally:
            await seed.close()
            await into.close()
    src = await open_database(source)
    dst = await open_database(new_database(dst_engine))
    try:
        tracemalloc.start()
        try:
            whole = await src.fetchall("SELECT * FROM measurements")
            assert len(whole) == measurements
            del whole
            _, whole_peak = tracemalloc.get_traced_memory()
            tracemalloc.reset_peak()
            base, _ = tracemalloc.get_traced_memory()
            copied = await copy_database(src, dst, batch=200)
            _, copy_peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert dict((c.table, c.rows) for c in copied)["measurements"] == measurements
        assert copy_peak - base < whole_peak / 4, (copy_peak - base, whole_peak)
    finally:
        await src.close()
        await dst.close()
