"""The weekly check at scale: sellers x weeks of history, with and without a chat per
seller, against a plain ``sqlite3`` scan of all the same rows with a minimal Python loop,
measured in the same run.

Each case builds a database, then runs every check in a fresh process (so that its peak
RSS is its own): the check of the week before first (untimed: the weekly bot checked it
last week, which stores the fold's state), then the check of the week, ``--runs`` times
(the median counts), and once more from scratch with the cached states dropped (``cold``).
With ``--chats`` every seller follows in its own chat: the first check plans the week's
messages, a second one finds nothing new. The sellers' figures repeat in a few dozen
patterns, so most of their messages read alike but for the name (and are rendered once);
``+varied`` gives every seller figures of its own (other volumes: other percentages), so
that nearly every message is a rendering of its own, as with real shops.

With ``+bol`` every seller also has bol.com's snapshot of the week (NORMS.md §9), with
strike weeks that differ from ours, and an operator's chat: the check reads the snapshots,
plans their news and compares every seller's strikes with the ``strikes-22w`` fold.

    python -m bench.check_scale [--sellers 5000] [--weeks 1,10,30,60,120] [--chats]
    python -m bench.check_scale --cases 5000x10,5000x60,50000x10,50000x1+chats+varied
    python -m bench.check_scale --cases 5000x30+chats,5000x30+chats+bol
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from norms import INDICATORS, Indicator, IsoWeek, Measurement, Policy, load_policy
from norms.verdicts import judge_week

WEEK = IsoWeek(2026, 46)
NOW = datetime(2026, 11, 19, 9, 0, tzinfo=UTC)
DEFAULT_CASES = (
    "5000x1,5000x10,5000x30,5000x60,5000x120,50000x10,50000x1+chats,50000x1+chats+varied"
)
BATCH = 100_000
# What each ratio to the scan should stay within: a planning check (rendering every
# seller's message), the same check again with nothing new, and a check without chats.
GOALS = {"check planning": 10.0, "again": 3.0, "check": 3.0}


def build(
    path: Path, sellers: int, weeks: int, chats: bool, varied: bool = False, bol: bool = False
) -> int:
    """A migrated database with ``weeks`` weeks up to ``WEEK`` for every seller; some
    sellers fail some weeks, a few miss the minimum; returns the measurement rows. With
    ``varied`` each seller's volumes are its own; with ``bol``, bol.com's snapshot of
    ``WEEK`` for every seller."""
    from bot.store import Store
    from bot.store.verdicts import status_row
    from norms.bol import PerformanceStatus, QualityScore, Strikes, StrikeWeek

    async def migrate() -> None:
        store = await Store.open(path)
        await store.close()

    asyncio.run(migrate())
    conn = sqlite3.connect(path)
    stamp = "2026-11-18T09:00:00.000000Z"
    conn.executemany(
        "INSERT INTO sellers (id, name, language, created_at) VALUES (?, ?, 'nl', ?)",
        ((f"shop-{s:06d}", f"Shop {s}", stamp) for s in range(sellers)),
    )
    rows = 0
    batch: list[tuple[object, ...]] = []
    for s in range(sellers):
        # Volumes of 100 (a few dozen patterns of figures), or a volume of each seller's own.
        n = 100 + s if varied else 100
        for back in range(weeks - 1, -1, -1):
            week = WEEK.shift(-back)
            for name, *row in _week_rows(s, back, n):
                batch.append((f"shop-{s:06d}", week.year, week.week, name, *row, "upload", stamp))
                rows += 1
            if len(batch) >= BATCH:
                _insert(conn, batch)
                batch = []
    _insert(conn, batch)
    if chats:
        conn.executemany(
            "INSERT INTO chats (id, platform, address, language, created_at) "
            "VALUES (?, 'telegram', ?, 'nl', ?)",
            ((s + 1, str(10_000 + s), stamp) for s in range(sellers)),
        )
        conn.executemany(
            "INSERT INTO chat_sellers (chat_id, seller_id, linked_at, linked_by) "
            "VALUES (?, ?, ?, 'bench')",
            ((s + 1, f"shop-{s:06d}", stamp) for s in range(sellers)),
        )
    if bol:
        policy = load_policy("verbetertraject-24w")
        fetched = datetime(2026, 11, 18, 6, 0, tzinfo=UTC)
        rows_bol = []
        for s in range(sellers):
            # bol.com counts the weeks we judge failing (at most 7: the account closes);
            # one seller in 20 has its latest strike taken back: a difference to tell.
            failing = [
                WEEK.shift(-back)
                for back in range(min(weeks, 22) - 1, -1, -1)
                if _failing(policy, s, back, 100 + s if varied else 100)
            ][:7]
            if s % 20 == 0 and failing:
                failing.pop()
            listed = tuple(StrikeWeek(w, ("ON_TIME",)) for w in failing)
            strikes = Strikes(len(listed), listed, WEEK.shift(-21), WEEK)
            quality = QualityScore(WEEK, 50 + s % 40)
            status = PerformanceStatus(fetched, "GroeiKracht", strikes, 20 + s % 50, (), quality)
            rows_bol.append(status_row(f"shop-{s:06d}", status, "bol.com", stamp))
        conn.executemany(
            "INSERT INTO bol_statuses (seller_id, fetched_at, source, body, system, "
            "strike_count, points_left, quality_week, quality_score, imported_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows_bol,
        )
    conn.commit()
    conn.close()
    return rows


def _week_rows(
    s: int, back: int, n: int = 100
) -> list[tuple[str, int | None, int, float | None, float | None]]:
    """Seller ``s``'s figures ``back`` weeks before ``WEEK`` at a volume of ``n``:
    (indicator, numerator, denominator, value, norm)."""
    out: list[tuple[str, int | None, int, float | None, float | None]] = []
    for i, indicator in enumerate(INDICATORS):
        name = indicator.value
        if name == "REVIEWS":
            out.append((name, None, 10, 8.0 + (s + back) % 20 / 10, None))
        elif name in ("CANCELLATIONS", "RETURNS", "CASE_ITEM_RATIO"):
            out.append(
                (
                    name,
                    (s + back + i) % 5 * n // 100,
                    n,
                    None,
                    0.05 if name != "CANCELLATIONS" else None,
                )
            )
        else:
            # Up to 11 of 100 late or missed: fails the 0.93 norm now and then.
            out.append((name, n - (s * 7 + back * 3 + i) % 12 * n // 100, n, None, None))
    return out


def _failing(policy: Policy, s: int, back: int, n: int) -> bool:
    """Whether seller ``s``'s week ``back`` weeks before ``WEEK`` fails, as the check judges it."""
    week = WEEK.shift(-back)
    measured = {
        Indicator(name): Measurement(Indicator(name), week, num, den, value, norm)
        for name, num, den, value, norm in _week_rows(s, back, n)
    }
    return judge_week(policy, f"shop-{s:06d}", week, measured).failing


