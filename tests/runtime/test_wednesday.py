"""The Wednesday run: each seller whose week is in is checked, and warned, at once, while
other sellers are still being polled; the check at 09:00 after it plans nothing new."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
from aiohttp import web
from telegram import Bot

from bot.bol.api import Limiters, RequestBudget
from bot.bol.credentials import SecretBox, new_key
from bot.channels.telegram.sender import TelegramSender
from bot.config import Config
from bot.imports import ImportFile, import_files
from bot.notices.owed_work import check_week
from bot.outbox.worker import DeliveryWorker
from bot.runtime.wednesday import wednesday_poller, wednesday_run
from bot.store import Store
from norms import IsoWeek
from tests.conftest import FixedClock, make_config
from tests.fakes.bol import MEDIA_TYPE, FakeBol
from tests.fakes.telegram import FakeTelegram

pytestmark = pytest.mark.both_engines

WEEK = IsoWeek(2026, 46)
FAST = RequestBudget(requests=1000, window_s=1.0, backoff_s=0.01, max_backoff_s=0.05)
# Polled sellers (client id -> late deliveries of 150: 15 fails the 93 % norm).
POLLED = {
    "shop-fast": ("cid-fast", 15),
    "shop-slow": ("cid-slow", 15),
    "shop-good": ("cid-good", 1),
}
# The chats of the fast and the slow seller (``sellers`` links one per seller, in order).
FAST_CHAT, SLOW_CHAT = 500, 501


class HeldBol(FakeBol):
    """bol.com answering the held clients only once let go: their sellers are still being
    polled while the others are done."""

    def __init__(self, held: set[str]) -> None:
        super().__init__(rate_limit=FAST.requests, window_s=FAST.window_s)
        self.held = held
        self.let_go = asyncio.Event()

    async def _authorise(
        self, request: web.Request, path: str, media_type: str = MEDIA_TYPE
    ) -> str:
        client_id = await super()._authorise(request, path, media_type)
        if client_id in self.held:
            await self.let_go.wait()
        return client_id


def week_of_data(bol: FakeBol, client_id: str, late: int) -> None:
    y, w = WEEK.year, WEEK.week
    bol.set_indicator(client_id, "FULFILMENT", y, w, numerator=150 - late, denominator=150)
    bol.set_indicator(client_id, "CANCELLATIONS", y, w, numerator=1, denominator=150)
    bol.set_indicator(client_id, "PHONE_AVAILABILITY", y, w, numerator=45, denominator=50)
    bol.set_indicator(client_id, "RESPONSE_TIME", y, w, numerator=19, denominator=20)
    bol.set_indicator(client_id, "CASE_ITEM_RATIO", y, w, numerator=3, denominator=150, norm=0.05)
    bol.set_indicator(client_id, "TRACK_AND_TRACE", y, w, numerator=150, denominator=150)
    bol.set_indicator(client_id, "RETURNS", y, w, numerator=4, denominator=150, norm=0.06)
    bol.set_indicator(client_id, "REVIEWS", y, w, value=8.4, denominator=12)
    bol.set_retailer(client_id, rating=8.6, reviews=40)


@pytest.fixture
def held() -> set[str]:
    return {"cid-slow"}


@pytest.fixture
async def bol(held: set[str]) -> AsyncIterator[HeldBol]:
    fake = HeldBol(held)
    for seller_id, (client_id, late) in POLLED.items():
        fake.add_client(client_id, f"secret-{seller_id}")
        week_of_data(fake, client_id, late)
    async with fake:
        try:
            yield fake
        finally:
            fake.let_go.set()


@pytest.fixture
def config(tmp_path: Path, database: str, bol: HeldBol) -> Config:
    return make_config(
        tmp_path,
        NORMWACHT_DB=database,
        NORMWACHT_SECRET_KEY=new_key(),
        BOL_API_URL=bol.url,
        BOL_LOGIN_URL=bol.url,
    )


@pytest.fixture
async def sellers(store: Store, config: Config, clock: FixedClock, tmp_path: Path) -> Store:
    """Three polled sellers, two uploading ones (one has sent its week, one has not yet),
    each followed in a Telegram chat of its own."""
    assert config.secret_key is not None
    box = SecretBox(config.secret_key)
    for n, seller_id in enumerate([*POLLED, "shop-upload", "shop-quiet"]):
        await store.sellers.add(seller_id, seller_id.title(), "nl", clock())
        chat = await store.chats.get_or_create("telegram", str(500 + n), language="nl", now=clock())
        await store.chats.link(chat.id, seller_id, "test", clock())
        if seller_id in POLLED:
            client_id = POLLED[seller_id][0]
            secret = f"secret-{seller_id}"
            await store.sellers.set_credentials(
                seller_id, box.seal(client_id), box.seal(secret), clock()
            )
    upload = tmp_path / "uploads.csv"
    upload.write_text(
        "seller_id,year,week,indicator,numerator,denominator,value,norm\n"
        "shop-upload,2026,45,FULFILMENT,150,150,,\n"
        "shop-quiet,2026,45,FULFILMENT,150,150,,\n"
        "shop-upload,2026,46,FULFILMENT,120,150,,\n",
        "utf-8",
    )
    await import_files(
        store,
        [ImportFile(upload, upload.name)],
        policy=config.policy,
        today=clock().date(),
        now=clock(),
    )
    return store


async def told(store: Store) -> list[tuple[str | None, str]]:
    return sorted((r.seller_id, r.kind) for r in await store.outbox.history())


async def until(condition: Callable[[], Awaitable[bool]], timeout_s: float = 30.0) -> None:
    async with asyncio.timeout(timeout_s):
        while not await condition():
            await asyncio.sleep(0.02)


async def sent(telegram: FakeTelegram, chat: int) -> bool:
    return bool(telegram.sent_texts(chat))


async def polled(store: Store, seller_id: str) -> bool:
    row = await store.db.fetchone("SELECT 1 FROM measurements WHERE seller_id = ?", (seller_id,))
    return row is not None


async def test_a_seller_is_warned_while_another_is_still_being_polled(
    sellers: Store, config: Config, clock: FixedClock, bol: HeldBol
) -> None:
    store = sellers
    async with FakeTelegram() as telegram:
        bot = Bot("1:wednesday", base_url=f"{telegram.url}/bot")
        async with bot:
            worker = DeliveryWorker(store, {"telegram": TelegramSender(bot)}, config, clock)
            stop = asyncio.Event()
            delivery = asyncio.create_task(worker.run_forever(stop, idle_s=60.0))
            run = asyncio.create_task(
                wednesday_run(
                    store,
                    config,
                    WEEK,
                    now=clock(),
                    planned=worker.wakeup.set,
                    pacing=FAST,
                    limiters=Limiters(),
                )
            )
            try:
                # The fast seller's warning reaches Telegram (delivery woken by the run,
                # not by its idle round) while the slow seller's figures are not in yet.
                await until(lambda: sent(telegram, FAST_CHAT))
                assert not run.done()
                assert not await polled(store, "shop-slow")
                assert not await sent(telegram, SLOW_CHAT)
                bol.let_go.set()
                summary = await run
                await until(lambda: sent(telegram, SLOW_CHAT))
            finally:
                bol.let_go.set()
                stop.set()
                await delivery
    assert sorted(summary.fetched) == sorted(POLLED)
    assert not summary.failed
    # Each failing seller warned once; the uploading one whose week is not in hears
    # nothing from the run: that its week is missing is the weekly check's to say.
    assert await told(store) == [
        ("shop-fast", "alerts"),
        ("shop-slow", "alerts"),
        ("shop-upload", "alerts"),
    ]
    assert await store.owed.pending() == []
    # The check at 09:00 sweeps up after it: nothing new for the sellers already checked.
    swept = await check_week(store, config, WEEK, now=clock())
    assert swept.planned == 1
    assert await told(store) == [
        ("shop-fast", "alerts"),
        ("shop-quiet", "figures_missing"),
        ("shop-slow", "alerts"),
        ("shop-upload", "alerts"),
    ]


@pytest.mark.parametrize("held", [{client for client, _ in POLLED.values()}])
async def test_uploading_sellers_are_checked_at_the_start(
    sellers: Store, config: Config, clock: FixedClock, bol: HeldBol
) -> None:
    store = sellers
    planned: list[int] = []
    run = asyncio.create_task(
        wednesday_run(
            store,
            config,
            WEEK,
            now=clock(),
            planned=lambda: planned.append(1),
            pacing=FAST,
            limiters=Limiters(),
        )
    )
    try:
        # bol.com answers nobody yet: the seller who uploaded its week is warned already.
        await until(lambda: asyncio.sleep(0, result=bool(planned)))
        assert await told(store) == [("shop-upload", "alerts")]
        assert not any([await polled(store, s) for s in POLLED])
    finally:
        bol.let_go.set()
    await run
    # A retry of the sellers bol.com failed for polls and checks only those.
    again = await wednesday_run(
        store, config, WEEK, now=clock(), seller_ids=["shop-good"], pacing=FAST
    )
    assert sorted(again.fetched) == ["shop-good"]
    assert again.planned == 0
    assert len(await told(store)) == 3


async def test_the_poll_job_returns_the_sellers_to_try_again(
    sellers: Store, config: Config, clock: FixedClock, bol: HeldBol, tmp_path: Path
) -> None:
    bol.let_go.set()
    # Without NORMWACHT_SECRET_KEY there is no poll job: the weekly check does it all.
    assert wednesday_poller(sellers, make_config(tmp_path)) is None
    poll = wednesday_poller(sellers, config, pacing=FAST)
    assert poll is not None
    bol.fail_next("/retailer/retailers/current", 503, times=4 * len(POLLED))
    assert await poll(WEEK, clock(), None) == sorted(POLLED)
    # bol.com is back for the retry within the hour.
    assert await poll(WEEK, clock(), sorted(POLLED)) == []
    assert await told(sellers) == [
        ("shop-fast", "alerts"),
        ("shop-slow", "alerts"),
        ("shop-upload", "alerts"),
    ]
