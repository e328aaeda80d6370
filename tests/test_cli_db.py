"""normwacht migrate, run as operators run them, on both engines."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import asyncpg
import pytest

from bot.store import Database
from bot.store.postgres import _MIGRATE_KEY, redact
from bot.store.schema import MIGRATIONS
from tests.conftest import run_aside
from tests.postgres import Cluster

pytestmark = pytest.mark.both_engines

SCRIPT = str(Path(sys.executable).with_name("normwacht"))
VERSION = len(MIGRATIONS)


def environment(folder: Path, database: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("TELEGRAM_BOT_TOKEN", "SLACK_BOT_TOKEN", "NORMWACHT_SECRET_KEY")
    }
    return {**env, "NORMWACHT_DB": database, "NORMWACHT_NOW": "2026-11-19T10:00+01:00"}


def normwacht(folder: Path, database: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [SCRIPT, *args],
        cwd=folder,
        env=environment(folder, database),
        capture_output=True,
        text=True,
        check=False,
    )


def with_password(url: str, password: str = "s3cret-pw") -> str:
    """The URL with a password (the test cluster trusts every connection, and asks none)."""
    return url.replace("://normwacht@", f"://normwacht:{password}@")


def described(database: str) -> str:
    if database.startswith("postgresql://"):
        return f"postgresql {redact(database)}"
    return f"sqlite {database}"


def test_migrate_says_which_database_and_its_schema_version(
    engine: str, database: str, tmp_path: Path
) -> None:
    target = with_password(database) if engine == "postgresql" else database
    done = normwacht(tmp_path, target, "migrate")
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout == f"normwacht: {described(target)} is at schema version {VERSION}\n"
    assert "s3cret-pw" not in done.stdout
    again = normwacht(tmp_path, target, "migrate")
    assert (again.returncode, again.stdout) == (0, done.stdout)


def test_migrate_refuses_a_database_it_cannot_open(
    engine: str, database: str, tmp_path: Path
) -> None:
    if engine == "postgresql":
        target = with_password(database.rsplit("/", 1)[0] + "/no_such_database")
        expected = f"normwacht: NORMWACHT_DB: cannot open {redact(target)}: "
    else:
        target = "/proc/normwacht.sqlite3"  # not even root may make it
        expected = f"normwacht: NORMWACHT_DB: cannot open {target}: "
    done = normwacht(tmp_path, target, "migrate")
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.startswith(expected) and done.stderr.count("\n") == 1
    assert "s3cret-pw" not in done.stderr


def test_migrate_refuses_a_schema_newer_than_it_knows(
    engine: str, database: str, tmp_path: Path
) -> None:
    async def from_the_future() -> None:
        db = await Database.open(database)
        try:
            if engine == "sqlite":
                await db.execute(f"PRAGMA user_version = {VERSION + 1}")
            else:
                await db.execute("UPDATE schema_version SET version = ?", (VERSION + 1,))
        finally:
            await db.close()

    run_aside(from_the_future())
    done = normwacht(tmp_path, database, "migrate")
    assert done.returncode == 2
    assert f"is at schema version {VERSION + 1}, newer than this normwacht knows" in done.stderr


def test_two_migrates_at_once_on_a_fresh_postgresql_database(
    pg_cluster: Cluster, tmp_path: Path
) -> None:
    url = run_aside(pg_cluster.new_database(migrated=False))
    try:
        run_aside(_migrate_twice_at_once(url, tmp_path))
    finally:
        run_aside(pg_cluster.drop_database(url))


async def _migrate_twice_at_once(url: str, folder: Path) -> None:
    # The test holds the migration lock until both processes wait for it, so that they
    # start migrating at the same moment.
    gate = await asyncpg.connect(url)
    try:
        await gate.execute("SELECT pg_advisory_lock($1)", _MIGRATE_KEY)
        processes = [
            await asyncio.create_subprocess_exec(
                SCRIPT,
                "migrate",
                cwd=folder,
                env=environment(folder, url),
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
            )
            for _ in range(2)
        ]
        waiting = 0
        while waiting < 2 and all(p.returncode is None for p in processes):
            await asyncio.sleep(0.05)
            waiting = await gate.fetchval(
                "SELECT COUNT(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted "
                "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
            )
        assert waiting == 2
        await gate.execute("SELECT pg_advisory_unlock($1)", _MIGRATE_KEY)
        outputs = [await p.communicate() for p in processes]
        for process, (out, err) in zip(processes, outputs, strict=True):
            assert (process.returncode, err.decode()) == (0, ""), out
            assert out.decode() == f"normwacht: {described(url)} is at schema version {VERSION}\n"
        assert await gate.fetch("SELECT version FROM schema_version") == [(VERSION,)]
        tables = await gate.fetch(
            "SELECT table_name::text FROM information_schema.tables WHERE table_schema = 'public'"
        )
        assert {"sellers", "measurements", "outbox", "seller_states"} <= {t[0] for t in tables}
        epoch = await gate.fetch("SELECT n FROM seller_state_epoch")
        assert len(epoch) == 1
    finally:
        await gate.close()


def test_two_migrates_at_once_on_a_new_sqlite_file(tmp_path: Path) -> None:
    # No gate to hold here: the pairs start together, and each must leave one schema.
    for attempt in range(6):
        path = tmp_path / f"new-{attempt}.sqlite3"
        processes = [
            subprocess.Popen(
                [SCRIPT, "migrate"],
                cwd=tmp_path,
                env=environment(tmp_path, str(path)),
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(2)
        ]
        for process in processes:
            _, err = process.communicate()
            assert (process.returncode, err) == (0, "")
        conn = sqlite3.connect(path)
        try:
            assert conn.execute("PRAGMA user_version").fetchone() == (VERSION,)
            assert conn.execute("SELECT COUNT(*) FROM seller_state_epoch").fetchone() == (1,)
        finally:
            conn.close()