def _insert(conn: sqlite3.Connection, batch: list[tuple[object, ...]]) -> None:
    conn.executemany(
        "INSERT INTO measurements (seller_id, year, week, indicator, numerator, denominator, "
        "value, norm, source, imported_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        batch,
    )


def plain_scan(path: Path) -> float:
    """All measurement rows in seller order, a running sum per seller: the least any
    check of every row could do."""
    start = time.perf_counter()
    conn = sqlite3.connect(path)
    totals: dict[str, int] = {}
    for seller_id, _year, _week, _indicator, numerator, denominator in conn.execute(
        "SELECT seller_id, year, week, indicator, numerator, denominator FROM measurements "
        "ORDER BY seller_id, year, week"
    ):
        totals[seller_id] = totals.get(seller_id, 0) + (numerator or 0) + (denominator or 0)
    conn.close()
    assert totals
    return time.perf_counter() - start


def in_child(
    path: Path, week: IsoWeek, *, dry_run: bool, cold: bool = False, bol: bool = False
) -> dict[str, float]:
    """One check in a fresh process: its seconds, messages planned and peak RSS."""
    args = [sys.executable, "-m", "bench.check_scale", "--child", str(path), str(week)]
    args += ["--dry-run"] if dry_run else []
    args += ["--cold"] if cold else []
    args += ["--bol"] if bol else []
    out = subprocess.run(args, check=True, capture_output=True, text=True).stdout
    result: dict[str, float] = json.loads(out.strip().splitlines()[-1])
    return result


def child(path: Path, week: IsoWeek, dry_run: bool, cold: bool, bol: bool = False) -> None:
    from bot.notices.check import run_check
    from bot.store import Store
    from norms import load_policy

    async def go() -> dict[str, float]:
        policy = load_policy("verbetertraject-24w")
        store = await Store.open(path)
        try:
            if cold:
                await store.states.clear()
            # With bol.com's snapshots an operator hears where its strikes differ from ours.
            admins = None
            if bol:
                admin = await store.chats.get_or_create("telegram", "admin", language="nl", now=NOW)
                admins = [admin]
            failing = 0

            def count(report: object) -> None:
                nonlocal failing
                failing += bool(getattr(report, "failing_week", False))

            start = time.perf_counter()
            # A dry run hands every report over, as ``check --dry-run`` prints them; a
            # planning check keeps none, as the scheduled check does.
            outcome = await run_check(
                store,
                policy,
                week,
                now=NOW,
                dry_run=dry_run,
                on_report=count if dry_run else None,
                admin_chats=admins,
            )
            seconds = time.perf_counter() - start
        finally:
            await store.close()
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        return {"seconds": seconds, "planned": outcome.planned, "failing": failing, "rss": rss}

    print(json.dumps(asyncio.run(go())))


