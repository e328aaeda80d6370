"""The weekly rhythm in local time, across a DST change and a year end."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from bot.schedule import CHECK_AT, reminder_slot, week_moments
from norms import IsoWeek
from tests.conftest import make_config

AMS = ZoneInfo("Europe/Amsterdam")


def triggers(tmp_path: Path):
    from apscheduler.triggers.cron import CronTrigger

    from bot.schedule import POLL_AT

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
