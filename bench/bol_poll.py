"""Poll 1,000 sellers from the fake bol.com API; wall time against the rate limit's minimum.

bol.com allows about 20 performance requests a minute per client. To keep the run short
the limit is scaled down in time: the fake enforces ``--limit`` requests per ``--window``
seconds (default 20 per 0.6 s, a 100x scale) and the client is told the same. Reports the
wall time of ``poll_week`` (fetch and import) against the minimum the even spacing allows,
and the 429s bol.com answered (goal 0). A second run has one client fetch several weeks
at once, so the limit binds.

The fake runs in a process of its own, so the CPU time reported is the bot's alone
(``time.process_time`` of the bot's process over the poll, divided by the requests the fake
answered): ``poll`` is the whole ``poll_week`` (fetch and import), ``fetch`` the HTTP side
only (``fetch_all`` of every seller's week, nothing imported). ``--profile`` prints the
bot's functions that took the most CPU of their own in the fetch-only run.

    python -m bench.bol_poll [--sellers N] [--limit 20] [--window 0.6] [--weeks 6]
                             [--connections 16] [--profile 25]
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import multiprocessing
import pstats
import resource
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from multiprocessing.connection import Connection
from pathlib import Path

from bot.bol.api import INDICATOR_NAMES, BolApi, Limiters, RequestBudget
from bot.bol.credentials import SecretBox, new_key
from bot.bol.poll import connected_clients, fetch_all, fetch_week, poll_week
from bot.config import Config, load_config
from bot.store import Store
from norms import IsoWeek
from tests.fakes.bol import INDICATOR_PATH, FakeBol

WEEK = IsoWeek(2026, 46)
NOW = datetime(2026, 11, 19, 9, 0, tzinfo=UTC)
REAL_WINDOW_S = 60.0


@dataclass(frozen=True)
class FakeStats:
    """What the fake in the other process saw: its answers, 429s, when each path was
    called, and the CPU the fake's process spent."""

    requests: int
    rejected_429: int
    paths: Counter[str]
    at: dict[str, list[float]]
    cpu_s: float

    def calls_to(self, path: str) -> list[float]:
        """When ``path`` was called (``time.monotonic``, the same clock in both processes)."""
        return self.at.get(path, [])


@dataclass
class FakeProcess:
    """A fake bol.com served from a process of its own: the bot's process runs the bot only."""

    url: str
    conn: Connection

    def stats(self) -> FakeStats:
        self.conn.send("stats")
        answer: FakeStats = self.conn.recv()
        return answer


def serve_fake(conn: Connection, build: Callable[[], FakeBol]) -> None:
    """The other process: build the fake, serve it, and answer ``stats`` until ``stop``."""

    async def serve() -> None:
        bol = build()
        async with bol:
            conn.send(bol.url)
            loop = asyncio.get_running_loop()
            while await loop.run_in_executor(None, conn.recv) != "stop":
                at: dict[str, list[float]] = {}
                for call in bol.calls:
                    at.setdefault(call.method, []).append(call.at)
                conn.send(
                    FakeStats(
                        requests=len(bol.calls),
                        rejected_429=bol.rejected_429,
                        paths=Counter(call.method for call in bol.calls),
                        at=at,
                        cpu_s=sum(resource.getrusage(resource.RUSAGE_SELF)[:2]),
                    )
                )
        conn.send("stopped")

    asyncio.run(serve())


@contextmanager
def fake_in_process(build: Callable[[], FakeBol]) -> Iterator[FakeProcess]:
    """Serve ``build()``'s fake from a forked process (start it before the bot's event loop
    runs) until the block ends."""
    context = multiprocessing.get_context("fork")
    here, there = context.Pipe()
    process = context.Process(target=serve_fake, args=(there, build), daemon=True)
    process.start()
    try:
        yield FakeProcess(here.recv(), here)
    finally:
        here.send("stop")
        here.recv()
        process.join(10)


@dataclass(frozen=True)
class Cpu:
    """CPU time of the bot's process over a stretch, and the requests it made meanwhile."""

    seconds: float
    requests: int

    def line(self, label: str) -> str:
        per = self.seconds / self.requests * 1000 if self.requests else 0.0
        return f"{label}: {self.requests} requests, {per:.3f} ms CPU per request"


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


def sellers_fake(sellers: int, limit: int, window: float) -> Callable[[], FakeBol]:
    def build() -> FakeBol:
        bol = FakeBol(rate_limit=limit, window_s=window)
        for n in range(sellers):
            bol.add_client(f"cid-{n}", f"secret-{n}")
            fill(bol, f"cid-{n}", n, [WEEK])
        return bol

    return build


async def add_sellers(store: Store, config: Config, sellers: int) -> None:
    assert config.secret_key is not None
    box = SecretBox(config.secret_key)
    for n in range(sellers):
        await store.sellers.add(f"shop-{n}", f"Shop {n}", "nl", NOW)
        await store.sellers.set_credentials(
            f"shop-{n}", box.seal(f"cid-{n}"), box.seal(f"secret-{n}"), NOW
        )


