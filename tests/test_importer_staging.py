"""Imports stage outside the write lock: parsing, staging and the checks across files run
while another process writes; only the final merge needs the lock."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bot.imports import ImportFile, ImportRejected, import_files
from bot.store import DatabaseBusy, Store
from norms import load_policy
from tests.conftest import NOW
from tests.store.test_busy import other_writer

POLICY = load_policy("verbetertraject-24w")
HEADER = "seller_id,year,week,indicator,numerator,denominator,value,norm\n"


def upload(tmp_path: Path, name: str, body: str) -> ImportFile:
    path = tmp_path / name
    path.write_text(HEADER + body, "utf-8")
    return ImportFile(path, name)


async def opened(tmp_path: Path, busy_wait_s: float | None = None) -> Store:
    store = await Store.open(tmp_path / "s.sqlite3", busy_wait_s=busy_wait_s)
    await store.sellers.add("shop-1", "Shop 1", "nl", NOW)
    await store.sellers.add("shop-2", "Shop 2", "nl", NOW)
    return store


async def test_a_rejected_import_is_told_while_another_process_holds_the_lock(
    tmp_path: Path,
) -> None:
    store = await opened(tmp_path, busy_wait_s=0.2)
    try:
        files = [
            upload(tmp_path, "a.csv", "shop-1,2026,46,FULFILMENT,135,150,,\n"),
            upload(
                tmp_path,
                "b.csv",
                "shop-1,2026,46,FULFILMENT,140,150,,\nnobody,2026,46,FULFILMENT,1,2,,\n",
            ),
        ]
        with other_writer(store.db.path):
            # Had staging or the checks across files needed the lock, this would be
            # DatabaseBusy; it is the answer about the files.
            with pytest.raises(ImportRejected) as rejected:
                await import_files(store, files, policy=POLICY, today=NOW.date(), now=NOW)
            reasons = [i.reason for i in rejected.value.issues]
            assert any("twice with different figures" in r for r in reasons)
            assert any("unknown seller 'nobody'" in r for r in reasons)
            # A clean import staged fine but cannot merge while the lock is held.
            with pytest.raises(DatabaseBusy):
                await import_files(store, files[:1], policy=POLICY, today=NOW.date(), now=NOW)
        assert await store.db.fetchall("SELECT * FROM measurements") == []
        assert await store.owed.pending() == []
    finally:
        await store.close()


async def test_two_uploads_of_one_process_stage_side_by_side(tmp_path: Path) -> None:
    store = await opened(tmp_path)
    try:
        first = upload(tmp_path, "one.csv", "shop-1,2026,46,FULFILMENT,135,150,,\n")
        second = upload(tmp_path, "two.csv", "shop-2,2026,45,FULFILMENT,150,150,,\n")
        results = await asyncio.gather(
            *(
                import_files(store, [f], policy=POLICY, today=NOW.date(), now=NOW)
                for f in (first, second)
            )
        )
        assert [sorted(r.sellers) for r in results] == [["shop-1"], ["shop-2"]]
        rows = await store.db.fetchall(
            "SELECT seller_id, week, numerator FROM measurements ORDER BY seller_id"
        )
        assert [tuple(r) for r in rows] == [("shop-1", 46, 135), ("shop-2", 45, 150)]
        leftovers = await store.db.fetchall(
            "SELECT name FROM sqlite_temp_master WHERE type = 'table'"
        )
        assert leftovers == []
    finally:
        await store.close()
