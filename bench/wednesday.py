"""Wednesday at scale: from the scheduled poll of bol.com's final week to the last warning
Telegram accepted, against the floor the platforms' limits allow.

N sellers, each with bol.com credentials and a Telegram chat of its own, four passing
weeks behind them; bol.com (the fake, Retailer API v10) has the week's final figures, and
most sellers failed it, so each of those is owed a warning. The run goes through the
scheduler's own jobs, as ``normwacht run`` registers them: the poll job (the Wednesday
run), then the check job (run right after: the 09:00 sweep does not wait three hours
here), with the real delivery worker and python-telegram-bot talking to a fake Telegram
that answers 429 above 30 messages a second (``--paid``: 1,000, and the bot's configured
rate with it). The database is built, and both fakes run, in a process of their own: they
take neither the bot's event loop nor its memory, and the peak RSS is the bot's.

bol.com allows about 20 performance requests a minute per client; ``--window`` scales
that minute down (20 requests per window: bol.com's ratios, faster). The floor is the
larger of the warnings at Telegram's rate and the slowest seller's poll at bol.com's
(eight indicator requests spaced evenly; sellers are polled side by side).

    python -m bench.wednesday [--sellers 5000] [--failing 0.9] [--window 60] [--paid]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import itertools
import multiprocessing
import resource
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any

from bot.bol.api import INDICATOR_NAMES, RequestBudget
from bot.bol.credentials import SecretBox, new_key
from bot.config import Config, load_config
from bot.metrics import POLL_ERRORS
from bot.store import Store, stamp
from norms import IsoWeek
from tests.fakes.bol import FakeBol
from tests.fakes.telegram import JSON, FakeTelegram, Upload

WEEK = IsoWeek(2026, 46)
# Wednesday after the week, 06:00 in Amsterdam: the poll job's moment.
START = datetime(2026, 11, 18, 5, 0, tzinfo=UTC)
HISTORY_WEEKS = 4  # passing weeks before, uploaded and checked: the bot ran before
TELEGRAM_RATE = 30
PAID_RATE = 1000
TOKEN = "7000001:wednesday"
REAL_WINDOW_S = 60.0
BOL_REQUESTS = 20


def fails(n: int, failing: float) -> bool:
    """Whether seller ``n`` failed the week (spread evenly over the sellers)."""
    return int((n + 1) * failing) > int(n * failing)


def seller_id(n: int) -> str:
    return f"shop-{n:06d}"


def client_id(n: int) -> str:
    return f"cid-{n:06d}"


def mib(kib: float) -> float:
    return kib / 1024


# --- the other process: the database built, then bol.com and Telegram -------------------


class TimedTelegram(FakeTelegram):
    """The fake Bot API, noting when it accepted each message."""

    def __init__(self) -> None:
        super().__init__(token=TOKEN)
        self.accepted: list[float] = []

    async def _send_message(self, params: JSON, uploads: dict[str, Upload]) -> JSON:
        message = await super()._send_message(params, uploads)
        self.accepted.append(time.monotonic())
        return message


def fill_bol(bol: FakeBol, sellers: int, failing: float) -> None:
    y, w = WEEK.year, WEEK.week
    for n in range(sellers):
        cid = client_id(n)
        bol.add_client(cid, f"secret-{n}")
        late = 30 if fails(n, failing) else n % 5  # 30 of 150 late: 80 %, under the 93 % norm
        bol.set_indicator(cid, "FULFILMENT", y, w, numerator=150 - late, denominator=150)
        bol.set_indicator(cid, "CANCELLATIONS", y, w, numerator=n % 3, denominator=150)
        bol.set_indicator(cid, "PHONE_AVAILABILITY", y, w, numerator=46, denominator=50)
        bol.set_indicator(cid, "RESPONSE_TIME", y, w, numerator=19, denominator=20)
        bol.set_indicator(cid, "CASE_ITEM_RATIO", y, w, numerator=3, denominator=150, norm=0.05)
        bol.set_indicator(cid, "TRACK_AND_TRACE", y, w, numerator=150, denominator=150)
        bol.set_indicator(cid, "RETURNS", y, w, numerator=n % 7, denominator=150, norm=0.06)
        bol.set_indicator(cid, "REVIEWS", y, w, value=8.2 + n % 15 / 10, denominator=12)
        bol.set_retailer(cid, rating=8.4 + n % 10 / 10, reviews=40)


async def build(path: Path, secret_key: bytes, sellers: int) -> None:
    """Sellers with credentials and a Telegram chat each, and their passing weeks."""
    box = SecretBox(secret_key)
    when = stamp(START - timedelta(days=60))
    history = [
        ("FULFILMENT", 148, 150, None, None),
        ("CANCELLATIONS", 1, 150, None, None),
        ("PHONE_AVAILABILITY", 46, 50, None, None),
        ("RESPONSE_TIME", 19, 20, None, None),
        ("CASE_ITEM_RATIO", 3, 150, None, 0.05),
        ("TRACK_AND_TRACE", 150, 150, None, None),
        ("RETURNS", 2, 150, None, 0.06),
        ("REVIEWS", None, 12, 8.6, None),
    ]
    weeks = list(WEEK.shift(-HISTORY_WEEKS).until(WEEK.shift(-1)))
    store = await Store.open(path)
    try:
        for start in range(0, sellers, 2000):
            ns = range(start, min(sellers, start + 2000))
            async with store.db.transaction() as tx:
                await tx.insert_rows(
                    "sellers",
                    [(seller_id(n), f"Shop {n}", "nl", when) for n in ns],
                    "id, name, language, created_at",
                )
                await tx.insert_rows(
                    "credentials",
                    [
                        (
                            seller_id(n),
                            box.seal(client_id(n)).decode(),
                            box.seal(f"secret-{n}"),
                            when,
                        )
                        for n in ns
                    ],
                    "seller_id, client_id, secret_encrypted, updated_at",
                )
                await tx.insert_rows(
                    "chats",
                    [(n + 1, "telegram", str(100_000 + n), "nl", when) for n in ns],
                    "id, platform, address, language, created_at",
                )
                await tx.insert_rows(
                    "chat_sellers",
                    [(n + 1, seller_id(n), when, "bench") for n in ns],
                    "chat_id, seller_id, linked_at, linked_by",
                )
                await tx.insert_rows(
                    "measurements",
                    [
                        (seller_id(n), w.year, w.week, name, num, den, value, norm, "upload", when)
                        for n in ns
                        for w in weeks
                        for name, num, den, value, norm in history
                    ],
                    "seller_id, year, week, indicator, numerator, denominator, value, norm, "
                    "source, imported_at",
                )
        for w in weeks:
            await store.jobs.mark("check", str(w), START - timedelta(days=7))
    finally:
        await store.close()


@dataclass(frozen=True)
class Setup:
    database: Path
    secret_key: bytes
    sellers: int
    failing: float
    bol_window_s: float
    telegram_rate: int


def other_process(conn: Connection, setup: Setup) -> None:
    """Build the database, then serve both fakes on one event loop until told to stop,
    answering the bot's side's questions meanwhile."""

    async def serve() -> None:
        await build(setup.database, setup.secret_key, setup.sellers)
        bol = FakeBol(rate_limit=BOL_REQUESTS, window_s=setup.bol_window_s)
        fill_bol(bol, setup.sellers, setup.failing)
        telegram = TimedTelegram()
        telegram.enforce_limits(global_per_s=setup.telegram_rate, per_chat_per_s=1)
        async with bol, telegram:
            conn.send((bol.url, telegram.url))
            loop = asyncio.get_running_loop()
            while await loop.run_in_executor(None, conn.recv) != "stop":
                accepted = telegram.accepted
                conn.send(
                    {
                        "accepted": len(accepted),
                        "first": min(accepted, default=0.0),
                        "last": max(accepted, default=0.0),
                        "telegram_429": telegram.rejected_429,
                        "bol_429": bol.rejected_429,
                        "bol_requests": len(bol.calls),
                        "bol_paths": Counter(call.method for call in bol.calls),
                        "cpu_s": sum(resource.getrusage(resource.RUSAGE_SELF)[:2]),
                    }
                )
        conn.send("stopped")

    asyncio.run(serve())


@dataclass
class Fakes:
    conn: Connection
    process: BaseProcess
    bol_url: str
    telegram_url: str

    @classmethod
    def start(cls, setup: Setup) -> Fakes:
        # Forked before the bot's event loop and threads exist.
        context = multiprocessing.get_context("fork")
        here, there = context.Pipe()
        process = context.Process(target=other_process, args=(there, setup), daemon=True)
        process.start()
        bol_url, telegram_url = here.recv()
        return cls(here, process, bol_url, telegram_url)

    def stats(self) -> dict[str, Any]:
        self.conn.send("stats")
        answer: dict[str, Any] = self.conn.recv()
        return answer

    def stop(self) -> None:
        self.conn.send("stop")
        self.conn.recv()
        self.process.join(10)


# --- the bot's side -----------------------------------------------------------------------


class RunningClock:
    """Wednesday 06:00, moving with real time: retries and holds come due."""

    def __init__(self, start: datetime) -> None:
        self.start = start
        self.origin = time.monotonic()

    def __call__(self) -> datetime:
        return self.start + timedelta(seconds=time.monotonic() - self.origin)


class GcPauses:
    """The garbage collector's pauses in this process, per generation."""

    def __init__(self) -> None:
        self.pauses: dict[int, list[float]] = {0: [], 1: [], 2: []}
        self._started = 0.0

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self.pauses[info["generation"]].append(time.perf_counter() - self._started)


