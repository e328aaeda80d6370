"""The one way a database is opened: the engine chosen from what the target names (a
SQLite file, or a PostgreSQL URL), the schema made or migrated, and a database a newer
normwacht made refused."""

from __future__ import annotations

from pathlib import Path

from bot.store.engine.base import Database, SchemaTooNew, is_postgresql, sqlite_path
from bot.store.engine.schema import MIGRATIONS
from bot.store.engine.sqlite import SqliteDatabase


async def open_database(target: Path | str, *, busy_wait_s: float | None = None) -> Database:
    """Open (creating if needed) and migrate the database ``target`` names: a file path (or
    ``sqlite:///path``) for SQLite through aiosqlite, the embedded default, or a
    ``postgresql://`` URL for PostgreSQL through asyncpg. A writer waits up to
    ``busy_wait_s`` for another process's write lock (None: as long as it takes)."""
    url = str(target)
    db: Database
    if is_postgresql(url):
        # Deferred: asyncpg is imported only by a process that uses PostgreSQL (start-up time).
        from bot.store.engine.postgres import PostgresDatabase

        db = await PostgresDatabase.connect(url, busy_wait_s=busy_wait_s)
    else:
        db = await SqliteDatabase.connect(sqlite_path(url), busy_wait_s=busy_wait_s)
    # A newer version's schema: what this one reads or writes there may be wrong.
    version = await db.schema_version()
    if version > len(MIGRATIONS):
        await db.close()
        raise SchemaTooNew(
            f"{db.describe()} is at schema version {version}, newer than this normwacht "
            f"knows ({len(MIGRATIONS)}): upgrade normwacht"
        )
    return db
