"""The bundled sample: five shops whose weeks each tell one story.

- ``zonnig-wonen``: a clean shop on its way to the gold label (a few reviews short);
- ``snel-speelgoed``: late deliveries climb the ladder to suspension in week 46;
- ``boekenhoek``: two failing weeks, then 24 clean ones: the track ends in week 46;
- ``tuin-en-co``: returns above its personal norm three weeks running;
- ``kado-kelder``: a shop rating falling into the danger zone.

With ``bol_verdict`` (the demo) two of them also bring bol.com's own verdict (two
performance-status snapshots, ``statuses.json``): ``zonnig-wonen`` in good standing, and
``tuin-en-co`` with a new policy violation, few points left and a falling quality score.
"""

from __future__ import annotations

import contextlib
import csv
from datetime import datetime, time, timedelta
from importlib import resources
from pathlib import Path
from zoneinfo import ZoneInfo

from bot.clock import Clock
from bot.imports import ImportFile, import_files
from bot.store import SellerExists, Store
from norms import IsoWeek, Policy

SAMPLE_WEEK = IsoWeek(2026, 46)


def sample_clock(clock: Clock, timezone: ZoneInfo) -> Clock:
    """The sample shops' clock: from the Thursday after ``SAMPLE_WEEK``, 10:00, on, as
    much time later as has passed on ``clock`` since it was made. The sample is fixed in
    time: on the real clock every later week would read as missing figures, and bol.com's
    sample snapshots as news from the future. So a demo reads the same whichever day it runs."""
    thursday = SAMPLE_WEEK.shift(1).monday + timedelta(days=3)
    start = datetime.combine(thursday, time(10, 0), tzinfo=timezone)
    offset = clock() - start
    return lambda: clock() - offset


def sample_path(name: str) -> Path:
    return Path(str(resources.files("bot.sample").joinpath(name)))


async def load_sample(
    store: Store, policy: Policy, now: datetime, *, bol_verdict: bool = False
) -> list[str]:
    """Add the sample sellers and import their weeks (with ``bol_verdict``, bol.com's
    snapshots too); returns the seller ids."""
    ids = []
    with sample_path("sellers.csv").open(encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            ids.append(row["seller_id"])
            with contextlib.suppress(SellerExists):
                await store.sellers.add(row["seller_id"], row["name"], row["language"], now)
    await import_files(
        store,
        [
            ImportFile(sample_path(n), n)
            for n in ("indicators.csv", "ratings.csv", *(("statuses.json",) if bol_verdict else ()))
        ],
        policy=policy,
        # The sample is fixed in time: judge its weeks as of the week after the last one.
        today=SAMPLE_WEEK.check_day,
        now=now,
        source="upload",
    )
    return ids
