"""db copy at scale: a SQLite file of sellers x weeks of history into a fresh PostgreSQL
database and back into a new SQLite file, each copy in a fresh process (so that its peak
RSS is its own), against a plain ``sqlite3`` scan of the same rows measured in the same run.

Memory stays that of a batch: the peak RSS of the largest case against the smallest's
should stay near 1x while the rows grow tenfold.

    python -m bench.db_copy [--cases 5000x10,50000x10]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.check_scale import build, plain_scan
from tests.postgres import Cluster, binaries

DEFAULT_CASES = "5000x10,50000x10"


def child(source: str, target: str) -> None:
    from bot.store import Database
    from bot.store.engine.copy import copy_database

    async def go() -> dict[str, float]:
        src = await Database.open(source)
        dst = await Database.open(target)
        try:
            start = time.perf_counter()
            copied = await copy_database(src, dst)
            seconds = time.perf_counter() - start
        finally:
            await src.close()
            await dst.close()
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        return {"seconds": seconds, "rows": sum(c.rows for c in copied), "rss": rss}

    print(json.dumps(asyncio.run(go())))


def in_child(source: str, target: str) -> dict[str, float]:
    args = [sys.executable, "-m", "bench.db_copy", "--child", source, target]
    out = subprocess.run(args, check=True, capture_output=True, text=True).stdout
    result: dict[str, float] = json.loads(out.strip().splitlines()[-1])
    return result


def run_case(cluster: Cluster, sellers: int, weeks: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "source.sqlite3"
        rows = build(path, sellers, weeks, chats=True)
        scan = plain_scan(path)
        url = asyncio.run(cluster.new_database())
        try:
            there = in_child(str(path), url)
            back = in_child(url, str(Path(tmp) / "back.sqlite3"))
        finally:
            asyncio.run(cluster.drop_database(url))
    label = f"{sellers:,} x {weeks}"
    print(
        f"{label:>12}: {rows:>10,} measurements; scan {scan:6.2f} s; "
        f"to PostgreSQL {there['seconds']:7.2f} s ({there['seconds'] / scan:5.1f}x, "
        f"{there['rows'] / there['seconds']:,.0f} rows/s, peak RSS {there['rss']:.0f} MiB); "
        f"back to SQLite {back['seconds']:7.2f} s ({back['seconds'] / scan:5.1f}x, "
        f"{back['rows'] / back['seconds']:,.0f} rows/s, peak RSS {back['rss']:.0f} MiB)",
        flush=True,
    )
    return {"rows": rows, "there_rss": there["rss"], "back_rss": back["rss"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cases", default=DEFAULT_CASES, help=f"default {DEFAULT_CASES}")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    bin_dir = binaries()
    if bin_dir is None:
        print("PostgreSQL is not installed (initdb, pg_ctl): skipped")
        return
    cluster = Cluster(bin_dir).start()
    try:
        asyncio.run(cluster.prepare_template())
        cases = [tuple(int(n) for n in c.lower().split("x")) for c in args.cases.split(",")]
        results = [run_case(cluster, sellers, weeks) for sellers, weeks in cases]
    finally:
        cluster.stop()
    small, large = min(results, key=lambda r: r["rows"]), max(results, key=lambda r: r["rows"])
    if large is not small:
        print(
            f"{large['rows'] / small['rows']:.0f}x the rows: peak RSS "
            f"{large['there_rss'] / small['there_rss']:.2f}x to PostgreSQL, "
            f"{large['back_rss'] / small['back_rss']:.2f}x back to SQLite"
        )


if __name__ == "__main__":
    main()