async def poll_many(config: Config, fake: FakeProcess, sellers: int, pacing: RequestBudget) -> Cpu:
    store = await Store.open(config.db_path)
    try:
        await add_sellers(store, config, sellers)
        config = replace(config, bol_api_url=fake.url, bol_login_url=fake.url)
        started, cpu = time.perf_counter(), time.process_time()
        summary = await poll_week(store, config, WEEK, now=NOW, pacing=pacing, limiters=Limiters())
        cpu, wall = time.process_time() - cpu, time.perf_counter() - started
        rows = await store.db.fetchall("SELECT COUNT(*) AS n FROM measurements")
    finally:
        await store.close()
    seen = fake.stats()
    per_seller = (len(INDICATOR_NAMES) - 1) * pacing.interval_s
    print(f"1) poll_week of {sellers} sellers x 8 indicators + shop rating")
    print(
        f"   wall {wall:.2f} s; minimum the limit allows {per_seller:.2f} s (8 requests spaced "
        f"{pacing.interval_s * 1000:.1f} ms, all sellers at once; a strict sliding window "
        f"would allow 0 s, 8 <= {pacing.requests}); {pacing.connections} requests in flight "
        "at once bound it further, by the fake's answer time"
    )
    print(
        f"   429s: {seen.rejected_429}; requests {seen.requests} ({seen.requests / wall:.0f}/s); "
        f"stored {rows[0]['n']} measurements, {summary.ratings} ratings; "
        f"failed {len(summary.failed)}"
    )
    return Cpu(cpu, seen.requests)


async def fetch_many(
    config: Config, fake: FakeProcess, sellers: int, pacing: RequestBudget, profile: int
) -> Cpu:
    """Every seller's week fetched as ``poll_week`` fetches it, nothing imported: the CPU
    of the HTTP side alone (and its profile, ``profile`` lines of it)."""
    store = await Store.open(config.db_path)
    try:
        await add_sellers(store, config, sellers)
        clients = await connected_clients(store, config, None, {}, [])
    finally:
        await store.close()
    profiler = cProfile.Profile() if profile else None
    async with BolApi(fake.url, fake.url, pacing=pacing, limiters=Limiters()) as api:
        cpu = time.process_time()
        if profiler is not None:
            profiler.enable()
        answers = await fetch_all(api, clients, lambda c: fetch_week(c, WEEK), None)
        if profiler is not None:
            profiler.disable()
        cpu = time.process_time() - cpu
    failed = sum(1 for a in answers.values() if isinstance(a, Exception))
    seen = fake.stats()
    print(f"2) fetch only, {sellers} sellers: failed {failed}; 429s: {seen.rejected_429}")
    if profiler is not None:
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(profile)
        print(out.getvalue())
    return Cpu(cpu, seen.requests)


async def one_client_many_weeks(fake: FakeProcess, weeks: int, pacing: RequestBudget) -> None:
    wanted = [WEEK.shift(-k) for k in range(weeks)]
    async with BolApi(fake.url, fake.url, pacing=pacing, limiters=Limiters()) as api:
        client = api.client("busy", "busy-secret")
        started = time.perf_counter()
        await asyncio.gather(*(client.performance_indicators(w) for w in wanted))
        wall = time.perf_counter() - started
    seen = fake.stats()
    requests = len(seen.calls_to(INDICATOR_PATH))
    minimum = (requests - 1) * pacing.interval_s
    strict = (requests - 1) // pacing.requests * pacing.window_s
    print(f"3) one client, {weeks} weeks at once: {requests} performance requests")
    print(
        f"   wall {wall:.2f} s; minimum with even spacing {minimum:.2f} s "
        f"(strict sliding window {strict:.2f} s); 429s: {seen.rejected_429}"
    )


def busy_fake(weeks: int, limit: int, window: float) -> Callable[[], FakeBol]:
    def build() -> FakeBol:
        bol = FakeBol(rate_limit=limit, window_s=window)
        bol.add_client("busy", "busy-secret")
        fill(bol, "busy", 1, [WEEK.shift(-k) for k in range(weeks)])
        return bol

    return build


def bench_config(folder: str) -> Config:
    return load_config(
        env={
            "NORMWACHT_DB": str(Path(folder) / "bench.sqlite3"),
            "NORMWACHT_SECRET_KEY": new_key(),
        },
        dotenv=None,
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=(__doc__ or "").splitlines()[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--sellers", type=int, default=1000, help="sellers polled")
    parser.add_argument("--limit", type=int, default=20, help="requests per window")
    parser.add_argument("--window", type=float, default=0.6, help="seconds (bol.com: 60)")
    parser.add_argument(
        "--weeks", type=int, default=6, help="weeks one client fetches at once (the second run)"
    )
    parser.add_argument(
        "--connections",
        type=int,
        default=RequestBudget().connections,
        help="requests in flight at once, all clients together",
    )
    parser.add_argument(
        "--profile", type=int, default=0, metavar="N", help="print the fetch's top N functions"
    )
    args = parser.parse_args()
    for name in ("sellers", "limit", "weeks", "connections"):
        if getattr(args, name) < 1:
            parser.error(f"--{name} must be at least 1")
    if args.window <= 0:
        parser.error("--window must be more than 0 seconds")
    pacing = RequestBudget(requests=args.limit, window_s=args.window, connections=args.connections)
    print(
        f"rate limit {args.limit} per {args.window:g} s per client "
        f"(bol.com: 20 per {REAL_WINDOW_S:g} s; time scale {REAL_WINDOW_S / args.window:g}x); "
        f"{args.connections} requests in flight"
    )
    build = sellers_fake(args.sellers, args.limit, args.window)
    with tempfile.TemporaryDirectory() as folder, fake_in_process(build) as fake:
        poll = asyncio.run(poll_many(bench_config(folder), fake, args.sellers, pacing))
    with tempfile.TemporaryDirectory() as folder, fake_in_process(build) as fake:
        fetch = asyncio.run(
            fetch_many(bench_config(folder), fake, args.sellers, pacing, args.profile)
        )
    with fake_in_process(busy_fake(args.weeks, args.limit, args.window)) as fake:
        asyncio.run(one_client_many_weeks(fake, args.weeks, pacing))
    print(poll.line("poll"))
    print(fetch.line("fetch"))


if __name__ == "__main__":
    main()
