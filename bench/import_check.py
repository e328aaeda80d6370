"""Import 50,000 sellers x 8 indicators x 1 week, then check the week.

Reports rows/s and peak memory (RSS), timings against a baseline measured in the same run: the
import against plain ``csv`` + ``sqlite3`` inserting the same rows, and the check against
a plain ``sqlite3`` scan of the same rows.

    python -m bench.import_check [--sellers N]
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import resource
import sqlite3
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from bot.imports import ImportFile, import_files
from bot.notices.check import run_check
from bot.store import Store
from norms import INDICATORS, IsoWeek, WeekReport, load_policy

WEEK = IsoWeek(2026, 46)
# The import's goal against a plain csv + sqlite3 insert of the same rows.
IMPORT_GOAL = 3.0
NOW = datetime(2026, 11, 19, 9, 0, tzinfo=UTC)


def write_csv(path: Path, sellers: int) -> int:
    rows = 0
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(
            ["seller_id", "year", "week", "indicator", "numerator", "denominator", "value", "norm"]
        )
        for s in range(sellers):
            for i, indicator in enumerate(INDICATORS):
                if indicator.value == "REVIEWS":
                    w.writerow([f"shop-{s}", 2026, 46, indicator.value, "", 10, "8.5", ""])
                else:
                    norm = "0.05" if indicator.value in ("RETURNS", "CASE_ITEM_RATIO") else ""
                    num = (
                        (s + i) % 5
                        if indicator.value in ("CANCELLATIONS", "RETURNS", "CASE_ITEM_RATIO")
                        else 100 - (s + i) % 12
                    )
                    w.writerow([f"shop-{s}", 2026, 46, indicator.value, num, 100, "", norm])
                rows += 1
    return rows


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def baseline_import(path: Path, db: Path) -> float:
    start = time.perf_counter()
    conn = sqlite3.connect(db)
    conn.execute(
        "CREATE TABLE m (seller_id TEXT, year INT, week INT, indicator TEXT, numerator INT, "
        "denominator INT, value REAL, norm REAL, PRIMARY KEY (seller_id, year, week, indicator))"
    )
    with path.open(encoding="utf-8", newline="") as f:
        reader = csv.reader(f)
        next(reader)
        conn.executemany("INSERT INTO m VALUES (?, ?, ?, ?, ?, ?, ?, ?)", reader)
    conn.commit()
    conn.close()
    return time.perf_counter() - start


def baseline_scan(db: Path) -> float:
    start = time.perf_counter()
    conn = sqlite3.connect(db)
    count = sum(1 for _ in conn.execute("SELECT * FROM m"))
    conn.close()
    assert count > 0
    return time.perf_counter() - start


async def normwacht(path: Path, db: Path) -> tuple[float, float, int, float]:
    policy = load_policy("verbetertraject-24w")
    store = await Store.open(db)
    try:
        start = time.perf_counter()
        await import_files(
            store,
            [ImportFile(path, path.name)],
            policy=policy,
            today=NOW.date(),
            now=NOW,
            create_sellers=True,
        )
        imported = time.perf_counter() - start
        rss_import = peak_rss_mib()
        failing = 0

        def count(report: WeekReport) -> None:
            nonlocal failing
            failing += report.failing_week

        start = time.perf_counter()
        await run_check(store, policy, WEEK, now=NOW, on_report=count)
        checked = time.perf_counter() - start
        return imported, checked, failing, rss_import
    finally:
        await store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sellers", type=int, default=50_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        data = folder / "week.csv"
        rows = write_csv(data, args.sellers)
        size_mib = data.stat().st_size / 1024 / 1024
        base_import = baseline_import(data, folder / "baseline.sqlite3")
        base_scan = baseline_scan(folder / "baseline.sqlite3")
        rss_before = peak_rss_mib()
        imported, checked, failing, rss_import = asyncio.run(
            normwacht(data, folder / "normwacht.sqlite3")
        )
    rss_check = peak_rss_mib()
    print(f"rows: {rows:,} ({args.sellers:,} sellers x 8 indicators x 1 week)")
    ratio = imported / base_import
    print(
        f"import: {imported:.2f} s = {rows / imported:,.0f} rows/s; "
        f"baseline csv+sqlite3 {base_import:.2f} s; ratio {ratio:.1f}x "
        f"(goal <= {IMPORT_GOAL:g}x: {'met' if ratio <= IMPORT_GOAL else 'NOT met'})"
    )
    print(
        f"check:  {checked:.2f} s = {rows / checked:,.0f} rows/s ({failing:,} failing weeks); "
        f"baseline sqlite3 scan {base_scan:.2f} s; ratio {checked / base_scan:.1f}x"
    )
    print(
        f"peak RSS: {rss_before:.0f} MiB before, {rss_import:.0f} MiB after the import, "
        f"{rss_check:.0f} MiB after the check (the CSV is {size_mib:.0f} MiB)"
    )


if __name__ == "__main__":
    main()
