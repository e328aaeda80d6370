"""An admin's ``/score NAME`` among 50,000 sellers: finding the seller by name.

Measures, in one run on one store, the service's whole ``/score`` answer for a seller named
by a unique beginning of its name, against the same answer for a seller named by its exact
id (which needs no folding of names). Goal: the name costs at most 2x the id.

    python -m bench.seller_names [--sellers N] [--rounds R]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from bot.commands.service import ChatContext, Service
from bot.config import load_config
from bot.sample import load_sample
from bot.store import Store

NOW = datetime(2026, 11, 19, 9, 0, tzinfo=UTC)  # Thursday of 2026-W47, as in the tests


async def run(sellers: int, rounds: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as folder:
        config = load_config(
            env={"NORMWACHT_DB": str(Path(folder) / "b.sqlite3"), "NORMWACHT_QUIET_HOURS": "off"},
            dotenv=None,
        )
        store = await Store.open(config.db_path)
        try:
            await load_sample(store, config.policy, NOW)
            await store.db.executemany(
                "INSERT INTO sellers (id, name, language, created_at) VALUES (?, ?, 'nl', ?)",
                [(f"shop-{i}", f"Wïnkel Nummer {i}", NOW.isoformat()) for i in range(sellers)],
            )
            service = Service(store, config, lambda: NOW)
            chat = await service.chat_for("console", "bench-admin")
            ctx = ChatContext(chat, "1", is_admin=True)
            timings: dict[str, list[float]] = {"by id": [], "by name": []}
            for _ in range(rounds):
                for label, text in (
                    ("by id", "/score snel-speelgoed"),
                    ("by name", "/score snel speel"),
                ):
                    started = time.perf_counter()
                    [reply] = await service.handle(ctx, text)
                    timings[label].append(time.perf_counter() - started)
                    assert reply.kind == "score", reply.kind
            return {label: statistics.median(values) for label, values in timings.items()}
        finally:
            await store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sellers", type=int, default=50_000)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    medians = asyncio.run(run(args.sellers, args.rounds))
    base = medians["by id"]
    for label, value in medians.items():
        print(f"{label:8} median {value * 1000:8.1f} ms   {value / base:5.2f}x")


if __name__ == "__main__":
    main()
