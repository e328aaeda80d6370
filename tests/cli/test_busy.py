"""A second CLI writer while another process holds a long write: it waits and succeeds,
or, past ``NORMWACHT_BUSY_WAIT``, exits 2 with one line and changes nothing."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import sys
from pathlib import Path

import pytest

from bot.store import Store
from norms import Exemption, IsoWeek
from tests.conftest import NOW
from tests.store.test_busy import other_writer

BUSY_LINE = "normwacht: the database is busy: another import is running; try again"


async def prepared(tmp_path: Path) -> Path:
    db = tmp_path / "cli.sqlite3"
    store = await Store.open(db)
    try:
        await store.sellers.add("shop-1", "Shop 1", "nl", NOW)
    finally:
        await store.close()
    return db


async def start(tmp_path: Path, db: Path, *args: str, **extra: str) -> asyncio.subprocess.Process:
    env = {
        **os.environ,
        "NORMWACHT_DB": str(db),
        "NORMWACHT_NOW": NOW.isoformat(),
        "TELEGRAM_BOT_TOKEN": "",
        "SLACK_BOT_TOKEN": "",
        **extra,
    }
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        *args,
        env=env,
        cwd=tmp_path,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


def count(db: Path, table: str) -> int:
    conn = sqlite3.connect(db)
    try:
        return int(conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])
    finally:
        conn.close()


def week_file(tmp_path: Path) -> Path:
    path = tmp_path / "w46.csv"
    path.write_text(
        "seller_id,year,week,indicator,numerator,denominator,value,norm\n"
        "shop-1,2026,46,FULFILMENT,135,150,,0.93\n",
        "utf-8",
    )
    return path


async def test_a_second_writer_waits_for_the_first_and_succeeds(tmp_path: Path) -> None:
    db = await prepared(tmp_path)
    with other_writer(db):
        process = await start(tmp_path, db, "import", str(week_file(tmp_path)))
        # It parsed and staged, and now waits for the lock instead of failing.
        done, _ = await asyncio.wait([asyncio.ensure_future(process.wait())], timeout=0.5)
        assert not done, "the import did not wait for the lock"
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0, err.decode()
    assert "imported 1 measurement(s)" in out.decode()
    assert count(db, "measurements") == 1


async def test_past_the_bound_a_writer_exits_2_with_one_line_and_changes_nothing(
    tmp_path: Path,
) -> None:
    db = await prepared(tmp_path)
    with other_writer(db):
        runs = [
            await start(tmp_path, db, *args, NORMWACHT_BUSY_WAIT="0.3")
            for args in (
                ("import", str(week_file(tmp_path))),
                ("seller", "add", "shop-2", "--name", "Shop 2"),
                ("check", "--week", "2026-W46"),
            )
        ]
        answers = [await asyncio.wait_for(p.communicate(), 60) for p in runs]
    for process, (_, err) in zip(runs, answers, strict=True):
        assert process.returncode == 2
        assert err.decode().splitlines() == [BUSY_LINE]
    assert count(db, "measurements") == 0
    assert count(db, "sellers") == 1
    assert count(db, "owed_work") == 0


async def test_a_change_already_stored_is_not_reported_as_refused_when_its_recheck_meets_a_lock(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from bot.cli.common import Context, complete_owed
    from tests.conftest import make_config

    db = await prepared(tmp_path)
    config = make_config(tmp_path, NORMWACHT_DB=str(db))
    store = await Store.open(db, busy_wait_s=0.2)
    try:
        # An exemption is stored with the recheck it owes; then another process writes.
        await store.data.add_exemption(
            Exemption(IsoWeek(2026, 46), "carrier strike"), "operator", NOW
        )
        with other_writer(db):
            assert await complete_owed(Context(config, store, lambda: NOW)) == 0
        assert "the rechecks are kept" in capsys.readouterr().err
        assert len(await store.owed.pending()) == 1
    finally:
        await store.close()