async def loop_lag(stop: asyncio.Event, every_s: float = 0.01) -> list[float]:
    """How late the event loop came back to a short sleep, all through the run."""
    lags: list[float] = []
    while not stop.is_set():
        before = time.monotonic()
        await asyncio.sleep(every_s)
        lags.append(time.monotonic() - before - every_s)
    return sorted(lags)


async def backlog(
    store: Store, sent: Callable[[], int], stop: asyncio.Event, every_s: float = 0.5
) -> list[tuple[float, int, int]]:
    """Every ``every_s``: when, warnings planned so far, and sent so far."""
    samples: list[tuple[float, int, int]] = []
    while not stop.is_set():
        row = await store.db.fetchone("SELECT COUNT(*) FROM outbox WHERE kind = 'alerts'")
        samples.append((time.monotonic(), int(row[0]) if row else 0, sent()))
        await asyncio.sleep(every_s)
    return samples


def while_busy(samples: list[tuple[float, int, int]], rate: int) -> tuple[float, float]:
    """Seconds in which a second's worth of warnings or more waited, and the rate at which
    they went out meanwhile."""
    busy = went = 0.0
    for (t0, planned, sent), (t1, _, later) in itertools.pairwise(samples):
        if planned - sent >= rate:
            busy += t1 - t0
            went += later - sent
    return busy, went / busy if busy else 0.0


