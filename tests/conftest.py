"""Shared fixtures: a real store in a temporary folder (or a throwaway PostgreSQL
database), a fixed clock, the sample, and conversations with the bot as every channel
holds them.

A test module marked ``both_engines`` runs each of its tests on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol, TypeVar

import pytest

from bot.commands.reply import ChatContext, Reply
from bot.commands.service import Service
from bot.config import Config, load_config
from bot.store import Chat, Store
from messages import LANGUAGES, Language, render
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


def running_cluster() -> Iterator[Cluster]:
    """A throwaway PostgreSQL server with a migrated template, stopped at the end."""
    bin_dir = binaries()
    if bin_dir is None:
        pytest.skip("PostgreSQL is not installed (initdb, pg_ctl)")
    cluster = Cluster(bin_dir).start()
    try:
        run_aside(cluster.prepare_template())
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[Cluster]:
    yield from running_cluster()


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


@dataclass
class Conversation:
    """Drives the service layer the way every channel does (push a message, read replies)."""

    service: Service
    chat: Chat
    user_id: str = "1001"
    admin: bool = False
    replies: list[Reply] = field(default_factory=list)

    async def push(self, text: str) -> list[Reply]:
        fresh = await self.service.store.chats.get(self.chat.id)
        assert fresh is not None
        self.chat = fresh
        replies = await self.service.handle(ChatContext(self.chat, self.user_id, self.admin), text)
        self.replies += replies
        return replies

    async def text(self, message: str) -> str:
        """The plain-text rendering of the replies to ``message``."""
        replies = await self.push(message)
        fresh = await self.service.store.chats.get(self.chat.id)
        assert fresh is not None
        lang = fresh.language if fresh.language in LANGUAGES else "nl"
        return "\n\n".join(render(r.kind, r.data, fmt="text", lang=lang).text for r in replies)


def rendered(kind: str, data: dict[str, Any], lang: Language = "nl") -> str:
    """A reply as ``Conversation.text`` reads it."""
    return render(kind, data, fmt="text", lang=lang).text


class ChatOf(Protocol):
    """Opens a conversation in a Telegram chat (``address``) that follows ``sellers``."""

    async def __call__(self, *sellers: str, address: str = ...) -> Conversation: ...


@pytest.fixture
def service(sample_store: Store, config: Config, clock: FixedClock) -> Service:
    """The service over the sample, as the channels use it."""
    return Service(sample_store, config, clock)


async def open_chat(
    service: Service, *sellers: str, address: str = "501", admin: bool = False
) -> Conversation:
    """A conversation in the Telegram chat ``address``, following ``sellers``."""
    chat = await service.chat_for("telegram", address)
    for seller in sellers:
        await service.store.chats.link(chat.id, seller, "test", service.clock())
    return Conversation(service, chat, admin=admin)


def _chats(service: Service, default_address: str, admin: bool) -> ChatOf:
    async def chat_of(*sellers: str, address: str = default_address) -> Conversation:
        return await open_chat(service, *sellers, address=address, admin=admin)

    return chat_of


@pytest.fixture
def chat_of(service: Service) -> ChatOf:
    """A seller's (or a team's) chat: ``await chat_of("zonnig-wonen")``."""
    return _chats(service, "501", admin=False)


@pytest.fixture
def admin_chat(service: Service) -> ChatOf:
    """An operator's chat (NORMWACHT_ADMINS), following no seller unless told."""
    return _chats(service, "900", admin=True)
