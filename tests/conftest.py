"""Shared fixtures: a real store in a temporary folder (or a throwaway PostgreSQL
database), a fixed clock, the sample.

A test module marked ``both_engines`` runs each of its tests on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import pytest

from bot.config import Config, load_config
from bot.store import Store
from tests.postgres import Cluster, binaries

T = TypeVar("T")
ENGINES = ("sqlite", "postgresql")

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


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "both_engines: run on SQLite and on PostgreSQL")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "engine" in metafunc.fixturenames and metafunc.definition.get_closest_marker("both_engines"):
        metafunc.parametrize("engine", ENGINES, indirect=True)


def run_aside(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to its end on a loop of its own (a fixture may be set up while a
    test's loop runs)."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[Cluster]:
    bin_dir = binaries()
    if bin_dir is None:
        pytest.skip("PostgreSQL is not installed (initdb, pg_ctl)")
    cluster = Cluster(bin_dir).start()
    try:
        run_aside(cluster.prepare_template())
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def engine(request: pytest.FixtureRequest) -> str:
    """The store's engine: SQLite, unless the module runs on both."""
    return str(getattr(request, "param", "sqlite"))


def engine_database(engine: str, file: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    """A database of ``engine`` for the test's time: ``file``, or a fresh PostgreSQL one."""
    if engine == "sqlite":
        yield str(file)
        return
    cluster: Cluster = request.getfixturevalue("pg_cluster")
    url = run_aside(cluster.new_database())
    try:
        yield url
    finally:
        run_aside(cluster.drop_database(url))


@pytest.fixture
def database(engine: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    """NORMWACHT_DB for the test: a file in its folder, or a fresh PostgreSQL database."""
    yield from engine_database(engine, tmp_path / "normwacht.sqlite3", request)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock()


@pytest.fixture
def config(tmp_path: Path, database: str) -> Config:
    return make_config(tmp_path, NORMWACHT_DB=database)


@pytest.fixture
async def store(config: Config) -> AsyncIterator[Store]:
    opened = await Store.open(config.database)
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
