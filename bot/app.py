"""``normwacht run``: every configured channel, the scheduler and delivery in one process."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

from bot.channels.console import ADMIN_ADDRESS, CONSOLE, ConsoleChat, ConsoleSender
from bot.clock import Clock
from bot.config import Config
from bot.delivery import DeliveryWorker, Sender
from bot.http import HttpServer
from bot.logs import configure_logging
from bot.notify import admin_chats
from bot.owed import complete_owed_work, run_owed_worker
from bot.sample import load_sample
from bot.service import CredentialCheck, Service
from bot.store import Store
from bot.weekly import run_check

log = logging.getLogger("normwacht")


async def prepare_store(config: Config, clock: Clock, *, demo: bool) -> Store:
    """Open the database; on a first start (or ``--demo``) load the sample sellers."""
    path = config.db_path
    if demo:
        path = path.with_name("demo.sqlite3")
        for suffix in ("", "-wal", "-shm"):
            path.with_name(path.name + suffix).unlink(missing_ok=True)
    store = await Store.open(path)
    if not await store.sellers.all():
        now = clock()
        ids = await load_sample(store, config.policy, now)
        console = await store.chats.get_or_create(
            CONSOLE, ADMIN_ADDRESS, language=config.language, now=now, title="console"
        )
        for seller_id in ids:
            await store.chats.link(console.id, seller_id, "sample", now)
        print(
            f"Loaded the sample shops: {', '.join(ids)}. Type /help, /score, /goldlabel, "
            "/status (end of input exits).",
            file=sys.stderr,
        )
    return store


async def console_catch_up(store: Store, config: Config, clock: Clock) -> None:
    """Check the latest week with data so the console shows that week's alerts."""
    latest = await store.data.latest_week()
    if latest is None:
        return
    await run_check(
        store,
        config.policy,
        latest,
        now=clock(),
        admin_chats=await admin_chats(store, config, clock()),
    )


async def run_bot(config: Config, clock: Clock, *, demo: bool = False) -> int:
    """Run until SIGINT/SIGTERM, or (console only) until end of input."""
    configure_logging(config)
    store = await prepare_store(config, clock, demo=demo)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    try:
        async with AsyncExitStack() as stack:
            service = Service(store, config, clock, check_credentials=credential_check(config))
            senders: dict[str, Sender] = {}
            platforms = await start_channels(stack, service, config, senders, stop)
            console_only = not platforms
            if console_only:
                senders[CONSOLE] = ConsoleSender()
            worker = DeliveryWorker(store, senders, config, clock)
            await worker.start()
            # What a killed process left owed (the recheck after an import) comes first.
            await complete_owed_work(store, config, now=clock())
            if console_only:
                await console_catch_up(store, config, clock)
                await worker.run_once()
                chat = await service.chat_for(CONSOLE, ADMIN_ADDRESS)
                await ConsoleChat(service, chat, admin=True).serve(stop)
                return 0
            tasks = [
                asyncio.create_task(worker.run_forever(stop), name="delivery"),
                asyncio.create_task(
                    run_owed_worker(store, config, clock, stop, worker.wakeup.set), name="owed"
                ),
            ]
            stack.push_async_callback(_cancel, tasks)
            await start_scheduler(stack, service, worker, clock)
            await stop.wait()
            log.info("shutting down")
            return 0
    finally:
        await store.close()


async def start_channels(
    stack: AsyncExitStack,
    service: Service,
    config: Config,
    senders: dict[str, Sender],
    stop: asyncio.Event,
) -> list[str]:
    """Start every configured chat platform; returns their names."""
    started: list[str] = []
    http = HttpServer(config.http_port)
    if config.telegram_token:
        from bot.channels.telegram import TelegramChannel

        telegram = TelegramChannel(service, config, http)
        await telegram.start()
        stack.push_async_callback(telegram.stop)
        senders["telegram"] = telegram.sender
        started.append("telegram")
    if config.slack_bot_token:
        from bot.channels.slack import SlackChannel

        slack = SlackChannel(service, config, http=http)
        await slack.start()
        stack.push_async_callback(slack.stop)
        senders["slack"] = slack.sender
        started.append("slack")
    if http.needed:
        await http.start()
        stack.push_async_callback(http.stop)
    if started:
        log.info("serving %s", " and ".join(started))
    return started


async def start_scheduler(
    stack: AsyncExitStack, service: Service, worker: DeliveryWorker, clock: Clock
) -> None:
    """Register the weekly schedule (poll, check, reminders, digests) and catch up."""
    from apscheduler.schedulers.asyncio import AsyncIOScheduler

    from bot.ingest.poll import scheduled_poller
    from bot.ingest.provisional import scheduled_early_warning
    from bot.schedule import WeeklySchedule

    store, config = service.store, service.config
    schedule = WeeklySchedule(
        service, scheduled_poller(store, config), scheduled_early_warning(store, config)
    )
    await schedule.catch_up()
    worker.wakeup.set()
    scheduler = AsyncIOScheduler(timezone=service.config.timezone)
    schedule.register(scheduler, worker.wakeup.set)
    scheduler.start()
    stack.callback(scheduler.shutdown, wait=False)


def credential_check(config: Config) -> CredentialCheck | None:
    """``/connect`` checks credentials with a token request when they can be stored."""
    if config.secret_key is None:
        return None
    from bot.ingest.bol_api import check_credentials

    return check_credentials(config)


async def _cancel(tasks: list[asyncio.Task[None]]) -> None:
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


@asynccontextmanager
async def delivery_senders(config: Config) -> AsyncIterator[dict[str, Sender]]:
    """A sender per configured platform, for ``normwacht deliver``."""
    async with AsyncExitStack() as stack:
        senders: dict[str, Sender] = {CONSOLE: ConsoleSender()}
        if config.telegram_token:
            from bot.channels.telegram_sender import telegram_sender

            senders["telegram"] = await stack.enter_async_context(telegram_sender(config))
        if config.slack_bot_token:
            from bot.channels.slack import slack_sender

            senders["slack"] = await stack.enter_async_context(slack_sender(config))
        yield senders
