"""normwacht migrate and normwacht db copy, run as operators run them, on both engines."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import pytest

from bot.cli.main import main
from bot.sample import sample_path
from bot.store.engine.copy import COPIED
from bot.store.engine.open import open_database
from bot.store.engine.postgres import _MIGRATE_KEY, redact
from bot.store.engine.schema import MIGRATIONS
from bot.store.leases import Leases
from tests.cli.conftest import SCRIPT
from tests.conftest import engine_database, run_aside
from tests.postgres import Cluster

pytestmark = pytest.mark.both_engines

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


@pytest.fixture
def second_database(engine: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    """Another database of the test's engine."""
    yield from engine_database(engine, tmp_path / "second.sqlite3", request)


def test_migrate_says_which_database_and_its_schema_version(
    engine: str, database: str, tmp_path: Path
) -> None:
    target = with_password(database) if engine == "postgresql" else database
    done = normwacht(tmp_path, target, "migrate")
    # A new SQLite file is named as it is made; a PostgreSQL database exists beforehand.
    created = "" if engine == "postgresql" else f"normwacht: created a new database at {target}\n"
    assert (done.returncode, done.stderr) == (0, created)
    assert done.stdout == f"normwacht: {described(target)} is at schema version {VERSION}\n"
    assert "s3cret-pw" not in done.stdout
    again = normwacht(tmp_path, target, "migrate")
    assert (again.returncode, again.stdout, again.stderr) == (0, done.stdout, "")


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


def make_from_the_future(engine: str, database: str) -> None:
    """The database as a newer normwacht left it: one schema version ahead."""

    async def from_the_future() -> None:
        db = await open_database(database)
        try:
            if engine == "sqlite":
                await db.execute(f"PRAGMA user_version = {VERSION + 1}")
            else:
                await db.execute("UPDATE schema_version SET version = ?", (VERSION + 1,))
        finally:
            await db.close()

    run_aside(from_the_future())


