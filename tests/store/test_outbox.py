"""The outbox repository: planned once per dedup key, claimed by one process at a time,
what a claimer records fenced by its claim, and what an operator sees and requeues."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import timedelta
from pathlib import Path

import pytest

from bot.store import Chat, OutboxItem, PlannedMessage, Store
from bot.store.engine.dialect import SQLITE, Dialect
from bot.store.engine.schema import MIGRATIONS
from bot.store.outbox import EARLIER_MESSAGE, PLATFORM_DOWN, RETRY, NotDead
from tests.conftest import NOW, FixedClock

pytestmark = pytest.mark.both_engines


def message(
    key: str,
    chat_id: int,
    *,
    seller_id: str | None = None,
    week: str | None = None,
    kind: str = "test",
    sections: tuple[str, ...] = (),
    urgent: bool = False,
    withdraws: tuple[str, ...] = (),
) -> PlannedMessage:
    return PlannedMessage(
        dedup_key=key,
        chat_id=chat_id,
        seller_id=seller_id,
        week=week,
        kind=kind,
        sections=sections,
        urgent=urgent,
        body={"text": f"text {key}", "blocks": None, "parse_mode": None},
        template="test",
        withdraws=withdraws,
    )


async def chat(store: Store, clock: FixedClock, platform: str = "telegram") -> Chat:
    return await store.chats.get_or_create(platform, f"{platform}-1", language="nl", now=clock())


async def test_a_message_is_planned_once_per_dedup_key(store: Store, clock: FixedClock) -> None:
    c = await chat(store, clock)
    assert await store.outbox.plan([message("a", c.id), message("a", c.id)], clock()) == 1
    assert await store.outbox.plan([message("a", c.id), message("b", c.id)], clock()) == 1
    assert await store.outbox.plan([], clock()) == 0
    assert await store.outbox.planned_keys(["a", "b", "c"]) == {"a", "b"}
    assert await store.outbox.planned_keys([]) == set()
    assert await store.outbox.counts() == {"pending": 2}


async def test_sections_planned_and_withdrawn(store: Store, clock: FixedClock) -> None:
    await store.sellers.add("s", "S", "nl", clock())
    c = await chat(store, clock)
    first = message("alert", c.id, seller_id="s", week="2026-W46", sections=("a", "b"))
    await store.outbox.plan([first], clock())
    assert await store.outbox.planned_sections(["s"], "2026-W46") == {"s": {c.id: {"a", "b"}}}
    correction = message(
        "fix", c.id, seller_id="s", week="2026-W46", kind="correction", withdraws=("b",)
    )
    await store.outbox.plan([correction], clock())
    assert await store.outbox.planned_sections(["s"], "2026-W46") == {"s": {c.id: {"a"}}}
    assert await store.outbox.corrections(["s"], "2026-W46") == {"s": {c.id: 1}}
    assert await store.outbox.planned_sections([], "2026-W46") == {}


async def test_urgent_messages_are_claimed_first_and_only_once(
    store: Store, clock: FixedClock
) -> None:
    c = await chat(store, clock)
    await store.outbox.plan([message("late", c.id), message("now", c.id, urgent=True)], clock())
    claimed = await store.outbox.claim_due(clock(), by="me")
    assert [(i.body["text"], i.attempts, i.claim, i.claimed_by) for i in claimed] == [
        ("text now", 1, 1, "me"),
        ("text late", 1, 1, "me"),
    ]
    assert await store.outbox.claim_due(clock(), by="other") == []
    assert await store.outbox.counts() == {"sending": 2}


async def test_quiet_hours_hold_back_all_but_urgent_messages(
    store: Store, clock: FixedClock
) -> None:
    tg, sl = await chat(store, clock), await chat(store, clock, "slack")
    await store.outbox.plan(
        [message("t", tg.id), message("u", tg.id, urgent=True), message("s", sl.id)], clock()
    )
    claimed = await store.outbox.claim_due(clock(), hushed=["telegram"])
    assert sorted(i.body["text"] for i in claimed) == ["text s", "text u"]
    assert await store.outbox.claim_due(clock(), platforms=["slack"]) == []


async def test_a_retry_waits_and_counts_unless_it_was_not_the_messages_fault(
    store: Store, clock: FixedClock
) -> None:
    c = await chat(store, clock)
    await store.outbox.plan([message("m", c.id)], clock())
    [item] = await store.outbox.claim_due(clock())
    later = clock() + timedelta(minutes=5)
    assert await store.outbox.retry_at(item, later, "timeout")
    assert await store.outbox.next_attempt(item.id) == later
    assert await store.outbox.claim_due(clock()) == []
    [again] = await store.outbox.claim_due(later)
    assert again.attempts == 2 and again.claim == 2
    assert await store.outbox.retry_at(again, later, "down", count=False, reason=PLATFORM_DOWN)
    [record] = await store.outbox.history()
    assert (record.state, record.last_error, record.waiting_for) == (
        "failed",
        "down",
        PLATFORM_DOWN,
    )
    [third] = await store.outbox.claim_due(later)
    assert third.attempts == 2


async def test_what_a_claimer_records_is_fenced_by_its_claim(
    store: Store, clock: FixedClock
) -> None:
    c = await chat(store, clock)
    await store.outbox.plan([message("m", c.id)], clock())
    [stale] = await store.outbox.claim_due(clock(), by="frozen")
    # The frozen claimer's message goes back and another process takes it over.
    assert await store.outbox.recover_inflight() == 1
    [taken] = await store.outbox.claim_due(clock(), by="alive")
    assert not await store.outbox.retry_at(stale, clock(), "late", reason=RETRY)
    assert not await store.outbox.hold_until(stale, clock())
    assert not await store.outbox.mark_dead(stale, "late")
    assert await store.outbox.release([stale]) == 0
    assert await store.outbox.counts() == {"sending": 1}
    # That a message went out is a fact, whoever holds the claim.
    await store.outbox.mark_sent(stale.id, clock(), "remote-1")
    [record] = await store.outbox.history()
    assert (record.state, record.sent_at) == ("sent", clock())
    assert taken.claim == stale.claim + 1


async def test_released_and_held_claims_go_back_uncounted(store: Store, clock: FixedClock) -> None:
    c = await chat(store, clock)
    await store.outbox.plan([message("a", c.id), message("b", c.id)], clock())
    first, second = await store.outbox.claim_due(clock(), by="me")
    assert await store.outbox.release([first]) == 1
    later = clock() + timedelta(hours=1)
    assert await store.outbox.hold_until(second, later, "quiet")
    [again] = await store.outbox.claim_due(clock(), by="me")
    assert (again.id, again.attempts) == (first.id, 1)
    [held] = await store.outbox.claim_due(later, by="me")
    assert (held.id, held.attempts) == (second.id, 1)


async def test_a_dead_message_is_requeued_and_its_chat_active_again(
    store: Store, clock: FixedClock
) -> None:
    c = await chat(store, clock)
    await store.outbox.plan([message("m", c.id), message("n", c.id)], clock())
    await store.chats.deactivate(c.id, "blocked")
    await store.outbox.kill_pending_for_chat(c.id, "blocked")
    assert await store.outbox.counts() == {"dead": 2}
    [first, _] = await store.outbox.history()
    clock.advance(hours=1)
    record = await store.outbox.requeue(first.id, clock())
    assert (record.state, record.last_error, record.next_attempt_at) == ("pending", None, clock())
    active = await store.chats.get(c.id)
    assert active is not None and active.active
    with pytest.raises(NotDead) as pending:
        await store.outbox.requeue(first.id, clock())
    assert pending.value.state == "pending"
    with pytest.raises(NotDead) as missing:
        await store.outbox.requeue(10_000, clock())
    assert missing.value.state is None


async def test_what_waits_per_platform_and_in_which_state(store: Store, clock: FixedClock) -> None:
    tg, sl = await chat(store, clock), await chat(store, clock, "slack")
    await store.outbox.plan(
        [message("a", tg.id), message("b", tg.id, urgent=True), message("c", sl.id)], clock()
    )
    [item] = await store.outbox.claim_due(clock(), limit=1)
    assert await store.outbox.waiting_for("telegram") == 1
    assert await store.outbox.waiting_for("slack") == 1
    assert await store.outbox.state_counts() == [
        ("slack", "pending", 1),
        ("telegram", "pending", 1),
        ("telegram", "sending", 1),
    ]
    unsent = sorted(await store.outbox.unsent())
    assert [(p, urgent, state) for p, urgent, state, _, _ in unsent] == [
        ("slack", False, "pending"),
        ("telegram", False, "pending"),
        ("telegram", True, "sending"),
    ]
    assert item.urgent


async def test_the_history_by_seller_and_week_and_an_edited_body(
    store: Store, clock: FixedClock
) -> None:
    await store.sellers.add("s", "S", "nl", clock())
    c = await chat(store, clock)
    await store.outbox.plan(
        [
            message("w46", c.id, seller_id="s", week="2026-W46"),
            message("w47", c.id, seller_id="s", week="2026-W47"),
            message("none", c.id),
        ],
        clock(),
    )
    assert [r.text for r in await store.outbox.history("s")] == ["text w46", "text w47"]
    [w47] = await store.outbox.history("s", "2026-W47")
    await store.outbox.update_body(w47.id, {"text": "Één tekst", "blocks": None})
    assert [r.text for r in await store.outbox.history(item_id=w47.id)] == ["Één tekst"]


async def test_retention_deletes_only_sent_messages_about_old_weeks(
    store: Store, clock: FixedClock
) -> None:
    c = await chat(store, clock)
    await store.outbox.plan(
        [
            message("old", c.id, week="2026-W40"),
            message("new", c.id, week="2026-W47"),
            message("none", c.id),
            message("unsent", c.id, week="2026-W40"),
        ],
        clock(),
    )
    for item in await store.outbox.claim_due(clock(), limit=3):
        await store.outbox.mark_sent(item.id, clock(), None)
    clock.advance(days=60)
    assert await store.outbox.prune_sent(clock(), "2026-W45", clock()) == 1
    assert sorted(r.text for r in await store.outbox.history()) == [
        "text new",
        "text none",
        "text unsent",
    ]
    # Nothing about a pruned week is planned again.
    assert await store.outbox.plan([message("again", c.id, week="2026-W44")], clock()) == 0
    assert await store.outbox.plan([message("later", c.id, week="2026-W46")], clock()) == 1


async def chats(store: Store, clock: FixedClock, count: int) -> list[Chat]:
    return [
        await store.chats.get_or_create("telegram", f"chat-{n}", language="nl", now=clock())
        for n in range(count)
    ]


def texts(items: list[OutboxItem]) -> list[str]:
    return [str(item.body["text"]) for item in items]


async def test_a_long_queue_sends_warnings_before_digests_and_notices(
    store: Store, clock: FixedClock
) -> None:
    c = await chats(store, clock, 7)
    await store.outbox.plan(
        [message(f"digest {n}", c[n].id, kind="digest") for n in (0, 1)], clock()
    )
    clock.advance(minutes=1)
    await store.outbox.plan(
        [message(f"notice {n}", c[n].id, kind="figures_missing") for n in (2, 3)], clock()
    )
    clock.advance(minutes=1)
    await store.outbox.plan(
        [
            message("warning 4", c[4].id, kind="alerts"),
            message("correction 5", c[5].id, kind="correction"),
            message("closure 6", c[6].id, kind="alerts", urgent=True),
        ],
        clock(),
    )
    first = await store.outbox.claim_due(clock(), limit=3)
    assert texts(first) == ["text closure 6", "text warning 4", "text correction 5"]
    rest = await store.outbox.claim_due(clock(), limit=10)
    assert texts(rest) == ["text digest 0", "text digest 1", "text notice 2", "text notice 3"]


async def test_a_chats_earlier_messages_go_with_its_warning_in_the_order_planned(
    store: Store, clock: FixedClock
) -> None:
    c = await chats(store, clock, 3)
    await store.outbox.plan([message("digest 0", c[0].id, kind="digest")], clock())
    await store.outbox.plan([message("digest 1", c[1].id, kind="digest")], clock())
    clock.advance(minutes=1)
    await store.outbox.plan(
        [
            message("warning 1", c[1].id, kind="alerts"),
            message("warning 2", c[2].id, kind="alerts"),
        ],
        clock(),
    )
    # Chat 1's warning goes first, and its digest, planned before, right before it.
    first = await store.outbox.claim_due(clock(), limit=1)
    assert texts(first) == ["text digest 1", "text warning 1"]
    assert await store.outbox.counts() == {"pending": 2, "sending": 2}
    assert texts(await store.outbox.claim_due(clock())) == ["text warning 2", "text digest 0"]


async def test_a_warning_behind_a_message_that_waits_waits_for_it(
    store: Store, clock: FixedClock
) -> None:
    c, other = await chats(store, clock, 2)
    await store.outbox.plan([message("notice", c.id, kind="figures_missing")], clock())
    [notice] = await store.outbox.claim_due(clock())
    later = clock() + timedelta(minutes=2)
    assert await store.outbox.retry_at(notice, later, "timeout")
    await store.outbox.plan(
        [message("warning", c.id, kind="alerts"), message("other", other.id, kind="alerts")],
        clock(),
    )
    # The other chat's warning goes; this chat's waits for the notice before it.
    assert texts(await store.outbox.claim_due(clock())) == ["text other"]
    held = {r.text: r for r in await store.outbox.history()}["text warning"]
    assert (held.state, held.next_attempt_at, held.waiting_for) == (
        "pending",
        later,
        EARLIER_MESSAGE,
    )
    assert texts(await store.outbox.claim_due(later)) == ["text notice", "text warning"]


async def test_an_urgent_message_waits_for_no_earlier_one(store: Store, clock: FixedClock) -> None:
    [c] = await chats(store, clock, 1)
    await store.outbox.plan([message("notice", c.id, kind="figures_missing")], clock())
    [notice] = await store.outbox.claim_due(clock())
    assert await store.outbox.retry_at(notice, clock() + timedelta(minutes=2), "timeout")
    await store.outbox.plan([message("closure", c.id, kind="alerts", urgent=True)], clock())
    assert texts(await store.outbox.claim_due(clock())) == ["text closure"]


def test_the_messages_waiting_when_the_schema_learns_precedence_get_theirs(
    tmp_path: Path,
) -> None:
    """The migration that brings precedence, on a database of the schema before it: the
    unsent messages are ranked as planning ranks new ones, and claimed in that order."""
    before = next(n for n, m in enumerate(MIGRATIONS) if "ADD COLUMN precedence" in m.sql)
    path = tmp_path / "before.sqlite3"
    conn = sqlite3.connect(path)
    for migration in MIGRATIONS[:before]:
        conn.executescript(migration.script(Dialect(SQLITE)))
    conn.execute(f"PRAGMA user_version = {before}")
    conn.execute(
        "INSERT INTO chats (id, platform, address, language, created_at) "
        "VALUES (1, 'telegram', '1', 'nl', 'x'), (2, 'telegram', '2', 'nl', 'x'), "
        "(3, 'telegram', '3', 'nl', 'x')"
    )
    conn.executemany(
        "INSERT INTO outbox (dedup_key, chat_id, kind, urgent, body, template, state, "
        "next_attempt_at, created_at) VALUES (?, ?, ?, ?, ?, 't', ?, ?, 'x')",
        [
            ("d", 1, "digest", 0, '{"text": "digest"}', "pending", "2026-01-01"),
            ("w", 2, "alerts", 0, '{"text": "warning"}', "failed", "2026-01-02"),
            ("u", 3, "alerts", 1, '{"text": "closure"}', "pending", "2026-01-03"),
            ("s", 3, "alerts", 0, '{"text": "sent"}', "sent", "2026-01-01"),
        ],
    )
    conn.commit()
    conn.close()

    async def claim() -> list[str]:
        store = await Store.open(path)
        try:
            ranked = await store.db.fetchall("SELECT dedup_key, precedence FROM outbox")
            assert dict((r[0], r[1]) for r in ranked) == {"d": 2, "w": 1, "u": 0, "s": 2}
            return texts(await store.outbox.claim_due(NOW, limit=2))
        finally:
            await store.close()

    assert asyncio.run(claim()) == ["closure", "warning"]
