"""How long a small write (the one a ``/start CODE`` makes) waits while another process
imports a big file: the import holds the write lock only for its final merge.

Measures one-row writes in a loop, first alone (the baseline), then while a real
``normwacht import`` of a ~16 MB CSV runs in another process; reports the import's time,
the writes' worst and 99th-percentile latency against the baseline, and failed writes.

    python -m bench.write_wait [--sellers N]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from bench.import_check import write_csv
from bot.store import Store

NOW = datetime(2026, 11, 19, 9, 0, tzinfo=UTC)


async def small_writes(store: Store, until: asyncio.Event, latencies: list[float]) -> int:
    """One-row write transactions back to back; returns how many failed."""
    failed = 0
    while not until.is_set():
        start = time.perf_counter()
        try:
            await store.chats.create_link_code("probe", NOW)
        except Exception:
            failed += 1
        latencies.append(time.perf_counter() - start)
        await asyncio.sleep(0.005)
    return failed


def summary(latencies: list[float]) -> tuple[float, float, float]:
    ordered = sorted(latencies)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return statistics.median(ordered), p99, ordered[-1]


async def measure(data: Path, db: Path) -> None:
    store = await Store.open(db)
    try:
        await store.sellers.add("probe", "Probe", "nl", NOW)
        alone: list[float] = []
        stop = asyncio.Event()
        writer = asyncio.create_task(small_writes(store, stop, alone))
        await asyncio.sleep(2)
        stop.set()
        await writer
        during: list[float] = []
        stop = asyncio.Event()
        writer = asyncio.create_task(small_writes(store, stop, during))
        env = {**os.environ, "NORMWACHT_DB": str(db), "NORMWACHT_NOW": NOW.isoformat()}
        start = time.perf_counter()
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "import",
            str(data),
            "--create-sellers",
            env=env,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )
        _, err = await process.communicate()
        imported = time.perf_counter() - start
        stop.set()
        failed = await writer
        assert process.returncode == 0, err.decode()
    finally:
        await store.close()
    a_med, a_p99, a_max = summary(alone)
    d_med, d_p99, d_max = summary(during)
    size = data.stat().st_size / 1024 / 1024
    print(f"import of {size:.1f} MiB in another process: {imported:.2f} s")
    print(
        f"one-row writes alone:      median {a_med * 1000:.1f} ms, p99 {a_p99 * 1000:.1f} ms, "
        f"max {a_max * 1000:.1f} ms ({len(alone)} writes)"
    )
    print(
        f"during the import:         median {d_med * 1000:.1f} ms, p99 {d_p99 * 1000:.1f} ms, "
        f"max {d_max * 1000:.1f} ms ({len(during)} writes, {failed} failed)"
    )
    print(
        f"worst wait {d_max / a_max:.0f}x the baseline's worst; "
        f"{d_max / imported:.0%} of the import's time"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sellers", type=int, default=50_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        data = folder / "week.csv"
        write_csv(data, args.sellers)
        asyncio.run(measure(data, folder / "normwacht.sqlite3"))


if __name__ == "__main__":
    main()
