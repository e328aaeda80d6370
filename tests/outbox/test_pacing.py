"""SendLimits, backoff and quiet hours: the arithmetic of when a message may go."""

from __future__ import annotations

import itertools
import random
from datetime import UTC, datetime, time
from pathlib import Path

from bot.config import QuietHours
from bot.outbox.pacing import (
    PAID_BROADCAST_PER_S,
    SEND_MARGIN_S,
    Pacer,
    SendLimits,
    backoff,
    billing_note,
    telegram_limits,
)
from bot.outbox.waiting import quiet_until
from tests.conftest import make_config


class Ticker:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def test_global_rate_spaces_sends_across_chats() -> None:
    clock = Ticker()
    pacer = Pacer(SendLimits(per_second=30, per_chat_interval_s=1.0), clock)
    delays = [pacer.reserve(str(chat)) for chat in range(60)]
    assert delays[0] == 0
    # 60 sends at 30/s take two seconds; each slot 1/30 s after the previous.
    assert abs(delays[-1] - 59 / 30) < 1e-9
    assert all(abs((b - a) - 1 / 30) < 1e-9 for a, b in itertools.pairwise(delays))


def test_one_chat_gets_at_most_one_message_a_second() -> None:
    pacer = Pacer(SendLimits(per_second=30, per_chat_interval_s=1.0), Ticker())
    assert [pacer.reserve("42") for _ in range(3)] == [0.0, 1.0, 2.0]


def test_a_group_gets_at_most_twenty_a_minute() -> None:
    pacer = Pacer(
        SendLimits(per_second=30, per_chat_interval_s=0.0, per_group_per_minute=20), Ticker()
    )
    delays = [pacer.reserve("-100") for _ in range(21)]
    assert max(delays[:20]) < 1.0
    assert delays[20] >= 60.0


def test_a_pause_holds_every_chat() -> None:
    clock = Ticker()
    pacer = Pacer(SendLimits(per_second=30, per_chat_interval_s=1.0), clock)
    pacer.pause(5)
    assert pacer.reserve("1") == 5.0
    clock.t += 5
    assert pacer.paused_for() == 0.0


def test_backoff_grows_and_is_capped() -> None:
    rng = random.Random(1)
    first = [backoff(1, rng) for _ in range(50)]
    assert all(1.0 <= b <= 2.0 for b in first)
    assert all(300.0 <= backoff(30, rng) <= 600.0 for _ in range(50))


def test_quiet_hours_hold_until_the_morning_in_local_time(tmp_path) -> None:
    config = make_config(tmp_path, NORMWACHT_QUIET_HOURS="21:00-08:00")
    quiet = config.quiet_hours
    assert quiet == QuietHours(time(21), time(8))
    # 22:30 in Amsterdam (UTC+1 in November) is quiet until 08:00 the next day.
    late = datetime(2026, 11, 18, 21, 30, tzinfo=UTC)
    until = quiet_until(quiet, late, config)
    assert until is not None and until.isoformat() == "2026-11-19T08:00:00+01:00"
    assert quiet_until(quiet, datetime(2026, 11, 18, 12, 0, tzinfo=UTC), config) is None
    # Summer time: 07:30 local is 05:30 UTC, still quiet until 08:00 local.
    summer = quiet_until(quiet, datetime(2026, 7, 1, 5, 30, tzinfo=UTC), config)
    assert summer is not None and summer.isoformat() == "2026-07-01T08:00:00+02:00"


def test_sends_that_bunch_up_after_a_stall_are_held_back() -> None:
    clock = Ticker()
    pacer = Pacer(SendLimits(per_second=30, per_chat_interval_s=1.0), clock)
    for chat in range(60):
        pacer.reserve(str(chat))  # planned over two seconds...
    clock.t += 5  # ...but the loop stalled: every planned slot is already past
    for chat in range(30):
        assert pacer.hold_back(str(chat)) == 0
        pacer.returned(str(chat), pacer.record(str(chat)))
    # The 31st send in the same second waits for the oldest to leave the window.
    assert abs(pacer.hold_back("30") - (1.0 + SEND_MARGIN_S)) < 1e-9
    clock.t += 1.0 + SEND_MARGIN_S
    assert pacer.hold_back("30") == 0
    # And one chat still gets at most one message a second.
    assert pacer.hold_back("0") == 0.0
    pacer.returned("0", pacer.record("0"))
    assert abs(pacer.hold_back("0") - (1.0 + SEND_MARGIN_S)) < 1e-9


def test_paid_broadcasts_raise_telegrams_limit_and_count_what_is_billed() -> None:
    free = telegram_limits(30, 1.0, paid_broadcast=False)
    paid = telegram_limits(30, 1.0, paid_broadcast=True)
    assert (free.per_second, free.billed_above) == (30, None)
    assert (paid.per_second, paid.billed_above) == (PAID_BROADCAST_PER_S, 30)
    assert paid.per_chat_interval_s == free.per_chat_interval_s == 1.0
    assert paid.per_group_per_minute == free.per_group_per_minute == 20
    clock = Ticker()
    pacer = Pacer(paid, clock)
    delays = [pacer.reserve(str(chat)) for chat in range(1000)]
    assert abs(delays[-1] - 999 / 1000) < 1e-9  # a thousand chats within a second
    for chat in range(100):  # 100 sends within one second: 70 beyond the free 30
        pacer.returned(str(chat), pacer.record(str(chat)))
        clock.t += 0.005
    assert pacer.billed == 70
    clock.t += 1.0
    for chat in range(30):  # a later second within the free limit costs nothing
        pacer.returned(str(chat), pacer.record(str(chat)))
        clock.t += 0.01
    assert pacer.billed == 70
    assert billing_note(pacer)["stars_spent"] == 7.0
    unpaid = Pacer(free, clock)
    for chat in range(100):
        unpaid.returned(str(chat), unpaid.record(str(chat)))
    assert unpaid.billed == 0


def test_the_configured_switch_picks_telegrams_limits(tmp_path: Path) -> None:
    from bot.channels.platforms import platform

    telegram = platform("telegram")
    on = telegram.limits(make_config(tmp_path, TELEGRAM_PAID_BROADCAST="on"))
    off = telegram.limits(make_config(tmp_path))
    assert (on.per_second, off.per_second) == (PAID_BROADCAST_PER_S, 30)


def test_a_send_held_up_on_its_way_counts_from_when_it_came_back() -> None:
    """The platform may see a send any time until it answers: one that is out long (the
    loop stalled while it was on its way) must not leave room for a burst behind it."""
    clock = Ticker()
    pacer = Pacer(SendLimits(per_second=2, per_chat_interval_s=1.0), clock)
    slow = pacer.record("1")
    clock.t += 5
    assert pacer.hold_back("2") == 0
    pacer.returned("2", pacer.record("2"))
    # One place is the send still out, begun five seconds ago; the other the one just back.
    assert abs(pacer.hold_back("3") - (1.0 + SEND_MARGIN_S)) < 1e-9
    clock.t += 0.5
    pacer.returned("1", slow)  # back only now: it may have reached the platform just now
    clock.t += 0.6
    assert pacer.hold_back("3") == 0  # the second send left the window
    # Its chat waits a whole interval from when it came back.
    assert abs(pacer.hold_back("1") - (1.0 + SEND_MARGIN_S - 0.6)) < 1e-9
