"""A Wednesday run killed (SIGKILL) right after any of its commits: the next process does
the checks it owed, the poll job's next run does the rest, and the outbox ends as a clean
run leaves it, nothing planned twice."""

from __future__ import annotations

import asyncio
import os
import shutil
import sqlite3
import sys
from dataclasses import asdict
from datetime import datetime
from pathlib import Path

from bot.bol.credentials import SecretBox, new_key
from bot.commands.service import Service
from bot.config import Config
from bot.imports import ImportFile, import_files
from bot.notices.owed_work import complete_owed_work
from bot.runtime.schedule import WeeklySchedule
from bot.runtime.wednesday import wednesday_poller
from bot.store import Store
from bot.store.jobs import POLL
from tests.conftest import make_config
from tests.crash_hook import crash_after_commit
from tests.fakes.bol import FakeBol
from tests.runtime.test_wednesday import FAST, WEEK, week_of_data

# Wednesday 06:30 in Amsterdam: the poll job's time has come.
NOW = "2026-11-18T06:30:00+01:00"
START = datetime.fromisoformat(NOW)
SELLERS = 6  # polled; one more sends its figures by upload
# The scheduler's poll job, in a process of its own (the crash hook counts its commits).
SCRIPT = f"""
import asyncio

from bot.bol.api import RequestBudget
from bot.clock import clock_from_env
from bot.commands.service import Service
from bot.config import load_config
from bot.runtime.schedule import WeeklySchedule
from bot.runtime.wednesday import wednesday_poller
from bot.store import Store

async def main() -> None:
    config = load_config()
    store = await Store.open(config.database)
    try:
        poller = wednesday_poller(store, config, pacing=RequestBudget(**{asdict(FAST)!r}))
        await WeeklySchedule(Service(store, config, clock_from_env()), poller).poll()
    finally:
        await store.close()

asyncio.run(main())
"""


async def prepare(tmp_path: Path, bol: FakeBol) -> Config:
    """Sellers with credentials (every other one fails the week), and one who uploads."""
    config = make_config(
        tmp_path,
        NORMWACHT_DB=str(tmp_path / "base.sqlite3"),
        NORMWACHT_SECRET_KEY=new_key(),
        BOL_API_URL=bol.url,
        BOL_LOGIN_URL=bol.url,
    )
    assert config.secret_key is not None
    box = SecretBox(config.secret_key)
    store = await Store.open(config.db_path)
    try:
        for n in range(SELLERS + 1):
            seller_id = f"shop-{n}"
            await store.sellers.add(seller_id, f"Shop {n}", "nl", START)
            chat = await store.chats.get_or_create(
                "telegram", str(600 + n), language="nl", now=START
            )
            await store.chats.link(chat.id, seller_id, "test", START)
            if n < SELLERS:
                bol.add_client(f"cid-{n}", f"secret-{n}")
                week_of_data(bol, f"cid-{n}", 15 if n % 2 else 1)
                await store.sellers.set_credentials(
                    seller_id, box.seal(f"cid-{n}"), box.seal(f"secret-{n}"), START
                )
        upload = tmp_path / "upload.csv"
        upload.write_text(
            "seller_id,year,week,indicator,numerator,denominator,value,norm\n"
            f"shop-{SELLERS},2026,46,FULFILMENT,120,150,,\n",
            "utf-8",
        )
        await import_files(
            store,
            [ImportFile(upload, upload.name)],
            policy=config.policy,
            today=START.date(),
            now=START,
        )
        await complete_owed_work(store, config, now=START)
    finally:
        await store.close()
    return config


async def poll_job(tmp_path: Path, config: Config, db: Path, **extra: str) -> int:
    """The poll job in a process of its own; its exit code (-9: killed)."""
    assert config.secret_key is not None
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        SCRIPT,
        env={
            **os.environ,
            "NORMWACHT_DB": str(db),
            "NORMWACHT_NOW": NOW,
            "NORMWACHT_QUIET_HOURS": "off",
            "NORMWACHT_SECRET_KEY": config.secret_key.decode(),
            "BOL_API_URL": config.bol_api_url,
            "BOL_LOGIN_URL": config.bol_login_url,
            "NORMWACHT_ADMINS": "",
            "TELEGRAM_BOT_TOKEN": "",
            "SLACK_BOT_TOKEN": "",
            **extra,
        },
        cwd=tmp_path,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    async with asyncio.timeout(120):
        _, err = await process.communicate()
    assert process.returncode is not None
    assert process.returncode in (0, -9), err.decode()
    return process.returncode


async def next_process(config: Config, db: Path) -> int:
    """What the next process does: the owed work first (``run`` on start), then the poll
    job, which catches up since the week is not polled yet. Returns what the owed work
    planned."""
    store = await Store.open(db)
    try:
        planned = await complete_owed_work(store, config, now=START)
        poller = wednesday_poller(store, config, pacing=FAST)
        schedule = WeeklySchedule(Service(store, config, lambda: START), poller)
        await schedule.poll()
        assert await store.jobs.done(POLL, str(WEEK))
        return planned
    finally:
        await store.close()


def copy_db(source: Path, target: Path) -> Path:
    for suffix in ("", "-wal"):
        if Path(f"{source}{suffix}").exists():
            shutil.copy(f"{source}{suffix}", f"{target}{suffix}")
    return target


def outbox(db: Path) -> list[tuple[object, ...]]:
    conn = sqlite3.connect(db)
    try:
        return conn.execute(
            "SELECT dedup_key, chat_id, seller_id, week, kind, sections, body FROM outbox "
            "ORDER BY dedup_key"
        ).fetchall()
    finally:
        conn.close()


def owed_rows(db: Path) -> int:
    conn = sqlite3.connect(db)
    try:
        return int(conn.execute("SELECT COUNT(*) FROM owed_work").fetchone()[0])
    finally:
        conn.close()


async def test_a_wednesday_run_killed_after_any_commit_is_finished_without_duplicates(
    tmp_path: Path,
) -> None:
    async with FakeBol(rate_limit=FAST.requests, window_s=FAST.window_s) as bol:
        config = await prepare(tmp_path, bol)
        clean = copy_db(config.db_path, tmp_path / "clean.sqlite3")
        assert await poll_job(tmp_path, config, clean) == 0
        expected = outbox(clean)
        assert owed_rows(clean) == 0
        # Every failing seller warned once: the uploading one and every other polled one.
        warned = sorted(str(row[2]) for row in expected if row[4] == "alerts")
        assert warned == [f"shop-{n}" for n in range(SELLERS + 1) if n % 2 or n == SELLERS]
        kills = 0
        finished_by_next: list[int] = []
        while True:
            db = copy_db(config.db_path, tmp_path / f"killed-{kills + 1}.sqlite3")
            code = await poll_job(tmp_path, config, db, **crash_after_commit(kills + 1))
            if code == 0:  # fewer commits than that: the run went to its end
                assert outbox(db) == expected
                break
            kills += 1
            left = owed_rows(db)
            planned = await next_process(config, db)
            if left:
                finished_by_next.append(planned)
            assert owed_rows(db) == 0, f"work still owed after a kill at commit {kills}"
            assert outbox(db) == expected, f"killed at commit {kills}: another outbox"
    assert kills >= 6
    # Some kills left a batch's check owed, and the next process's owed work planned it.
    assert any(planned > 0 for planned in finished_by_next)
