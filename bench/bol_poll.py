"""Poll 1,000 sellers from the fake bol.com API; wall time against the rate limit's minimum.

bol.com allows about 20 performance requests a minute per client. To keep the run short
the limit is scaled down in time: the fake enforces ``--limit`` requests per ``--window``
seconds (default 20 per 0.6 s, a 100x scale) and the client is told the same. Reports the
wall time of ``poll_week`` (fetch and import) against the minimum the even spacing allows,
and the 429s bol.com answered (goal 0). A second run has one client fetch several weeks
at once, so the limit binds.

    python -m bench.bol_poll [--sellers N] [--limit 20] [--window 0.6] [--weeks 6]
                             [--connections 16]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from bot.bol.api import INDICATOR_NAMES, BolApi, Limiters, RequestBudget
from bot.bol.credentials import SecretBox, new_key
from bot.bol.poll import poll_week
from bot.config import Config, load_config
from bot.store import Store
from norms import IsoWeek
from tests.fakes.bol import INDICATOR_PATH, FakeBol

WEEK = IsoWeek(2026, 46)
NOW = datetime(2026, 11, 19, 9, 0, tzinfo=UTC)
REAL_WINDOW_S = 60.0


@contextmanager
def fake_in_thread(bol: FakeBol) -> Iterator[None]:
    """Serve the fake from its own thread and event loop, apart from the client's."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    asyncio.run_coroutine_threadsafe(bol.start(), loop).result()
    try:
        yield
    finally:
        asyncio.run_coroutine_threadsafe(bol.stop(), loop).result()
        loop.call_soon_threadsafe(loop.stop)
        thread.join()
        loop.close()


def fill(bol: FakeBol, client_id: str, n: int, weeks: list[IsoWeek]) -> None:
    for week in weeks:
        y, w = week.year, week.week
        bol.set_indicator(client_id, "FULFILMENT", y, w, numerator=150 - n % 12, denominator=150)
        bol.set_indicator(client_id, "CANCELLATIONS", y, w, numerator=n % 4, denominator=150)
        bol.set_indicator(client_id, "PHONE_AVAILABILITY", y, w, numerator=45, denominator=50)
        bol.set_indicator(client_id, "RESPONSE_TIME", y, w, numerator=19, denominator=20)
        bol.set_indicator(
            client_id, "CASE_ITEM_RATIO", y, w, numerator=3, denominator=150, norm=0.05
        )
        bol.set_indicator(client_id, "TRACK_AND_TRACE", y, w, numerator=150, denominator=150)
        bol.set_indicator(client_id, "RETURNS", y, w, numerator=n % 7, denominator=150, norm=0.06)
        bol.set_indicator(client_id, "REVIEWS", y, w, value=7.5 + n % 25 / 10, denominator=12)
    bol.set_retailer(client_id, rating=8.0 + n % 20 / 10, reviews=40)


async def poll_many(config: Config, bol: FakeBol, sellers: int, pacing: RequestBudget) -> None:
    assert config.secret_key is not None
    box = SecretBox(config.secret_key)
    store = await Store.open(config.db_path)
    try:
        for n in range(sellers):
            client_id = f"cid-{n}"
            bol.add_client(client_id, f"secret-{n}")
            fill(bol, client_id, n, [WEEK])
            await store.sellers.add(f"shop-{n}", f"Shop {n}", "nl", NOW)
            await store.sellers.set_credentials(
                f"shop-{n}", box.seal(client_id), box.seal(f"secret-{n}"), NOW
            )
        with fake_in_thread(bol):
            config = replace(config, bol_api_url=bol.url, bol_login_url=bol.url)
            started = time.perf_counter()
            summary = await poll_week(
                store, config, WEEK, now=NOW, pacing=pacing, limiters=Limiters()
            )
            wall = time.perf_counter() - started
        rows = await store.db.fetchall("SELECT COUNT(*) AS n FROM measurements")
    finally:
        await store.close()
    per_seller = (len(INDICATOR_NAMES) - 1) * pacing.interval_s
    requests = len(bol.calls)
    print(f"1) poll_week of {sellers} sellers x 8 indicators + shop rating")
    print(
        f"   wall {wall:.2f} s; minimum the limit allows {per_seller:.2f} s (8 requests spaced "
        f"{pacing.interval_s * 1000:.1f} ms, all sellers at once; a strict sliding window "
        f"would allow 0 s, 8 <= {pacing.requests})"
    )
    print(
        f"   429s: {bol.rejected_429}; requests {requests} ({requests / wall:.0f}/s); "
        f"stored {rows[0]['n']} measurements, {summary.ratings} ratings; "
        f"failed {len(summary.failed)}"
    )


async def one_client_many_weeks(bol: FakeBol, weeks: int, pacing: RequestBudget) -> None:
    bol.add_client("busy", "busy-secret")
    wanted = [WEEK.shift(-k) for k in range(weeks)]
    fill(bol, "busy", 1, wanted)
    with fake_in_thread(bol):
        async with BolApi(bol.url, bol.url, pacing=pacing, limiters=Limiters()) as api:
            client = api.client("busy", "busy-secret")
            started = time.perf_counter()
            await asyncio.gather(*(client.performance_indicators(w) for w in wanted))
            wall = time.perf_counter() - started
    requests = len(bol.calls_to(INDICATOR_PATH))
    minimum = (requests - 1) * pacing.interval_s
    strict = (requests - 1) // pacing.requests * pacing.window_s
    print(f"2) one client, {weeks} weeks at once: {requests} performance requests")
    print(
        f"   wall {wall:.2f} s; minimum with even spacing {minimum:.2f} s "
        f"(strict sliding window {strict:.2f} s); 429s: {bol.rejected_429}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--sellers", type=int, default=1000)
    parser.add_argument("--limit", type=int, default=20, help="requests per window")
    parser.add_argument("--window", type=float, default=0.6, help="seconds (bol.com: 60)")
    parser.add_argument("--weeks", type=int, default=6)
    parser.add_argument("--connections", type=int, default=RequestBudget().connections)
    args = parser.parse_args()
    pacing = RequestBudget(requests=args.limit, window_s=args.window, connections=args.connections)
    print(
        f"rate limit {args.limit} per {args.window:g} s per client "
        f"(bol.com: 20 per {REAL_WINDOW_S:g} s; time scale {REAL_WINDOW_S / args.window:g}x); "
        f"{args.connections} requests in flight"
    )
    with tempfile.TemporaryDirectory() as folder:
        config = load_config(
            env={
                "NORMWACHT_DB": str(Path(folder) / "bench.sqlite3"),
                "NORMWACHT_SECRET_KEY": new_key(),
            },
            dotenv=None,
        )
        bol = FakeBol(rate_limit=args.limit, window_s=args.window)
        asyncio.run(poll_many(config, bol, args.sellers, pacing))
    busy = FakeBol(rate_limit=args.limit, window_s=args.window)
    asyncio.run(one_client_many_weeks(busy, args.weeks, pacing))


if __name__ == "__main__":
    main()