@dataclass
class Outcome:
    warnings: int = 0
    seconds: float = 0.0
    first_s: float = 0.0
    polled_s: float = 0.0
    checked_s: float = 0.0
    sweep: int = 0
    stats: dict[str, Any] = field(default_factory=dict)
    rss_before_mib: float = 0.0
    peak_mib: float = 0.0
    cpu_s: float = 0.0
    lags: list[float] = field(default_factory=list)
    busy: tuple[float, float] = (0.0, 0.0)
    gc: dict[int, list[float]] = field(default_factory=dict)
    retried: dict[str, int] = field(default_factory=dict)


async def outbox_rows(store: Store) -> int:
    row = await store.db.fetchone("SELECT COUNT(*) FROM outbox")
    return int(row[0]) if row else 0


async def wednesday(config: Config, fakes: Fakes, expected: int, pacing: RequestBudget) -> Outcome:
    # Deferred, as ``run`` defers them: loaded once the process is the bot's.
    from apscheduler.schedulers.asyncio import AsyncIOScheduler

    from bot.channels.telegram.sender import telegram_sender
    from bot.commands.service import Service
    from bot.outbox.worker import DeliveryWorker
    from bot.runtime.app import tune_collector, weekly_schedule

    outcome = Outcome()
    store = await Store.open(config.database)
    try:
        clock = RunningClock(START)
        service = Service(store, config, clock)
        stop = asyncio.Event()
        async with telegram_sender(config) as sender:
            worker = DeliveryWorker(store, {"telegram": sender}, config, clock)
            await worker.start()
            schedule = weekly_schedule(service, worker, pacing=pacing)
            scheduler = AsyncIOScheduler(timezone=config.timezone)
            schedule.register(scheduler, worker.wakeup.set)
            poll_job = scheduler.get_job("poll").func
            check_job = scheduler.get_job("check").func
            # As ``run`` does once started, before its jobs run.
            tune_collector()
            pauses = GcPauses()
            gc.callbacks.append(pauses)
            outcome.rss_before_mib = mib(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
            delivery = asyncio.create_task(worker.run_forever(stop))
            lag = asyncio.create_task(loop_lag(stop))
            sampled = asyncio.create_task(backlog(store, lambda: worker.sent, stop))
            began = time.monotonic()
            await poll_job()
            outcome.polled_s = time.monotonic() - began
            before_sweep = await outbox_rows(store)
            await check_job()
            outcome.checked_s = time.monotonic() - began
            outcome.sweep = await outbox_rows(store) - before_sweep
            # Every message planned (the warnings, and whatever the sweep added) is out.
            planned = await outbox_rows(store)
            assert planned >= expected, f"{planned} message(s) planned, {expected} expected"
            while worker.sent < planned:
                await asyncio.sleep(0.05)
            outcome.stats = fakes.stats()
            stop.set()
            await delivery
            outcome.lags = await lag
            outcome.busy = while_busy(await sampled, config.telegram_rate)
            gc.callbacks.remove(pauses)
            outcome.gc = pauses.pauses
        row = await store.db.fetchone(
            "SELECT COUNT(*) FROM outbox WHERE kind = 'alerts' AND state = 'sent'"
        )
        outcome.warnings = int(row[0]) if row else 0
    finally:
        await store.close()
    outcome.seconds = outcome.stats["last"] - began
    outcome.first_s = outcome.stats["first"] - began
    outcome.retried = {
        sample.labels["problem"]: int(sample.value)
        for metric in POLL_ERRORS.collect()
        for sample in metric.samples
        if sample.name.endswith("_total") and sample.value
    }
    outcome.peak_mib = mib(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
    outcome.cpu_s = sum(resource.getrusage(resource.RUSAGE_SELF)[:2])
    return outcome


def report(args: argparse.Namespace, outcome: Outcome, rate: int, pacing: RequestBudget) -> None:
    s = outcome.stats
    poll_floor = (len(INDICATOR_NAMES) - 1) * pacing.interval_s
    send_floor = outcome.warnings / rate
    floor = max(send_floor, poll_floor)
    print(
        f"bol.com: {BOL_REQUESTS} requests per {args.window:g} s per client (time scale "
        f"{REAL_WINDOW_S / args.window:g}x): {s['bol_requests']:,} requests, "
        f"{s['bol_429']} answered 429; Telegram {rate}/s: {s['telegram_429']} answered 429"
    )
    if outcome.retried:
        print(
            "bol.com requests tried again: "
            + ", ".join(f"{p} {n:,}" for p, n in outcome.retried.items())
        )
    print("bol.com requests by path: " + ", ".join(f"{p} {n:,}" for p, n in s["bol_paths"].items()))
    print(
        f"first warning at {outcome.first_s:.1f} s; poll job done at {outcome.polled_s:.1f} s; "
        f"check job done at {outcome.checked_s:.1f} s (it planned {outcome.sweep} more); "
        f"last warning at {outcome.seconds:.1f} s"
    )
    busy_s, busy_rate = outcome.busy
    print(
        f"delivery: warnings waited during {busy_s:.0f} s and went meanwhile at "
        f"{busy_rate:.1f}/s ({busy_rate / rate:.2f} of Telegram's limit)"
    )
    lags = outcome.lags
    print(
        f"the bot's event loop late by p50 {lags[len(lags) // 2] * 1000:.0f} ms, "
        f"p99 {lags[len(lags) * 99 // 100] * 1000:.0f} ms, max {lags[-1] * 1000:.0f} ms; "
        "garbage collection "
        + ", ".join(
            f"gen {g}: {len(p)} x, {sum(p):.1f} s, longest {max(p) * 1000:.0f} ms"
            for g, p in outcome.gc.items()
            if p
        )
    )
    print(
        f"the bot's process: {outcome.cpu_s:.0f} s of CPU, peak RSS {outcome.peak_mib:.0f} MiB "
        f"({outcome.rss_before_mib:.0f} MiB before the run); the fakes' process "
        f"{s['cpu_s']:.0f} s of CPU"
    )
    print(
        f"floor: {outcome.warnings:,} warnings / {rate}/s = {send_floor:.1f} s; the slowest "
        f"seller's poll {poll_floor:.1f} s"
    )
    print(
        f"wednesday: {args.sellers} sellers, {outcome.warnings} warnings, "
        f"{outcome.seconds:.1f} s, floor {floor:.1f} s, ratio {outcome.seconds / floor:.2f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--sellers", type=int, default=5000)
    parser.add_argument("--failing", type=float, default=0.9, help="share failing the week")
    parser.add_argument(
        "--window", type=float, default=REAL_WINDOW_S, help="bol.com's minute, in seconds"
    )
    parser.add_argument(
        "--paid", action="store_true", help="Telegram's paid broadcasts: 1,000 messages/s"
    )
    args = parser.parse_args()
    rate = PAID_RATE if args.paid else TELEGRAM_RATE
    pacing = RequestBudget(requests=BOL_REQUESTS, window_s=args.window)
    key = new_key()
    expected = sum(fails(n, args.failing) for n in range(args.sellers))
    with tempfile.TemporaryDirectory(prefix="normwacht-wednesday-") as folder:
        setup = Setup(
            Path(folder) / "wednesday.sqlite3",
            key.encode(),
            args.sellers,
            args.failing,
            args.window,
            rate,
        )
        started = time.monotonic()
        fakes = Fakes.start(setup)
        print(
            f"{args.sellers:,} sellers built and bol.com filled in "
            f"{time.monotonic() - started:.0f} s",
            flush=True,
        )
        try:
            config = load_config(
                env={
                    "NORMWACHT_DB": str(setup.database),
                    "NORMWACHT_SECRET_KEY": key,
                    "NORMWACHT_QUIET_HOURS": "off",
                    # Paid broadcasts: the knob the pacer has (TELEGRAM_PAID_BROADCAST=on
                    # once it is there).
                    "NORMWACHT_TELEGRAM_RATE": str(rate),
                    "NORMWACHT_ADMINS": "",
                    "BOL_API_URL": fakes.bol_url,
                    "BOL_LOGIN_URL": fakes.bol_url,
                    "TELEGRAM_BOT_TOKEN": TOKEN,
                    "TELEGRAM_API_URL": fakes.telegram_url,
                },
                dotenv=None,
            )
            outcome = asyncio.run(wednesday(config, fakes, expected, pacing))
        finally:
            fakes.stop()
    report(args, outcome, rate, pacing)


if __name__ == "__main__":
    main()
