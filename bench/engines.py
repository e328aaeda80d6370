"""Import 50,000 sellers x 8 indicators x 1 week and check the week, on SQLite and on
PostgreSQL side by side, each against a plain baseline of its own engine in the same run.

The baselines are the least a program could do with the same rows on that engine:
SQLite, plain ``csv`` + ``sqlite3`` inserting them into a bare table and a plain scan of
it; PostgreSQL, plain ``csv`` + an asyncpg ``COPY`` of them into a bare table and a plain
``SELECT`` of it. Normwacht's check runs three times: first as ``check --dry-run
--json`` does, every report handed over and every seller's state stored; then, with a
chat per seller, as the scheduled check does, planning the sellers' messages; then once
more, which finds nothing new to plan.

PostgreSQL runs on a throwaway cluster (``tests.postgres.Cluster``), started for the run
and stopped at its end, unless ``NORMWACHT_BENCH_PG=postgresql://...`` names a server
whose role may create databases (the benchmark's own, dropped at the end). Without
either, PostgreSQL is skipped.

    python -m bench.engines [--sellers N] [--engines sqlite,postgresql]
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import os
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from bench.import_check import NOW, WEEK, baseline_import, baseline_scan, write_csv
from bot.imports import ImportFile, import_files
from bot.notices.check import run_check
from bot.store import Store, stamp
from norms import WeekReport, load_policy

SERVER_VARIABLE = "NORMWACHT_BENCH_PG"


@dataclass
class Timings:
    base_import: float
    base_scan: float
    imported: float
    checked: float
    planning: float
    again: float
    failing: int
    planned: int
    planned_again: int


def _typed(row: list[str]) -> tuple[object, ...]:
    """A CSV row of the benchmark's file as the bare table's column types."""
    seller, year, week, indicator, numerator, denominator, value, norm = row
    return (
        seller,
        int(year),
        int(week),
        indicator,
        int(numerator) if numerator else None,
        int(denominator) if denominator else None,
        float(value) if value else None,
        float(norm) if norm else None,
    )


def _csv_rows(path: Path) -> Iterator[tuple[object, ...]]:
    with path.open(encoding="utf-8", newline="") as f:
        reader = csv.reader(f)
        next(reader)
        for row in reader:
            yield _typed(row)


async def pg_baseline(url: str, path: Path) -> tuple[float, float]:
    """Plain csv + asyncpg COPY into a bare table, then a plain SELECT of every row."""
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        start = time.perf_counter()
        await conn.execute(
            "CREATE TABLE m (seller_id TEXT, year BIGINT, week BIGINT, indicator TEXT, "
            "numerator BIGINT, denominator BIGINT, value DOUBLE PRECISION, "
            "norm DOUBLE PRECISION, PRIMARY KEY (seller_id, year, week, indicator))"
        )
        await conn.copy_records_to_table("m", records=_csv_rows(path))
        imported = time.perf_counter() - start
        start = time.perf_counter()
        count = len(await conn.fetch("SELECT * FROM m"))
        scanned = time.perf_counter() - start
        assert count > 0
        return imported, scanned
    finally:
        await conn.close()


async def link_chats(store: Store) -> None:
    """A chat per seller (untimed set-up), so that the check plans messages."""
    sellers = [s.id for s in await store.sellers.all()]
    when = stamp(NOW)
    async with store.db.transaction() as tx:
        await tx.executemany(
            "INSERT INTO chats (id, platform, address, language, created_at) "
            "VALUES (?, 'telegram', ?, 'nl', ?)",
            [(n, str(10_000 + n), when) for n in range(1, len(sellers) + 1)],
        )
        await tx.executemany(
            "INSERT INTO chat_sellers (chat_id, seller_id, linked_at, linked_by) "
            "VALUES (?, ?, ?, 'bench')",
            [(n, sid, when) for n, sid in enumerate(sellers, 1)],
        )


async def normwacht(target: str, path: Path) -> tuple[float, float, float, float, int, int, int]:
    """Normwacht's import, its check of the week, the check planning, and once more."""
    policy = load_policy("verbetertraject-24w")
    store = await Store.open(target)
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
        failing = 0

        def count(report: WeekReport) -> None:
            nonlocal failing
            failing += report.failing_week

        start = time.perf_counter()
        await run_check(store, policy, WEEK, now=NOW, on_report=count)
        checked = time.perf_counter() - start
        await link_chats(store)
        # The scheduled check wants no reports: it plans what the stored alerts say is due.
        start = time.perf_counter()
        first = await run_check(store, policy, WEEK, now=NOW)
        planning = time.perf_counter() - start
        start = time.perf_counter()
        second = await run_check(store, policy, WEEK, now=NOW)
        again = time.perf_counter() - start
        return imported, checked, planning, again, failing, first.planned, second.planned
    finally:
        await store.close()


