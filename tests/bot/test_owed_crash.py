"""A crash never loses owed work: a real ``normwacht`` process killed (SIGKILL) right after
each of its commits, then the next ``run`` or CLI write, leaves exactly the outbox a clean
run leaves, with nothing planned twice."""

from __future__ import annotations

import asyncio
import csv
import os
import shutil
import sqlite3
import sys
from pathlib import Path

from bot.imports import ImportFile, import_files
from bot.notices.owed_work import check_week, complete_owed_work
from bot.store import Store
from norms import IsoWeek
from tests.conftest import NOW, make_config
from tests.crash_hook import crash_after_commit

SELLERS = 12
WEEKS = range(40, 47)
CORRECTED = (40, 42, 44)
GOOD = {
    "FULFILMENT": ("99", "100", "", ""),
    "CANCELLATIONS": ("0", "100", "", ""),
    "RESPONSE_TIME": ("99", "100", "", ""),
    "PHONE_AVAILABILITY": ("99", "100", "", ""),
    "TRACK_AND_TRACE": ("99", "100", "", ""),
    "CASE_ITEM_RATIO": ("1", "100", "", "0.05"),
    "RETURNS": ("1", "100", "", "0.05"),
    "REVIEWS": ("", "10", "8.5", ""),
}
LATE = ("80", "100", "", "")


