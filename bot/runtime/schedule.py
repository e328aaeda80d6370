"""The week's rhythm: poll, check, plan reminders and digests, at local times.

Every job is idempotent (the outbox dedups, ``job_runs`` records what ran), so a job may
run late or twice; on start ``catch_up`` runs, once, what the database shows was missed.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from functools import partial

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger

from bot.commands.service import Service
from bot.notices.check import checked_weeks
from bot.notices.digest import plan_digests
from bot.notices.owed_work import check_week
from bot.notices.reminders import plan_reminders
from bot.retention import prune_outbox
from bot.store.jobs import POLL
from norms import IsoWeek

log = logging.getLogger(__name__)

POLL_AT = ("wed", time(6, 0))
CHECK_AT = ("wed", time(9, 0))
REMINDERS_AT = time(9, 0)
EARLY_WARNING_AT = time(12, 0)
# Sent messages past NORMWACHT_KEEP_DAYS are deleted daily, at a quiet hour.
RETENTION_AT = time(4, 30)
# How far back a start catches up on weekly checks missed while down.
CATCH_UP_WEEKS = 8
# How long a job met by a database outage is tried again (a week's check must not wait
# for next week's; a lease taken over later catches up on what is left).
JOB_PATIENCE_S = 6 * 3600.0
_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

# The Wednesday run (``bot.runtime.wednesday``): polls a week (all sellers, or those
# named) and checks each seller whose week is in; returns the sellers to try again.
Poller = Callable[[IsoWeek, datetime, list[str] | None], Awaitable[list[str]]]
EarlyWarning = Callable[[datetime], Awaitable[object]]


@dataclass(frozen=True, slots=True)
class Moments:
    """The scheduled moments of one ISO week, in local time."""

    poll: datetime
    check: datetime


def week_moments(week: IsoWeek, tz: object) -> Moments:
    """When week ``week`` is polled and checked: Wednesday of the week after, local time."""
    wednesday = week.check_day
    return Moments(
        poll=datetime.combine(wednesday, POLL_AT[1], tzinfo=tz),  # type: ignore[arg-type]
        check=datetime.combine(wednesday, CHECK_AT[1], tzinfo=tz),  # type: ignore[arg-type]
    )


class WeeklySchedule:
    def __init__(
        self,
        service: Service,
        poller: Poller | None = None,
        early_warning: EarlyWarning | None = None,
    ) -> None:
        self.service = service
        self.early_warning = early_warning
        self._poll_again: dict[IsoWeek, list[str]] = {}
        self.store = service.store
        self.config = service.config
        self.clock = service.clock
        self.poller = poller

    @property
    def tz(self) -> object:
        return self.config.timezone

    def local(self, moment: datetime | None = None) -> datetime:
        return (moment or self.clock()).astimezone(self.config.timezone)

    # --- jobs ----------------------------------------------------------------------------

    def last_week(self) -> IsoWeek:
        return IsoWeek.containing(self.clock(), self.config.timezone).shift(-1)

    async def poll(self, week: IsoWeek | None = None) -> None:
        """The Wednesday run: fetch the week from bol.com for every seller with
        credentials, checking each seller as its week comes in (those who upload at the
        start). Sellers that failed for a passing reason (bol.com down) are tried again each
        hour; the week counts as polled once none is left."""
        if self.poller is None:
            return
        now = self.clock()
        week = week or self.last_week()
        if now < week_moments(week, self.tz).poll or await self.store.jobs.done(POLL, str(week)):
            return
        again = await self.poller(week, now, self._poll_again.get(week))
        if again:
            self._poll_again[week] = again
            log.warning("poll of %s: %d seller(s) to try again", week, len(again))
            return
        self._poll_again.pop(week, None)
        await self.store.jobs.mark(POLL, str(week), now)

    async def check(self, week: IsoWeek | None = None) -> int:
        """The weekly check (of the last complete week): after the Wednesday run, the sweep
        of whoever it did not check (figures missing, bol.com down); it plans nothing new
        for the sellers already checked. Returns messages planned."""
        now = self.clock()
        week = week or self.last_week()
        outcome = await check_week(self.store, self.config, week, now=now)
        log.info("checked %s: %d message(s) planned", week, outcome.planned)
        return outcome.planned

    async def provisional(self) -> None:
        """The daily early warning on the current week's figures so far (never stored)."""
        if self.early_warning is not None:
            await self.early_warning(self.clock())

    async def retention(self) -> int:
        """Delete the sent messages older than NORMWACHT_KEEP_DAYS; returns how many."""
        return await prune_outbox(self.store, self.config, self.clock())

    async def plan_reminders(self) -> int:
        """Remind sellers whose improvement plan is still required."""
        return await plan_reminders(self.service, self.clock())

    async def digests(self) -> int:
        """Digests for every chat whose digest day and hour have come this week."""
        now = self.local()
        monday = now.date() - timedelta(days=now.weekday())
        linked = await self.store.chats.first_linked()
        due = []
        for c in await self.store.chats.all():
            moment = datetime.combine(
                monday + timedelta(days=c.digest_day - 1),
                time(c.digest_hour),
                tzinfo=self.config.timezone,
            )
            # A chat linked after this week's moment waits for next week's: linking on a
            # Thursday does not bring Monday's digest at once.
            since = linked.get(c.id)
            if moment <= now and (since is None or since <= moment):
                due.append(c.id)
        if not due:
            return 0
        return await plan_digests(self.service, now=self.clock(), chat_ids=due)

    # --- catching up ---------------------------------------------------------------------

    async def catch_up(self, go_on: Callable[[], bool] = lambda: True) -> list[str]:
        """Run, once, what was due while the bot was down; a step met by a database outage
        runs again once it answers, while ``go_on()`` (this instance runs the schedule)."""
        ran: list[str] = []
        now = self.local()
        week = self.last_week()
        if now < week_moments(week, self.tz).poll:
            # Monday or Tuesday: the latest week due is the one before.
            week = week.shift(-1)
        moments = week_moments(week, self.tz)
        polled = await self.store.jobs.done(POLL, str(week))
        steps: list[tuple[str, Callable[[], Awaitable[object]]]] = []
        if self.poller is not None and now >= moments.poll and not polled:
            steps.append((f"poll {week}", partial(self.poll, week)))
        if now >= moments.check:
            for missed in await self._unchecked_weeks(week):
                steps.append((f"check {missed}", partial(self.check, missed)))
        if now.time() >= REMINDERS_AT:
            steps.append(("plan reminders", self.plan_reminders))
        steps.append(("digests", self.digests))
        steps.append(("retention", self.retention))
        for name, step in steps:
            # One failing step (bol.com down, say) must not keep the bot from starting.
            try:
                done = await self.store.db.patiently(
                    step, limit_s=JOB_PATIENCE_S, max_s=30.0, go_on=go_on
                )
                if done or not name.startswith(("plan", "digests", "retention")):
                    ran.append(name)
            except Exception as exc:
                if not self.store.db.unavailable(exc):
                    log.exception("catching up: %s failed", name)
                    continue
                # The next taker of the scheduler's lease (this instance, once the
                # database is back) catches up again; a check is owed work meanwhile.
                log.warning("catching up: %s waits for the database (%s)", name, exc)
        if ran:
            log.info("caught up on start: %s", ", ".join(ran))
        return ran

    async def _unchecked_weeks(self, latest: IsoWeek) -> list[IsoWeek]:
        """Weeks due but not checked: every week after the last one checked, up to
        ``latest`` (at most ``CATCH_UP_WEEKS``); on a first start only ``latest``."""
        done = await checked_weeks(self.store)
        if not done:
            return [latest]
        start = max(done[-1].shift(1), latest.shift(1 - CATCH_UP_WEEKS))
        return [w for w in start.until(latest) if w not in done]

    # --- APScheduler ---------------------------------------------------------------------

    def triggers(self) -> dict[str, CronTrigger]:
        """The cron triggers, each in the configured time zone (never the machine's)."""
        tz = self.config.timezone
        return {
            # Wednesday 06:00 the week is polled; every hour after, what failed is tried again.
            "poll": CronTrigger(minute=POLL_AT[1].minute, timezone=tz),
            "check": CronTrigger(
                day_of_week=CHECK_AT[0],
                hour=CHECK_AT[1].hour,
                minute=CHECK_AT[1].minute,
                timezone=tz,
            ),
            "provisional": CronTrigger(
                hour=EARLY_WARNING_AT.hour, minute=EARLY_WARNING_AT.minute, timezone=tz
            ),
            "plan_reminders": CronTrigger(
                hour=REMINDERS_AT.hour, minute=REMINDERS_AT.minute, timezone=tz
            ),
            # Digest times are per chat: look every hour on the hour.
            "digests": CronTrigger(minute=0, timezone=tz),
            "retention": CronTrigger(
                hour=RETENTION_AT.hour, minute=RETENTION_AT.minute, timezone=tz
            ),
        }

    def register(
        self,
        scheduler: AsyncIOScheduler,
        after: Callable[[], None],
        *,
        runs_here: Callable[[], bool] = lambda: True,
    ) -> None:
        """Add the jobs; each runs only while ``runs_here()`` (this instance holds the
        scheduler's lease), then calls ``after``."""
        jobs: dict[str, Callable[[], Awaitable[object]]] = {
            "poll": self.poll,
            "check": self.check,
            "provisional": self.provisional,
            "plan_reminders": self.plan_reminders,
            "digests": self.digests,
            "retention": self.retention,
        }
        for name, trigger in self.triggers().items():
            job = jobs[name]

            async def run(job: Callable[[], Awaitable[object]] = job, name: str = name) -> None:
                if not runs_here():
                    log.debug("scheduled job %s: another instance runs the schedule", name)
                    return
                try:
                    # A database outage delays a job, never drops it: it runs again once
                    # the database answers, while this instance still runs the schedule.
                    await self.store.db.patiently(
                        job, limit_s=JOB_PATIENCE_S, max_s=30.0, go_on=runs_here
                    )
                except Exception:
                    log.exception("scheduled job %s failed", name)
                after()

            scheduler.add_job(
                run,
                trigger,
                id=name,
                name=name,
                coalesce=True,
                misfire_grace_time=6 * 3600,
                max_instances=1,
                replace_existing=True,
            )
