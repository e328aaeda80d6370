"""A week's Retailer API v11 poll of one seller against the fake bol.com; wall time against
the minimum bol.com's limits allow, and the 429s.

bol.com allows a client about 20 kpi-scores, 10 performance-status and 120 ratings requests
a minute. One seller's week is nine KPI calls (one per KPI), the status and the ratings: the
nine KPI calls dominate. Spread evenly (as the client does, never in a burst) they take at
least 8 gaps of 60 / 20 s: 24 s. The minute is shrunk uniformly for fake and client alike
(``--window``, default 30 s: a 2x scale), which keeps every ratio (a fixed cost, the
token and the import, weighs more the more the minute is shrunk). Goal: no 429, and the
whole poll (token, fetch, import, owed rechecks) within 1.1x that minimum.

The fake runs in a process of its own: the CPU per request reported is the bot's alone.

    python -m bench.bol_v11 [--window 30]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from bench.bol_poll import Cpu, FakeProcess, FakeStats, fake_in_process
from bot.bol.api import KPI_NAMES, Limiters, RequestBudget
from bot.bol.credentials import SecretBox, new_key
from bot.bol.poll import poll_week
from bot.config import Config, load_config
from bot.store import Store
from norms import IsoWeek
from tests.fakes.bol import FakeBol
from tests.fakes.bol_v11 import KPI_PATH, RATINGS_PATH, STATUS_PATH

WEEK = IsoWeek(2026, 46)
NOW = datetime(2026, 11, 19, 9, 0, tzinfo=UTC)
REAL_WINDOW_S = 60.0
GOAL = 1.1
LOW = {"CANCELLATIONS", "CASE_ITEM_RATIO", "RETURNS"}  # fractions that stay low


def fill(bol: FakeBol, client_id: str, week: str) -> None:
    """A seller's v11 week: every KPI scored (FULFILMENT no more), a status, ratings."""
    for kpi in KPI_NAMES:
        if kpi == "REVIEWS":
            bol.set_kpi(client_id, kpi, week, value=8.4, denominator=12)
        elif kpi != "FULFILMENT":
            bol.set_kpi(client_id, kpi, week, numerator=3 if kpi in LOW else 148, denominator=150)
    bol.set_performance_status(
        client_id, strikes={"2026-44": ["HANDOVER"]}, points_left=85, quality=(week, 71)
    )
    bol.set_ratings(client_id, rating=8.6, reviews=40)


def v11_fake(window: float, limits: dict[str, int]) -> Callable[[], FakeBol]:
    def build() -> FakeBol:
        bol = FakeBol(window_s=window, v11=True, v11_limits=limits)
        bol.add_client("cid-1", "secret-1", v11=True)
        fill(bol, "cid-1", f"{WEEK.year}-{WEEK.week:02d}")
        return bol

    return build


async def poll_one(
    config: Config, fake: FakeProcess, pacing: RequestBudget
) -> tuple[float, int, Cpu, FakeStats]:
    """The wall time of ``poll_week`` for one seller, the measurements it stored, the bot's
    CPU over it, and what the fake saw."""
    assert config.secret_key is not None
    box = SecretBox(config.secret_key)
    store = await Store.open(config.database)
    try:
        await store.sellers.add("shop-1", "Shop 1", "nl", NOW)
        await store.sellers.set_credentials("shop-1", box.seal("cid-1"), box.seal("secret-1"), NOW)
        config = replace(config, bol_api_url=fake.url, bol_login_url=fake.url)
        started, cpu = time.perf_counter(), time.process_time()
        summary = await poll_week(store, config, WEEK, now=NOW, pacing=pacing, limiters=Limiters())
        cpu, wall = time.process_time() - cpu, time.perf_counter() - started
        assert not summary.failed, summary.describe()
        assert summary.v10 == {}, summary.describe()
        row = await store.db.fetchone("SELECT COUNT(*) AS n FROM measurements")
    finally:
        await store.close()
    seen = fake.stats()
    return wall, 0 if row is None else int(row["n"]), Cpu(cpu, seen.requests), seen


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--window", type=float, default=30.0, help="seconds (bol.com: 60)")
    args = parser.parse_args()
    window = args.window
    pacing = RequestBudget(window_s=window)
    limits = {KPI_PATH: 20, STATUS_PATH: 10, RATINGS_PATH: 120}
    kpis = len(KPI_NAMES)
    minimum = (kpis - 1) * window / limits[KPI_PATH]
    print(
        f"limits per client a window of {window:g} s (bol.com: {REAL_WINDOW_S:g} s; time scale "
        f"{REAL_WINDOW_S / window:g}x): kpi-scores {limits[KPI_PATH]}, performance-status "
        f"{limits[STATUS_PATH]}, ratings {limits[RATINGS_PATH]}"
    )
    fake_bol = v11_fake(window, limits)
    with tempfile.TemporaryDirectory() as folder, fake_in_process(fake_bol) as fake:
        config = load_config(
            env={
                "NORMWACHT_DB": str(Path(folder) / "bench.sqlite3"),
                "NORMWACHT_SECRET_KEY": new_key(),
            },
            dotenv=None,
        )
        wall, stored, cpu, seen = asyncio.run(poll_one(config, fake, pacing))
    calls = seen.calls_to(KPI_PATH)
    spread = calls[-1] - calls[0] if calls else 0.0
    ratio = wall / minimum
    print(f"1) one seller's week with v11: {kpis} kpi-scores calls, 1 status, 1 ratings")
    print(
        f"   wall {wall:.2f} s (token, fetch, import, rechecks); minimum the limits allow "
        f"{minimum:.2f} s ({kpis - 1} gaps of {window / limits[KPI_PATH] * 1000:.0f} ms); "
        f"ratio {ratio:.3f} (goal <= {GOAL})"
    )
    print(
        f"   first to last kpi-scores call {spread:.2f} s ({spread / minimum:.3f}x the minimum; "
        f"the client spaces with a {pacing.margin:.0%} margin)"
    )
    print(
        f"   429s: {seen.rejected_429} (goal 0); requests {seen.requests}; stored {stored} "
        f"measurements; {'met' if ratio <= GOAL and not seen.rejected_429 else 'MISSED'}"
    )
    print(cpu.line("poll"))


if __name__ == "__main__":
    main()
