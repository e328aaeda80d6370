"""Every record of one database into another, empty one: SQLite to PostgreSQL, or back.

The source is read in one snapshot, a batch at a time, so its size does not bound the
copy; the target is written in one transaction, so a copy that stops halfway leaves it
as empty as it was, and one that finds data in it writes nothing: a copy never merges.
What is derived is not copied: the fold's cache rebuilds itself, and its change counter
is the target's own.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Final

import asyncpg

from bot.store.engine.base import Database, Tx

# In foreign-key order: every row's parents are in before it.
COPIED: Final = (
    "sellers",
    "credentials",
    "measurements",
    "shop_ratings",
    "exemptions",
    "plan_events",
    "reopens",
    "chats",
    "chat_sellers",
    "link_codes",
    "link_attempts",
    "conversations",
    "outbox",
    "sent_sections",
    "job_runs",
    "owed_work",
    "seen_requests",
    "bol_statuses",
)

# Not copied, and why; the target keeps what its own migration wrote.
SKIPPED: Final = {
    "seller_states": "a cache of derived states; the next check rebuilds it",
    "seller_state_epoch": "the cache's change counter; the target keeps its own",
    "seller_state_reach": "how far the cache reaches; the target's own starts empty",
    "instances": "the processes that ran on the source; each registers itself where it runs",
    "leases": "held by processes of the source; taken afresh by those of the target",
}

# How far an engine's schema is (SQLite keeps it in PRAGMA user_version). Every other
# table is in COPIED or SKIPPED: a test holds the three to the schema.
ENGINE_TABLES: Final = ("schema_version",)

BATCH = 5000


class CopyRefused(Exception):
    """The copy did not happen; nothing was written to the target."""


class TargetNotEmpty(CopyRefused):
    def __init__(self, table: str) -> None:
        super().__init__(f"table {table} has rows")
        self.table = table


class RowRefused(CopyRefused):
    """The target refused a row of the source: a constraint it breaks, or a value of
    the wrong type (SQLite's tables take what they are given; PostgreSQL's do not)."""

    def __init__(self, table: str, detail: str) -> None:
        super().__init__(f"table {table}: {detail}")
        self.table = table
        self.detail = detail


@dataclass(frozen=True, slots=True)
class Copied:
    table: str
    rows: int


async def copy_database(source: Database, target: Database, *, batch: int = BATCH) -> list[Copied]:
    """Copy every record of ``source`` into ``target``, which must hold none, in one
    transaction on ``target``; returns the rows of each table, in the order copied."""
    async with source.snapshot() as src, target.transaction() as dst:
        for table in (*COPIED, "seller_states"):
            if await dst.fetchone(f"SELECT 1 FROM {table} LIMIT 1") is not None:
                raise TargetNotEmpty(table)
        copied = [await _copy_table(src, dst, table, batch) for table in COPIED]
        await _ids_past_copied(dst)
        # A planner that never saw the rows plans the first checks as if the tables were
        # empty (PostgreSQL): it learns them now, not when autovacuum comes round.
        for done in copied:
            analyze = dst.dialect.analyze(done.table)
            if analyze is not None and done.rows:
                await dst.execute(analyze)
    return copied


async def _copy_table(src: Tx, dst: Tx, table: str, batch: int) -> Copied:
    # By name, in the target's column order, which is the order insert_rows writes.
    columns = [row[0] for row in await dst.fetchall(dst.dialect.columns(table))]
    select = f"SELECT {', '.join(columns)} FROM {table}"
    rows = 0
    async for chunk in src.stream(select, batch=batch):
        try:
            await dst.insert_rows(table, chunk)
        except _REFUSALS as exc:
            raise RowRefused(table, _detail(exc)) from exc
        except (TypeError, ValueError) as exc:
            # asyncpg's COPY encodes each value by its column's type, and says only what
            # did not fit.
            raise RowRefused(table, f"a value of the wrong type for its column: {exc}") from exc
        rows += len(chunk)
    return Copied(table, rows)


async def _ids_past_copied(dst: Tx) -> None:
    """Rows copied with their ids leave an identity's sequence where it was: move it past
    them, or the next new row would get the id of a copied one."""
    query = dst.dialect.identities
    if query is None:
        return
    for table, column in await dst.fetchall(query):
        if table in COPIED:
            await dst.fetchone(dst.dialect.identity_past_max(table, column))


_REFUSALS: Final = (
    sqlite3.IntegrityError,
    sqlite3.DataError,
    asyncpg.IntegrityConstraintViolationError,
    asyncpg.DataError,
)


def _detail(exc: BaseException) -> str:
    """The target's words, with the key PostgreSQL names (``Key (chat_id)=(9) ...``)."""
    detail = getattr(exc, "detail", None)
    return f"{exc} ({detail.rstrip('.')})" if detail else str(exc)