def run_sqlite(folder: Path, data: Path) -> Timings:
    base_import = baseline_import(data, folder / "baseline.sqlite3")
    base_scan = baseline_scan(folder / "baseline.sqlite3")
    results = asyncio.run(normwacht(str(folder / "normwacht.sqlite3"), data))
    return Timings(base_import, base_scan, *results)


@asynccontextmanager
async def pg_databases(server: str) -> AsyncIterator[tuple[str, str]]:
    """Two fresh databases on ``server`` (the baseline's and normwacht's), dropped after."""
    import asyncpg

    names = (f"bench_plain_{os.getpid()}", f"bench_normwacht_{os.getpid()}")
    base, _, _ = server.rpartition("/")
    conn = await asyncpg.connect(server)
    try:
        for name in names:
            await conn.execute(f"DROP DATABASE IF EXISTS {name}")
            await conn.execute(f"CREATE DATABASE {name}")
        yield f"{base}/{names[0]}", f"{base}/{names[1]}"
    finally:
        for name in names:
            await conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        await conn.close()


def run_postgresql(server: str, data: Path) -> Timings:
    async def go() -> Timings:
        async with pg_databases(server) as (plain, ours):
            base_import, base_scan = await pg_baseline(plain, data)
            results = await normwacht(ours, data)
            return Timings(base_import, base_scan, *results)

    return asyncio.run(go())


def with_postgresql(data: Path) -> Timings | str:
    """The PostgreSQL timings, or why there are none."""
    server = os.environ.get(SERVER_VARIABLE)
    if server:
        return run_postgresql(server, data)
    from tests.postgres import Cluster, binaries

    bin_dir = binaries()
    if bin_dir is None:
        return f"skipped: PostgreSQL is not installed (initdb, pg_ctl); or set {SERVER_VARIABLE}"
    cluster = Cluster(bin_dir).start()
    try:
        return run_postgresql(cluster.url(), data)
    finally:
        cluster.stop()


def report(engine: str, rows: int, t: Timings) -> None:
    plain = "csv+sqlite3" if engine == "sqlite" else "csv+COPY"
    print(
        f"{engine:>10} import: {t.imported:6.2f} s = {rows / t.imported:9,.0f} rows/s; "
        f"baseline {plain} {t.base_import:5.2f} s = {rows / t.base_import:9,.0f} rows/s; "
        f"ratio {t.imported / t.base_import:4.1f}x",
        flush=True,
    )
    print(
        f"{engine:>10} check:  {t.checked:6.2f} s = {rows / t.checked:9,.0f} rows/s "
        f"({t.failing:,} failing weeks); baseline scan "
        f"{t.base_scan:5.2f} s = {rows / t.base_scan:9,.0f} rows/s; "
        f"ratio {t.checked / t.base_scan:4.1f}x",
        flush=True,
    )
    print(
        f"{engine:>10} planning: {t.planning:6.2f} s ({t.planned:,} planned), "
        f"ratio {t.planning / t.base_scan:4.1f}x; again {t.again:6.2f} s "
        f"({t.planned_again:,} planned), ratio {t.again / t.base_scan:4.1f}x",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sellers", type=int, default=50_000)
    parser.add_argument("--engines", default="sqlite,postgresql")
    args = parser.parse_args()
    engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    results: dict[str, Timings | str] = {}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        data = folder / "week.csv"
        rows = write_csv(data, args.sellers)
        print(f"rows: {rows:,} ({args.sellers:,} sellers x 8 indicators x 1 week)", flush=True)
        for engine in engines:
            if engine == "sqlite":
                results[engine] = run_sqlite(folder, data)
            elif engine == "postgresql":
                results[engine] = with_postgresql(data)
            else:
                parser.error(f"unknown engine {engine!r}: sqlite or postgresql")
            outcome = results[engine]
            if isinstance(outcome, str):
                print(f"{engine:>10}: {outcome}", flush=True)
            else:
                report(engine, rows, outcome)
    timed = {e: t for e, t in results.items() if isinstance(t, Timings)}
    if len(timed) == 2:
        lite, pg = timed["sqlite"], timed["postgresql"]
        print(
            f"postgresql against sqlite: import {pg.imported / lite.imported:.2f}x, "
            f"check {pg.checked / lite.checked:.2f}x, planning {pg.planning / lite.planning:.2f}x, "
            f"again {pg.again / lite.again:.2f}x"
        )


if __name__ == "__main__":
    main()
