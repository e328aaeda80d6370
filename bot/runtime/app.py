"""``normwacht run``: every configured channel, the scheduler and delivery in one process."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal
import sys
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from bot.channels.console import ADMIN_ADDRESS, CONSOLE, ConsoleChat, ConsoleSender
from bot.channels.opening import Polling, opener
from bot.channels.platforms import Platform, chat_platforms
from bot.clock import Clock, system_clock
from bot.commands.service import CredentialCheck, Service
from bot.config import Config, ConfigError
from bot.exposition import metrics_source
from bot.notices.admins import admin_chats
from bot.notices.check import run_check
from bot.notices.owed_work import complete_owed_work, run_owed_worker
from bot.outbox.errors import Sender
from bot.outbox.pacing import billing_note
from bot.outbox.worker import DeliveryWorker
from bot.runtime.health import Health, Reconnector, describe
from bot.runtime.http import HttpServer
from bot.runtime.instance import DATABASE, SCHEDULER, Instance, polling_lease
from bot.runtime.logs import configure_logging
from bot.sample import load_sample, sample_clock
from bot.store import Store
from bot.store.configured import open_store

if TYPE_CHECKING:
    from apscheduler.schedulers.asyncio import AsyncIOScheduler

    from bot.bol.api import RequestBudget
    from bot.runtime.schedule import WeeklySchedule

log = logging.getLogger("normwacht")

# How long a stop waits for the sends in flight to finish and be recorded.
DRAIN_S = 10.0
# The garbage collector's thresholds for a long-running bot. A Wednesday run holds
# thousands of coroutines for seconds each (sellers polled at bol.com's pace), which
# Python's defaults promote and then sweep again and again in full collections: a third
# of the run's CPU, and pauses that hold delivery's pacing up (bench/wednesday.py).
COLLECT_AFTER = (20_000, 20, 100)
# How soon a database that went away is asked again (then with backoff).
DATABASE_RETRY_S = 0.25


def console_only(config: Config) -> bool:
    """Whether ``run`` serves the console alone: no chat platform is configured."""
    return not chat_platforms(config)


def demo_path(config: Config) -> Path:
    """The sample shops' own SQLite file: beside the SQLite database (``data/`` for
    PostgreSQL), and never the database itself."""
    target = config.db_path.with_name("demo.sqlite3")
    if not config.on_postgresql and target.resolve() == config.db_path.resolve():
        target = target.with_name("normwacht-demo.sqlite3")
    return target


async def prepare_store(config: Config, clock: Clock, *, demo: bool) -> Store:
    """Open the database. With ``--demo`` (a fresh copy), and on a console-only start
    (the one kept from the last), that is the sample shops' own database, never
    ``NORMWACHT_DB``: the samples never mix with an operator's real sellers. A bot
    configured for Telegram or Slack starts on what the operator imports: sample shops
    in a real deployment would be told nothing true."""
    target: Path | None = None
    samples = demo or console_only(config)
    if samples:
        target = demo_path(config)
        if demo:  # a fresh copy
            for suffix in ("", "-wal", "-shm"):
                target.with_name(target.name + suffix).unlink(missing_ok=True)
    # On the console the first line names the samples' database: no second line for it.
    store = await open_store(
        config, target, busy_wait_s=None, announce=target is None or not console_only(config)
    )
    ids = [s.id for s in await store.sellers.all()] if samples else []
    loaded = samples and not ids
    if loaded:
        now = clock()
        ids = await load_sample(store, config.policy, now, bol_verdict=True)
        console = await store.chats.get_or_create(
            CONSOLE, ADMIN_ADDRESS, language=config.language, now=now, title=CONSOLE
        )
        for seller_id in ids:
            await store.chats.link(console.id, seller_id, "sample", now)
    if target is not None and console_only(config):  # the console reads it, not a log
        from typing import cast

        from messages import Language, render

        # In the console chat's language, like everything it says after.
        console_chat = await store.chats.find(CONSOLE, ADMIN_ADDRESS)
        lang = cast(Language, console_chat.language if console_chat else config.language)
        data = {"sellers": ids, "database": str(target.resolve()), "loaded": loaded}
        welcome = render("console_welcome", data, fmt="text", lang=lang)
        print(welcome.text.strip(), file=sys.stderr)
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
        timezone=config.timezone,
    )


async def run_bot(config: Config, clock: Clock, *, demo: bool = False) -> int:
    """Run until SIGINT/SIGTERM, or (console only) until end of input. A stop is graceful:
    no new work is taken, the sends in flight finish (for up to ``DRAIN_S``) and are
    recorded, the rest of the claims and the leases are given back, and the exit is 0."""
    configure_logging(config)
    if (demo or not chat_platforms(config)) and clock is system_clock:
        # The sample shops live in their own week (``NORMWACHT_NOW`` pins another).
        clock = sample_clock(clock, config.timezone)
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
            health = Health(clock)
            instance = Instance(store, clock, period_s=config.lease_s, health=health)
            health.instance = instance.describe
            health.probe_with(DATABASE, store.db.ping, store.db.unavailable)
            # Undone last: the leases go only once the channels stopped receiving (a
            # poller's last call confirms the updates it fetched, under its lease).
            stack.push_async_callback(instance.stop)
            platforms = await start_channels(
                stack, service, config, senders, stop, health, instance=instance
            )
            console_only = not platforms
            if console_only:
                senders[CONSOLE] = ConsoleSender()

            def database_error(exc: BaseException) -> None:
                if store.db.unavailable(exc):
                    health.down(DATABASE, describe(exc))

            worker = DeliveryWorker(
                store,
                senders,
                config,
                clock,
                is_up=health.is_up,
                instance=instance,
                on_database_error=database_error,
            )
            for name, pacer in worker.pacers.items():
                if pacer.pacing.billed_above is not None:  # Telegram's paid broadcasts
                    health.note(f"{name}_paid_broadcasts", partial(billing_note, pacer))
            owed_wakeup = asyncio.Event()

            def back(part: str) -> None:
                # A platform or the database that is back: what waited for it goes now.
                worker.wakeup.set()
                if part == DATABASE:
                    owed_wakeup.set()

            health.on_up(back)
            scheduler = None if console_only else prepare_scheduler(service, worker, instance)
            await instance.start()
            if not console_only:
                # The database's own outage is noticed by whatever meets it, and from then
                # on asked again every moment, so that the waiting work resumes at once.
                watch = Reconnector(
                    DATABASE,
                    health,
                    store.db.ping,
                    store.db.ping,
                    store.db.unavailable,
                    first_retry_s=DATABASE_RETRY_S,
                    max_retry_s=max(DATABASE_RETRY_S, min(5.0, config.lease_s / 4)),
                )
                await watch.start()
                stack.push_async_callback(watch.stop)
            await worker.start()
            # What a killed process left owed (the recheck after an import) comes first.
            await complete_owed_work(store, config, now=clock())
            if console_only:
                await console_catch_up(store, config, clock)
                await worker.run_once()
                chat = await service.chat_for(CONSOLE, ADMIN_ADDRESS)
                await ConsoleChat(service, chat, admin=True).serve(stop)
                return 0
            delivery = asyncio.create_task(worker.run_forever(stop), name="delivery")
            owed = asyncio.create_task(
                run_owed_worker(store, config, clock, stop, worker.wakeup.set, wakeup=owed_wakeup),
                name="owed",
            )
            stack.push_async_callback(_cancel, [delivery, owed])
            health.check("delivery", lambda: not delivery.done())
            assert scheduler is not None
            tune_collector()
            scheduler.start()
            stack.callback(_shut_down, scheduler)
            health.check("scheduler", lambda: bool(scheduler.running))
            await stop.wait()
            log.info("shutting down: finishing the sends in flight")
            # No new jobs; delivery takes no new claims, its sends in flight finish and are
            # recorded, its other claims go back; then leases go (the stack, in order).
            _shut_down(scheduler)
            worker.stop()
            await _drain(delivery, DRAIN_S)
            return 0
    finally:
        await store.close()


def tune_collector() -> None:
    """Once started: what start-up built (modules, templates, catalogs, connections) is set
    aside for good, and young objects are collected in larger, rarer rounds."""
    gc.freeze()
    gc.set_threshold(*COLLECT_AFTER)


async def _drain(task: asyncio.Task[None], within_s: float) -> None:
    """Let ``task`` end by itself for up to ``within_s``; then cancel it (a send cut off
    is put back, and logged as one that may arrive twice)."""
    done, _ = await asyncio.wait([task], timeout=within_s)
    if done:
        return
    log.warning("shutting down: delivery did not finish within %gs; stopping it", within_s)
    task.cancel()
    # What it records on the way out is short; a database that does not answer is not
    # waited for (the sends cut off then go again at the next start).
    await asyncio.wait([task], timeout=2.0)


def _shut_down(scheduler: AsyncIOScheduler) -> None:
    if scheduler.running:
        scheduler.shutdown(wait=False)


async def start_channels(
    stack: AsyncExitStack,
    service: Service,
    config: Config,
    senders: dict[str, Sender],
    stop: asyncio.Event,
    health: Health | None = None,
    *,
    instance: Instance | None = None,
) -> list[str]:
    """Start every configured chat platform; returns their names. A platform that cannot
    be reached is retried in the background while the rest serves (``health`` says which
    is up); only a configuration fault stops the start. With ``instance``, Telegram is
    polled only while it holds the polling lease."""
    health = health or Health(service.clock)
    http = HttpServer(
        config.http_port,
        config.http_host,
        health=health,
        admin=config.admin_address,
        metrics=metrics_source(service.store, config, health),
    )
    served = [
        (p, o, o.open_channel(service, config, http, health))
        for p in chat_platforms(config)
        if (o := opener(p)) is not None
    ]
    for platform, _, connection in served:
        if instance is not None and connection.polling is not None:
            hold_polling(instance, polling_lease(platform.name), connection.polling)
    if not served:
        return []
    # The listener serves /healthz whenever channels run, and is up before any of them
    # connects: an outage must not leave Slack's events or Telegram's webhook unheard.
    await start_listener(http, config)
    stack.push_async_callback(http.stop)
    for platform, opened, connection in served:
        name, channel = platform.name, connection.channel
        health.watch(name, where=platform.where(config))
        link = Reconnector(name, health, channel.start, channel.probe, opened.is_outage)
        stack.push_async_callback(channel.stop)
        try:
            await link.start()
        except Exception as exc:
            setting = opened.refused_setting(exc)
            if setting is None:
                raise
            raise refused(setting, platform, config) from exc
        stack.push_async_callback(link.stop)
        senders[name] = channel.sender
    names = [platform.name for platform, _, _ in served]
    log.info("serving %s", " and ".join(names))
    return names


def hold_polling(instance: Instance, lease: str, polling: Polling) -> None:
    """One process at a time may poll a platform: the holder of its lease."""
    polling.may_poll = lambda: instance.holds(lease)

    async def start() -> None:
        await polling.poll(True)

    async def stop() -> None:
        await polling.poll(False)

    instance.want(lease, on_gain=start, on_lose=stop)


async def start_listener(http: HttpServer, config: Config) -> None:
    """Start the HTTP listener; a port that cannot be had is a configuration fault."""
    try:
        await http.start()
    except OSError as exc:
        await http.stop()
        raise ConfigError(
            f"NORMWACHT_HTTP_PORT: cannot listen on port {config.http_port}: {exc.strerror or exc}"
        ) from exc


def prepare_scheduler(
    service: Service, worker: DeliveryWorker, instance: Instance
) -> AsyncIOScheduler:
    """The weekly schedule (poll, check, reminders, digests), run by the instance holding
    the scheduler lease: on taking it, that instance catches up on what was due (also
    what a dead holder left undone), then runs the jobs as they come."""
    # Deferred: the console alone has no schedule, and this brings APScheduler.
    from apscheduler.schedulers.asyncio import AsyncIOScheduler

    schedule = weekly_schedule(service, worker)

    async def catch_up() -> None:
        await schedule.catch_up(go_on=lambda: instance.holds(SCHEDULER))
        worker.wakeup.set()

    instance.want(SCHEDULER, on_gain=catch_up)
    scheduler = AsyncIOScheduler(timezone=service.config.timezone)
    schedule.register(scheduler, worker.wakeup.set, runs_here=lambda: instance.holds(SCHEDULER))
    return scheduler


def weekly_schedule(
    service: Service, worker: DeliveryWorker, *, pacing: RequestBudget | None = None
) -> WeeklySchedule:
    """The week's jobs as ``run`` keeps them: the Wednesday run wakes delivery as soon as a
    batch of sellers planned its warnings (``pacing``: bol.com's, when not its own)."""
    # Deferred: these bring httpx, which the console alone does without.
    from bot.bol.provisional import scheduled_early_warning
    from bot.runtime.schedule import WeeklySchedule
    from bot.runtime.wednesday import wednesday_poller

    store, config = service.store, service.config
    poller = wednesday_poller(store, config, planned=worker.wakeup.set, pacing=pacing)
    return WeeklySchedule(service, poller, scheduled_early_warning(store, config))


def credential_check(config: Config) -> CredentialCheck | None:
    """``/connect`` checks credentials with a token request when they can be stored."""
    if config.secret_key is None:
        return None
    # Deferred: httpx is loaded only where bol.com credentials can be stored.
    from bot.bol.api import check_credentials

    return check_credentials(config)


async def _cancel(tasks: list[asyncio.Task[None]]) -> None:
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


@asynccontextmanager
async def delivery_senders(config: Config, health: Health) -> AsyncIterator[dict[str, Sender]]:
    """A sender per configured platform, for ``normwacht deliver``. A platform that does
    not answer is marked down in ``health`` (its messages wait, no attempt spent) and the
    others are served; only a configuration fault (a bad token) stops the command."""
    async with AsyncExitStack() as stack:
        senders: dict[str, Sender] = {CONSOLE: ConsoleSender()}
        for platform in chat_platforms(config):
            if (opened := opener(platform)) is None:
                continue
            health.watch(platform.name, where=platform.where(config))
            try:
                senders[platform.name] = await stack.enter_async_context(
                    opened.open_sender(config, health)
                )
            except Exception as exc:
                if (setting := opened.refused_setting(exc)) is not None:
                    raise refused(setting, platform, config) from exc
                if not opened.is_outage(exc):
                    raise
                health.down(platform.name, describe(exc))
        yield senders


def refused(setting: str, platform: Platform, config: Config) -> ConfigError:
    """A credential the platform does not take: the setting is named, never the secret
    (nor the platform's own words, which may quote it)."""
    return ConfigError(
        f"{setting}: {platform.where(config)} does not accept this token (refused at "
        "start); set the right one and start again"
    )