def write_weeks(path: Path, rows: list[tuple[int, int, str, tuple[str, str, str, str]]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(
            ["seller_id", "year", "week", "indicator", "numerator", "denominator", "value", "norm"]
        )
        for seller, week, indicator, figures in rows:
            w.writerow([f"shop-{seller}", 2026, week, indicator, *figures])


def base_rows() -> list[tuple[int, int, str, tuple[str, str, str, str]]]:
    """Seven clean weeks, except that every third shop delivered late in week 41."""
    return [
        (s, w, i, LATE if (i == "FULFILMENT" and w == 41 and s % 3 == 0) else figures)
        for s in range(SELLERS)
        for w in WEEKS
        for i, figures in GOOD.items()
    ]


def correction_rows() -> list[tuple[int, int, str, tuple[str, str, str, str]]]:
    """bol.com corrects late deliveries into weeks 40, 42 and 44 for every shop."""
    return [(s, w, "FULFILMENT", LATE) for s in range(SELLERS) for w in CORRECTED]


async def prepare(tmp_path: Path) -> Path:
    """Sellers linked to Telegram chats, weeks 40-46 imported and checked."""
    config = make_config(tmp_path, NORMWACHT_DB=str(tmp_path / "base.sqlite3"))
    store = await Store.open(config.db_path)
    try:
        for s in range(SELLERS):
            await store.sellers.add(f"shop-{s}", f"Shop {s}", "nl", NOW)
            chat = await store.chats.get_or_create(
                "telegram", str(5000 + s), language="nl", now=NOW
            )
            await store.chats.link(chat.id, f"shop-{s}", "test", NOW)
        base = tmp_path / "base.csv"
        write_weeks(base, base_rows())
        await import_files(
            store, [ImportFile(base, "base.csv")], policy=config.policy, today=NOW.date(), now=NOW
        )
        for week in WEEKS:
            await check_week(store, config, IsoWeek(2026, week), now=NOW)
        assert not await store.owed.any()
    finally:
        await store.close()
    write_weeks(tmp_path / "corr.csv", correction_rows())
    return config.db_path


def env_for(db: Path, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "NORMWACHT_DB": str(db),
        "NORMWACHT_NOW": NOW.isoformat(),
        "NORMWACHT_QUIET_HOURS": "off",
        "NORMWACHT_ADMINS": "",
        "TELEGRAM_BOT_TOKEN": "",
        "SLACK_BOT_TOKEN": "",
        **extra,
    }


async def normwacht(cwd: Path, db: Path, *args: str, **extra: str) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        *args,
        env=env_for(db, **extra),
        cwd=cwd,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    async with asyncio.timeout(120):
        _, err = await process.communicate()
    assert process.returncode is not None
    return process.returncode, err.decode()


def copy_db(source: Path, target: Path) -> Path:
    for suffix in ("", "-wal"):
        if Path(f"{source}{suffix}").exists():
            shutil.copy(f"{source}{suffix}", f"{target}{suffix}")
    return target


def outbox(db: Path) -> list[tuple[object, ...]]:
    conn = sqlite3.connect(db)
    try:
        rows = conn.execute(
            "SELECT dedup_key, chat_id, seller_id, week, kind, sections, body FROM outbox "
            "ORDER BY dedup_key"
        ).fetchall()
        sections = conn.execute(
            "SELECT seller_id, week, section, chat_id, withdrawn FROM sent_sections "
            "ORDER BY seller_id, week, section, chat_id"
        ).fetchall()
    finally:
        conn.close()
    return [*rows, *sections]


def owed_weeks(db: Path) -> set[str]:
    conn = sqlite3.connect(db)
    try:
        return {r[0] for r in conn.execute("SELECT week FROM owed_work")}
    finally:
        conn.close()


def owed_rows(db: Path) -> int:
    conn = sqlite3.connect(db)
    try:
        return int(conn.execute("SELECT COUNT(*) FROM owed_work").fetchone()[0])
    finally:
        conn.close()


async def recover_in_process(tmp_path: Path, db: Path) -> None:
    """What the next CLI write does first (``normwacht seller add`` and every other one)."""
    config = make_config(tmp_path, NORMWACHT_DB=str(db))
    store = await Store.open(db)
    try:
        await complete_owed_work(store, config, now=NOW)
    finally:
        await store.close()


async def crash_at_every_commit(
    tmp_path: Path, base: Path, args: tuple[str, ...], name: str
) -> tuple[list[tuple[object, ...]], list[int], list[set[str]]]:
    """Kill the command after its 1st, 2nd, ... commit, recover each crash by the next
    process, and compare with a clean run; returns the clean outbox and, per kill point,
    how many outbox rows the killed process had left and the weeks its owed work was at."""
    clean = copy_db(base, tmp_path / f"{name}-clean.sqlite3")
    code, err = await normwacht(tmp_path, clean, *args)
    assert code == 0, err
    expected = outbox(clean)
    assert owed_rows(clean) == 0
    kills = 0
    left: list[int] = []
    owed_at: list[set[str]] = []
    while True:
        db = copy_db(base, tmp_path / f"{name}-{kills + 1}.sqlite3")
        code, err = await normwacht(tmp_path, db, *args, **crash_after_commit(kills + 1))
        if code == 0:  # fewer commits than that: the command ran to its end
            assert outbox(db) == expected
            break
        assert code == -9, err
        kills += 1
        left.append(len(outbox(db)))
        owed_at.append(owed_weeks(db))
        # Alternate the ways a next process picks the work up.
        if kills == 1:
            code, err = await normwacht(tmp_path, db, "deliver")
            assert code == 0, err
        elif kills == 2:
            code, err = await normwacht(tmp_path, db, "seller", "add", "late-1", "--name", "Late")
            assert code == 0, err
        else:
            await recover_in_process(tmp_path, db)
        assert owed_rows(db) == 0, f"work still owed after a crash at commit {kills}"
        assert outbox(db) == expected, f"crash at commit {kills}: another outbox"
    return expected, left, owed_at


async def test_import_killed_after_any_commit_plans_what_a_clean_run_plans(
    tmp_path: Path,
) -> None:
    base = await prepare(tmp_path)
    before = len(outbox(base))
    expected, left, owed_at = await crash_at_every_commit(
        tmp_path, base, ("import", str(tmp_path / "corr.csv")), "import"
    )
    # The correction tells something new (warnings for 40, 42, 44, corrected steps after).
    assert len(expected) > before
    # Killed right after the import's commit nothing was planned yet, later ones part of
    # it: every one of those states was completed.
    assert left[0] == before
    assert len(set(left)) >= 3
    # Each week's progress was recorded: a later crash resumes after the weeks done.
    assert owed_at[0] == {"2026-W40"}
    assert {"2026-W44", "2026-W45"} <= set().union(*owed_at)


async def test_exemption_killed_after_any_commit_plans_what_a_clean_run_plans(
    tmp_path: Path,
) -> None:
    base = await prepare(tmp_path)
    before = outbox(base)
    expected, left, owed_at = await crash_at_every_commit(
        tmp_path,
        base,
        ("exempt", "add", "--week", "2026-W41", "--reason", "carrier strike", "--yes"),
        "exempt",
    )
    # The week-41 warnings are taken back.
    assert any(row[4] == "correction" for row in expected if row not in before)
    assert left[0] == len(before)
    assert len(set(left)) >= 2
    assert owed_at[0] == {"2026-W41"}
    assert "2026-W46" in set().union(*owed_at)


async def test_check_killed_after_any_commit_plans_what_a_clean_run_plans(
    tmp_path: Path,
) -> None:
    base = await prepare(tmp_path)
    # Week 46 is checked anew on a database that has never seen it checked.
    conn = sqlite3.connect(base)
    conn.execute("DELETE FROM outbox WHERE week = '2026-W46'")
    conn.execute("DELETE FROM sent_sections WHERE week = '2026-W46'")
    conn.execute("DELETE FROM job_runs WHERE run_key = '2026-W46'")
    conn.execute(
        "UPDATE measurements SET numerator = 80 WHERE week = 46 AND indicator = 'FULFILMENT'"
    )
    conn.commit()
    conn.close()
    before = len(outbox(base))
    expected, left, _ = await crash_at_every_commit(
        tmp_path, base, ("check", "--week", "2026-W46"), "check"
    )
    assert any(row[3] == "2026-W46" for row in expected)
    # Killed after recording the check it owes, before planning anything.
    assert left[0] == before
    assert len(expected) > before
