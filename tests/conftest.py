"""Shared fixtures: a real SQLite store in a temporary folder, a fixed clock, the sample."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.config import Config, load_config
from bot.store import Store

os.environ.setdefault("PTB_TIMEDELTA", "true")

# Thursday of 2026-W47, 10:00 in Amsterdam: week 46 is complete and checked.
NOW = datetime(2026, 11, 19, 9, 0, tzinfo=UTC)


class FixedClock:
    """A clock that moves only when told to."""

    def __init__(self, now: datetime = NOW) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def make_config(tmp_path: Path, **env: str) -> Config:
    values = {
        "NORMWACHT_DB": str(tmp_path / "normwacht.sqlite3"),
        "NORMWACHT_QUIET_HOURS": "off",
    }
    values.update(env)
    return load_config(env=values, dotenv=None)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock()


@pytest.fixture
def config(tmp_path: Path) -> Config:
    return make_config(tmp_path)


@pytest.fixture
async def store(config: Config) -> AsyncIterator[Store]:
    opened = await Store.open(config.db_path)
    try:
        yield opened
    finally:
        await opened.close()


@pytest.fixture
async def sample_store(store: Store, config: Config, clock: FixedClock) -> Store:
    """The store with the bundled sample sellers and their weeks."""
    from bot.sample import load_sample

    await load_sample(store, config.policy, clock())
    return store
