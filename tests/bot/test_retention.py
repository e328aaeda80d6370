"""Retention: sent messages older than NORMWACHT_KEEP_DAYS are deleted by a daily job,
without ever letting a deleted message be planned again; ``outbox requeue`` for a dead one."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from bot.commands.service import Service
from bot.config import Config
from bot.notices.check import recheck_sellers, run_check
from bot.retention import prune_outbox
from bot.runtime.schedule import WeeklySchedule
from bot.store import PlannedMessage, Store
from bot.store.outbox import NotDead
from norms import IsoWeek
from tests.conftest import FixedClock, make_config

pytestmark = pytest.mark.both_engines

WEEK = IsoWeek(2026, 46)


@pytest.fixture
def keep_a_week(tmp_path: Path, database: str) -> Config:
    return make_config(tmp_path, NORMWACHT_DB=database, NORMWACHT_KEEP_DAYS="7")


async def send_everything(store: Store, clock: FixedClock) -> int:
    items = await store.outbox.claim_due(clock(), 1000)
    for item in items:
        await store.outbox.mark_sent(item.id, clock(), None)
    return len(items)


async def states(store: Store) -> list[tuple[str, str | None, str]]:
    return sorted((r.kind, r.week, r.state) for r in await store.outbox.history())


async def test_old_sent_messages_go_and_their_week_is_never_planned_again(
    sample_store: Store, keep_a_week: Config, clock: FixedClock
) -> None:
    store = sample_store
    chat = await store.chats.get_or_create("telegram", "77", language="nl", now=clock())
    await store.chats.link(chat.id, "snel-speelgoed", "test", clock())
    policy = keep_a_week.policy
    assert (await run_check(store, policy, WEEK, now=clock())).planned == 1
    assert await send_everything(store, clock) == 1
    # An operators' notice (about no week) and a message still owed are kept, whatever age.
    await store.outbox.plan(
        [
            PlannedMessage(
                "admin:x:1", chat.id, None, None, "link_guessing", (), False, {"text": "t"}, "t"
            ),
            PlannedMessage(
                "owed:1",
                chat.id,
                "snel-speelgoed",
                str(WEEK),
                "alerts",
                (),
                False,
                {"text": "owed"},
                "alerts",
            ),
        ],
        clock(),
    )
    items = await store.outbox.claim_due(clock(), 10)
    admin = next(i for i in items if i.kind == "link_guessing")
    await store.outbox.mark_sent(admin.id, clock(), None)
    owed = next(i for i in items if i.week is not None)
    await store.outbox.retry_at(owed, clock(), "down")

    # Six days on: nothing is old enough.
    clock.advance(days=6)
    assert await prune_outbox(store, keep_a_week, clock()) == 0
    # Three weeks on: the week's sent alert is past NORMWACHT_KEEP_DAYS.
    clock.advance(days=15)
    assert await prune_outbox(store, keep_a_week, clock()) == 1
    assert await states(store) == [
        ("alerts", "2026-W46", "failed"),
        ("link_guessing", None, "sent"),
    ]
    assert await store.outbox.pruned_through() == "2026-W48"
    # Its sections went with it, yet neither a check nor a recheck of the week plans it
    # again: the deleted row does not come back as a new message.
    assert (await run_check(store, policy, WEEK, now=clock())).planned == 0
    assert await recheck_sellers(store, policy, {None: WEEK}, now=clock()) == 0
    assert await states(store) == [
        ("alerts", "2026-W46", "failed"),
        ("link_guessing", None, "sent"),
    ]
    # A later week is planned as ever.
    later = IsoWeek(2026, 50)
    await store.outbox.plan(
        [
            PlannedMessage(
                "digest:w50", chat.id, None, str(later), "digest", (), False, {"text": "d"}, "d"
            )
        ],
        clock(),
    )
    assert ("digest", "2026-W50", "pending") in await states(store)


async def test_the_daily_job_runs_on_start_and_on_schedule(
    sample_store: Store, keep_a_week: Config, clock: FixedClock
) -> None:
    chat = await sample_store.chats.get_or_create("telegram", "77", language="nl", now=clock())
    await sample_store.chats.link(chat.id, "snel-speelgoed", "test", clock() - timedelta(days=28))
    await run_check(sample_store, keep_a_week.policy, WEEK, now=clock())
    await send_everything(sample_store, clock)
    schedule = WeeklySchedule(Service(sample_store, keep_a_week, clock))
    assert "retention" in schedule.triggers()
    assert str(schedule.triggers()["retention"]) == "cron[hour='4', minute='30']"
    clock.advance(days=30)
    assert "retention" in await schedule.catch_up()
    # What was sent is gone; what the catch-up planned meanwhile waits to be sent.
    left = await sample_store.outbox.history()
    assert left and all(r.state == "pending" for r in left)
    assert not [r for r in left if r.kind == "alerts" and r.week == str(WEEK)]
    assert await schedule.retention() == 0


async def test_a_dead_message_is_requeued_and_only_a_dead_one(
    sample_store: Store, clock: FixedClock
) -> None:
    store = sample_store
    chat = await store.chats.get_or_create("telegram", "77", language="nl", now=clock())
    await store.outbox.plan(
        [
            PlannedMessage(
                "k1",
                chat.id,
                "snel-speelgoed",
                str(WEEK),
                "alerts",
                (),
                False,
                {"text": "hoi"},
                "alerts",
            )
        ],
        clock(),
    )
    [item] = await store.outbox.claim_due(clock(), 10)
    await store.chats.deactivate(chat.id, "Forbidden: bot was blocked by the user")
    await store.outbox.kill_pending_for_chat(chat.id, "Forbidden: bot was blocked by the user")
    clock.advance(hours=1)
    record = await store.outbox.requeue(item.id, clock())
    assert (record.state, record.last_error) == ("pending", None)
    [again] = await store.outbox.claim_due(clock(), 10)
    assert (again.id, again.attempts) == (item.id, 1)
    assert (await store.chats.get(chat.id)).active  # type: ignore[union-attr]
    with pytest.raises(NotDead) as caught:
        await store.outbox.requeue(item.id, clock())
    assert caught.value.state == "sending"
    with pytest.raises(NotDead) as missing:
        await store.outbox.requeue(9999, clock())
    assert missing.value.state is None
