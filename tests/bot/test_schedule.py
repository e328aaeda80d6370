"""The weekly rhythm in local time, across a DST change and a year end."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.commands.service import Service
from bot.config import Config
from bot.notices.reminders import reminder_slot
from bot.runtime.schedule import CHECK_AT, WeeklySchedule, week_moments
from bot.store import Store
from norms import IsoWeek
from tests.conftest import FixedClock, make_config

pytestmark = pytest.mark.both_engines

AMS = ZoneInfo("Europe/Amsterdam")


def triggers(tmp_path: Path):
    from apscheduler.triggers.cron import CronTrigger

    from bot.runtime.schedule import POLL_AT

    tz = make_config(tmp_path).timezone
    check = CronTrigger(day_of_week=CHECK_AT[0], hour=CHECK_AT[1].hour, timezone=tz)
    poll = CronTrigger(day_of_week=POLL_AT[0], hour=POLL_AT[1].hour, timezone=tz)
    return check, poll


def test_the_check_stays_at_nine_local_across_the_october_dst_change(tmp_path: Path) -> None:
    check, _ = triggers(tmp_path)
    before = check.get_next_fire_time(None, datetime(2026, 10, 20, tzinfo=AMS))
    after = check.get_next_fire_time(None, datetime(2026, 10, 26, tzinfo=AMS))
    assert before.isoformat() == "2026-10-21T09:00:00+02:00"
    assert after.isoformat() == "2026-10-28T09:00:00+01:00"
    # The same local hour is a different UTC hour on each side of the change.
    assert before.astimezone(UTC).hour == 7 and after.astimezone(UTC).hour == 8


def test_the_check_stays_at_nine_local_across_the_march_dst_change(tmp_path: Path) -> None:
    check, poll = triggers(tmp_path)
    fire = check.get_next_fire_time(None, datetime(2027, 3, 27, tzinfo=AMS))
    assert fire.isoformat() == "2027-03-31T09:00:00+02:00"
    assert poll.get_next_fire_time(None, fire).isoformat() == "2027-04-07T06:00:00+02:00"


def test_week_moments_across_a_53_week_year_end() -> None:
    # 2026 has 53 ISO weeks; week 53 is checked on Wednesday 6 January 2027.
    last = IsoWeek(2026, 53)
    assert week_moments(last, AMS).check.isoformat() == "2027-01-06T09:00:00+01:00"
    assert week_moments(IsoWeek(2026, 52), AMS).poll.isoformat() == "2026-12-30T06:00:00+01:00"
    assert last.shift(1) == IsoWeek(2027, 1)
    assert IsoWeek.containing(datetime(2027, 1, 6, 8, 0, tzinfo=UTC), AMS).shift(-1) == last


def test_plan_reminders_every_two_days_after_the_suspension_check_day() -> None:
    since = IsoWeek(2026, 46)  # checked on Wednesday 18 November
    assert reminder_slot(since, date(2026, 11, 18), 2) is None
    assert reminder_slot(since, date(2026, 11, 19), 2) is None
    assert reminder_slot(since, date(2026, 11, 20), 2) == date(2026, 11, 20)
    assert reminder_slot(since, date(2026, 11, 21), 2) == date(2026, 11, 20)
    assert reminder_slot(since, date(2026, 11, 22), 2) == date(2026, 11, 22)


# --- catching up on start, with an injected clock -----------------------------------------


@pytest.fixture
async def schedule(sample_store: Store, config: Config, clock: FixedClock) -> WeeklySchedule:
    chat = await sample_store.chats.get_or_create("telegram", "77", language="nl", now=clock())
    # Linked weeks ago: every digest moment of the tests lies after it.
    await sample_store.chats.link(chat.id, "snel-speelgoed", "test", clock() - timedelta(days=28))
    return WeeklySchedule(Service(sample_store, config, clock))


async def kinds(store: Store) -> list[str]:
    return [f"{r.kind} {r.week}" for r in await store.outbox.history()]


async def test_catch_up_runs_a_missed_check_once(
    schedule: WeeklySchedule, sample_store: Store, clock: FixedClock
) -> None:
    clock.now = datetime(2026, 11, 18, 7, 59, tzinfo=UTC)  # Wednesday 08:59 in Amsterdam
    # Monday's digest was missed; the check of week 46 is not due before 09:00.
    assert await schedule.catch_up() == ["digests"]
    clock.now = datetime(2026, 11, 18, 8, 0, tzinfo=UTC)  # 09:00: week 46 is due
    assert await schedule.catch_up() == ["check 2026-W46"]
    assert await kinds(sample_store) == ["digest 2026-W46", "alerts 2026-W46"]
    clock.now = datetime(2026, 11, 19, 8, 0, tzinfo=UTC)
    assert await schedule.catch_up() == []


async def test_a_check_missed_last_week_is_caught_up_on_monday(
    schedule: WeeklySchedule, sample_store: Store, clock: FixedClock
) -> None:
    # Down from before Wednesday of week 46 until Monday of week 47, 10:00.
    clock.now = datetime(2026, 11, 16, 9, 0, tzinfo=UTC)
    ran = await schedule.catch_up()
    assert ran[0] == "check 2026-W45"
    assert "alerts 2026-W45" in await kinds(sample_store)


async def test_plan_reminders_every_two_days_until_the_plan_is_in(
    schedule: WeeklySchedule, sample_store: Store, clock: FixedClock
) -> None:
    clock.now = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)  # Friday, two days after the check
    assert await schedule.plan_reminders() == 1
    assert await schedule.plan_reminders() == 0
    clock.now = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)
    assert await schedule.plan_reminders() == 0
    clock.now = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
    assert await schedule.plan_reminders() == 1
    await sample_store.data.add_plan_event(
        "snel-speelgoed", date(2026, 11, 22), "submitted", "test", clock()
    )
    clock.now = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
    assert await schedule.plan_reminders() == 0
    reminders = [r for r in await sample_store.outbox.history() if r.kind == "plan_reminder"]
    assert len(reminders) == 2 and "Snel Speelgoed" in reminders[0].text


async def test_digests_follow_each_chats_day_and_hour(
    schedule: WeeklySchedule, sample_store: Store, clock: FixedClock
) -> None:
    chat = await sample_store.chats.find("telegram", "77")
    assert chat is not None
    await sample_store.chats.set_digest_time(chat.id, day=5, hour=17)  # Friday 17:00
    clock.now = datetime(2026, 11, 20, 15, 59, tzinfo=UTC)  # Friday 16:59 local
    assert await schedule.digests() == 0
    clock.now = datetime(2026, 11, 20, 16, 0, tzinfo=UTC)
    assert await schedule.digests() == 1
    assert await schedule.digests() == 0


async def test_a_poll_that_failed_is_tried_again_for_those_sellers_until_done(
    sample_store: Store, config: Config, clock: FixedClock
) -> None:
    calls: list[tuple[IsoWeek, list[str] | None]] = []
    answers = [["kado-kelder"], []]  # bol.com was down for one shop, then back

    async def poller(week: IsoWeek, now: datetime, seller_ids: list[str] | None) -> list[str]:
        calls.append((week, seller_ids))
        return answers.pop(0)

    schedule = WeeklySchedule(Service(sample_store, config, clock), poller)
    clock.now = datetime(2026, 11, 18, 4, 59, tzinfo=UTC)  # Wednesday 05:59 local
    await schedule.poll()
    assert calls == []  # not before 06:00
    clock.now = datetime(2026, 11, 18, 5, 0, tzinfo=UTC)
    await schedule.poll()
    clock.now = datetime(2026, 11, 18, 6, 0, tzinfo=UTC)
    await schedule.poll()
    await schedule.poll()
    week = IsoWeek(2026, 46)
    assert calls == [(week, None), (week, ["kado-kelder"])]


async def test_a_chat_linked_mid_week_gets_its_first_digest_at_its_moment(
    schedule: WeeklySchedule, sample_store: Store, clock: FixedClock
) -> None:
    await schedule.digests()  # the chat linked weeks ago has had this week's digest
    before = await kinds(sample_store)
    chat = await sample_store.chats.get_or_create("telegram", "78", language="nl", now=clock())
    await sample_store.chats.link(chat.id, "zonnig-wonen", "test", clock())  # Thursday
    assert await schedule.digests() == 0
    clock.advance(days=3)  # Sunday: still not
    assert await schedule.digests() == 0
    clock.now = datetime(2026, 11, 23, 7, 0, tzinfo=UTC)  # Monday 08:00 in Amsterdam
    assert await schedule.digests() == 2
    assert (await kinds(sample_store))[len(before) :] == [
        "digest 2026-W46"
    ] * 2  # the newest figures