@pytest.mark.parametrize(
    "command",
    [
        ["seller", "list"],
        ["import", "week.csv"],
        ["check", "--week", "2026-W46"],
        ["sent"],
        ["deliver"],
        ["db", "backup", "backup.sqlite3"],
        ["keygen", "--rotate"],
        ["run"],
    ],
)
def test_every_command_refuses_a_schema_newer_than_it_knows(
    engine: str, database: str, tmp_path: Path, command: list[str]
) -> None:
    """Not only migrate: a command that opens the database stops before reading or
    writing it, with one line naming both versions."""
    make_from_the_future(engine, database)
    (tmp_path / "week.csv").write_text(
        "seller_id,week,indicator,numerator,denominator\nshop-1,2026-W46,FULFILMENT,1,2\n",
        encoding="utf-8",
    )
    env = environment(tmp_path, database)
    env["NORMWACHT_SECRET_KEY"] = "x" * 43 + "="
    if command == ["run"]:
        # A bot for Telegram works on NORMWACHT_DB (the console alone has the samples' own).
        env.update(TELEGRAM_BOT_TOKEN="42:run", TELEGRAM_API_URL="http://127.0.0.1:9")
    done = subprocess.run(
        [SCRIPT, *command],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 2, done.stderr
    assert done.stderr == (
        f"normwacht: NORMWACHT_DB: {described(database)} is at schema version {VERSION + 1}, "
        f"newer than this normwacht knows ({VERSION}): upgrade normwacht\n"
    )
    assert not (tmp_path / "backup.sqlite3").exists()


def test_migrate_refuses_a_schema_newer_than_it_knows(
    engine: str, database: str, tmp_path: Path
) -> None:
    async def from_the_future() -> None:
        db = await open_database(database)
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
        assert set(COPIED) <= {t[0] for t in tables}
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
        created = 0
        for process in processes:
            _, err = process.communicate()
            assert process.returncode == 0, err
            assert err in ("", f"normwacht: created a new database at {path}\n")
            created += bool(err)
        assert created in (1, 2)  # both may have found no file yet
        conn = sqlite3.connect(path)
        try:
            assert conn.execute("PRAGMA user_version").fetchone() == (VERSION,)
            assert conn.execute("SELECT COUNT(*) FROM seller_state_epoch").fetchone() == (1,)
        finally:
            conn.close()


def _seeded(folder: Path, database: str) -> None:
    """The sample's sellers and weeks, checked, with a chat that was told."""
    files = [str(sample_path("indicators.csv")), str(sample_path("ratings.csv"))]
    for args in (
        ("import", *files, "--create-sellers"),
        ("seller", "add", "new-shop", "--name", "New Shop"),
        ("check", "--week", "2026-W46"),
    ):
        done = normwacht(folder, database, *args)
        assert done.returncode == 0, done.stderr


def test_db_copy_copies_and_says_what_went_where(
    engine: str, database: str, tmp_path: Path
) -> None:
    """From a SQLite file (the usual move) into the test's engine, and back out of it."""
    source = str(tmp_path / "old.sqlite3")
    _seeded(tmp_path, source)
    target = with_password(database) if engine == "postgresql" else database
    done = normwacht(tmp_path, source, "db", "copy", source, target)
    assert (done.returncode, done.stderr) == (0, "")
    lines = done.stdout.splitlines()
    assert lines[0] == "sellers: 6 row(s)"
    assert "measurements: 1256 row(s)" in lines
    assert [line.split(":")[0] for line in lines[: len(COPIED)]] == list(COPIED)
    assert "seller_states: not copied (a cache of derived states; the next check rebuilds it)" in (
        lines
    )
    assert lines[-1].startswith("copied ")
    assert lines[-1].endswith(f" row(s) from sqlite {source} to {described(target)}")
    assert "s3cret-pw" not in done.stdout

    listed = normwacht(tmp_path, target, "seller", "list")
    assert listed.returncode == 0 and "new-shop\tNew Shop" in listed.stdout
    checked = normwacht(tmp_path, target, "check", "--week", "2026-W46", "--dry-run")
    original = normwacht(tmp_path, source, "check", "--week", "2026-W46", "--dry-run")
    assert checked.returncode == 0 and checked.stdout == original.stdout

    back = str(tmp_path / "back.sqlite3")
    again = normwacht(tmp_path, target, "db", "copy", target, back)
    assert again.returncode == 0, again.stderr
    assert again.stdout.splitlines()[: len(COPIED)] == lines[: len(COPIED)]


def test_db_copy_into_a_database_with_data_changes_nothing(
    engine: str, database: str, second_database: str, tmp_path: Path
) -> None:
    _seeded(tmp_path, database)
    assert (
        normwacht(tmp_path, second_database, "seller", "add", "mine", "--name", "M").returncode == 0
    )
    before = run_aside(_rows(second_database))
    target = with_password(second_database) if engine == "postgresql" else second_database
    done = normwacht(tmp_path, database, "db", "copy", database, target)
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr == (
        f"normwacht: DST {described(target)} is not empty (table sellers has rows): db copy "
        "fills an empty database only, it never merges; nothing was copied\n"
    )
    assert run_aside(_rows(second_database)) == before


def test_db_copy_refuses_a_source_that_is_not_there(
    engine: str, database: str, tmp_path: Path
) -> None:
    assert normwacht(tmp_path, database, "migrate").returncode == 0
    missing = tmp_path / "typo.sqlite3"
    done = normwacht(tmp_path, database, "db", "copy", str(missing), database)
    assert (done.returncode, done.stderr) == (2, f"normwacht: SRC {missing}: no such file\n")
    assert not missing.exists()
    same = normwacht(tmp_path, database, "db", "copy", database, database)
    assert (same.returncode, same.stderr) == (2, "normwacht: SRC and DST are the same database\n")


async def _rows(database: str) -> dict[str, list[tuple[object, ...]]]:
    db = await open_database(database)
    try:
        return {
            t: sorted((tuple(r) for r in await db.fetchall(f"SELECT * FROM {t}")), key=repr)
            for t in (*COPIED, "seller_states", "seller_state_epoch")
        }
    finally:
        await db.close()


def test_db_copy_refuses_a_database_a_bot_runs_on(
    engine: str, database: str, second_database: str, tmp_path: Path
) -> None:
    _seeded(tmp_path, database)

    async def register(target: str, instance: str) -> None:
        db = await open_database(target)
        try:
            await Leases(db).register(instance, datetime.now(UTC), "place", 4711)
        finally:
            await db.close()

    async def release(target: str, instance: str) -> None:
        db = await open_database(target)
        try:
            await Leases(db).release(instance)
        finally:
            await db.close()

    for name, target in (("SRC", database), ("DST", second_database)):
        run_aside(register(target, "bot-1:4711:abcdef"))
        done = normwacht(tmp_path, database, "db", "copy", database, second_database)
        assert done.returncode == 2
        assert done.stderr.startswith(
            f"normwacht: {name} {described(target)} is in use by normwacht bot-1:4711:abcdef: "
            "stop it first"
        )
        run_aside(release(target, "bot-1:4711:abcdef"))
    assert run_aside(_rows(second_database))["sellers"] == []
    done = normwacht(tmp_path, database, "db", "copy", database, second_database)
    assert done.returncode == 0, done.stderr


def test_keygen_prints_a_usable_key(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from bot.config import load_config

    assert main(["keygen"]) == 0
    key = capsys.readouterr().out.strip()
    assert load_config(env={"NORMWACHT_SECRET_KEY": key}, dotenv=None).secret_key is not None
