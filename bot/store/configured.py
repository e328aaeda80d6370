"""The configured database opened as a store, or one line saying why it cannot be (exit
code 2)."""

from __future__ import annotations

import sqlite3
import sys
from pathlib import Path
from urllib.parse import unquote

from bot.config import Config, ConfigError, database_target
from bot.store import Store
from bot.store.engine.base import SchemaTooNew, is_postgresql, password_of, redact, sqlite_path


async def open_store(
    config: Config,
    target: Path | None = None,
    *,
    busy_wait_s: float | None,
    announce: bool = True,
) -> Store:
    """Open ``NORMWACHT_DB`` (or ``target``, a SQLite file such as the demo's); a writer
    waits up to ``busy_wait_s`` for another process (None: as long as it takes). A SQLite
    file made here is named on stderr (unless ``announce`` is off): a command run from
    another folder finds no ``data/normwacht.sqlite3`` there and starts a new one."""
    where = config.database if target is None else str(target)
    return await open_target(where, "NORMWACHT_DB", busy_wait_s=busy_wait_s, announce=announce)


async def open_target(
    target: str, name: str, *, busy_wait_s: float | None, announce: bool = False
) -> Store:
    """Open the database ``target`` names (a SQLite file, or a PostgreSQL URL); the line
    that says why it cannot be opened names it as ``name``. With ``announce``, a SQLite
    file that did not exist is named on stderr once it is made."""
    target = database_target(target, name)
    if is_postgresql(target):
        # Deferred: asyncpg is imported only by a process that uses PostgreSQL (start-up time).
        import asyncpg

        try:
            return await Store.open(target, busy_wait_s=busy_wait_s)
        except SchemaTooNew as exc:
            raise ConfigError(f"{name}: {exc}") from exc
        except (OSError, ValueError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            reason = str(exc)
            for secret in filter(None, [password_of(target), unquote(password_of(target) or "")]):
                reason = reason.replace(secret, "***")
            raise ConfigError(f"{name}: cannot open {redact(target)}: {reason}") from exc
    path = Path(sqlite_path(target))
    new = not path.exists()
    try:
        # Probed synchronously first: aiosqlite's worker thread outlives a failed connect.
        path.parent.mkdir(parents=True, exist_ok=True)
        sqlite3.connect(path).close()
        store = await Store.open(path, busy_wait_s=busy_wait_s)
    except SchemaTooNew as exc:
        raise ConfigError(f"{name}: {exc}") from exc
    except (OSError, sqlite3.Error) as exc:
        raise ConfigError(f"{name}: cannot open {path}: {exc}") from exc
    if new and announce:
        print(f"normwacht: created a new database at {path.resolve()}", file=sys.stderr)
    return store