def run_case(sellers: int, weeks: int, extra: str, runs: int) -> dict[str, float]:
    chats = extra.startswith("chats")
    bol = "bol" in extra
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "check.sqlite3"
        rows = build(path, sellers, weeks, chats, varied="varied" in extra, bol=bol)
        scans = [plain_scan(path) for _ in range(runs)]
        scan = statistics.median(scans)
        in_child(path, WEEK.shift(-1), dry_run=True)  # last week's check: the steady state
        label = case_label(sellers, weeks, extra)
        out: dict[str, float] = {"scan": scan}
        if chats:
            plans = in_child(path, WEEK, dry_run=False, bol=bol)
            repeats = [in_child(path, WEEK, dry_run=False, bol=bol) for _ in range(runs)]
            again = statistics.median(r["seconds"] for r in repeats)
            print(
                f"{label:>27}: {rows:>10,} rows; scan {scan:6.2f} s; "
                f"check planning {plans['seconds']:6.2f} s ({plans['seconds'] / scan:5.1f}x, "
                f"{plans['planned']:,.0f} planned); again {again:6.2f} s "
                f"({again / scan:4.1f}x, {max(r['planned'] for r in repeats):.0f} planned); "
                f"peak RSS {max(plans['rss'], *(r['rss'] for r in repeats)):.0f} MiB",
                flush=True,
            )
            out |= {"check": plans["seconds"], "again": again}
            return out
        checks = [in_child(path, WEEK, dry_run=True, bol=bol) for _ in range(runs)]
        check = statistics.median(c["seconds"] for c in checks)
        cold = in_child(path, WEEK, dry_run=True, cold=True, bol=bol)
        print(
            f"{label:>27}: {rows:>10,} rows; scan {scan:6.2f} s; check {check:6.2f} s "
            f"({check / scan:4.1f}x); cold {cold['seconds']:6.2f} s "
            f"({cold['seconds'] / scan:4.1f}x); peak RSS {max(c['rss'] for c in checks):.0f} "
            f"MiB (cold {cold['rss']:.0f} MiB)",
            flush=True,
        )
        out |= {"check": check, "cold": cold["seconds"]}
        return out


def case_label(sellers: int, weeks: int, extra: str) -> str:
    return f"{sellers:,} x {weeks}" + "".join(f" + {e}" for e in extra.split("+") if e)


def parse_cases(text: str) -> list[tuple[int, int, str]]:
    """``5000x10``, ``50000x1+chats``, ``50000x1+chats+varied``: (sellers, weeks, extras)."""
    cases = []
    for item in text.split(","):
        size, _, extra = item.partition("+")
        sellers, weeks = size.lower().split("x")
        cases.append((int(sellers), int(weeks), extra))
    return cases


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cases", default=None, help=f"e.g. {DEFAULT_CASES} (the default)")
    parser.add_argument("--sellers", type=int, default=None)
    parser.add_argument("--weeks", default="1,10,30,60,120")
    parser.add_argument("--chats", action="store_true")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    parser.add_argument("--dry-run", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--cold", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--bol", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        week = IsoWeek.parse(args.child[1])
        child(Path(args.child[0]), week, args.dry_run, args.cold, args.bol)
        return
    if args.sellers is not None:
        chats = "chats" if args.chats else ""
        cases = [(args.sellers, int(w), chats) for w in args.weeks.split(",")]
    else:
        cases = parse_cases(args.cases or DEFAULT_CASES)
    results = {(s, w, c): run_case(s, w, c, args.runs) for s, w, c in cases}
    print("ratio to the plain scan, per case (goal):")
    for (sellers, weeks, extra), out in results.items():
        label = case_label(sellers, weeks, extra)
        chats = extra.startswith("chats")
        names = ("check planning", "again") if chats else ("check", "cold")
        for name, key in zip(
            names, ("check", "again") if chats else ("check", "cold"), strict=True
        ):
            ratio = out[key] / out["scan"]
            goal = GOALS.get(name)
            verdict = (
                ""
                if goal is None
                else f" (goal <= {goal:g}x: {'met' if ratio <= goal else 'NOT met'})"
            )
            print(f"  {label:>27} {name:>14}: {ratio:6.1f}x{verdict}")
    for sellers in sorted({s for s, _, _ in cases}):
        ten, sixty = results.get((sellers, 10, "")), results.get((sellers, 60, ""))
        if ten and sixty:
            growth = sixty["check"] / ten["check"]
            scanned = sixty["scan"] / ten["scan"]
            print(
                f"{sellers:,} sellers, 60 weeks against 10: check {growth:.2f}x "
                f"(scan {scanned:.2f}x)"
            )


if __name__ == "__main__":
    main()
