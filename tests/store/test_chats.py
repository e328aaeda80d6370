"""The chats repository: chats made once, links to sellers, a chat that moves, link codes
that work once, and a chat that guesses codes made to wait."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.store import Seller, Store
from bot.store.chats import WRONG_CODES_ALLOWED, WRONG_CODES_WINDOW, LinkWait
from tests.conftest import FixedClock
from tests.store.test_outbox import message

pytestmark = pytest.mark.both_engines


async def sellers(store: Store, clock: FixedClock, *ids: str) -> None:
    for sid in ids:
        await store.sellers.add(sid, sid.title(), "nl", clock())


async def test_a_chat_is_made_on_first_contact_and_found_after(
    store: Store, clock: FixedClock
) -> None:
    chat = await store.chats.get_or_create("telegram", "-100", language="fr", now=clock())
    again = await store.chats.get_or_create("telegram", "-100", language="nl", now=clock())
    assert again == chat
    assert chat.language == "fr" and chat.active and not chat.muted
    assert await store.chats.find("telegram", "-100") == chat
    assert await store.chats.find("slack", "-100") is None
    assert await store.chats.get(chat.id) == chat


async def test_links_go_both_ways_and_only_to_active_chats(store: Store, clock: FixedClock) -> None:
    await sellers(store, clock, "a", "b")
    one = await store.chats.get_or_create("telegram", "1", language="nl", now=clock())
    two = await store.chats.get_or_create("slack", "C2", language="en", now=clock())
    await store.chats.link(one.id, "a", "admin", clock())
    await store.chats.link(one.id, "a", "admin", clock())  # twice: one link
    await store.chats.link(one.id, "b", "admin", clock())
    await store.chats.link(two.id, "a", "admin", clock())
    assert await store.chats.sellers_of(one.id) == [Seller("a", "A", "nl"), Seller("b", "B", "nl")]
    assert {s: [c.id for c in cs] for s, cs in (await store.chats.destinations()).items()} == {
        "a": [one.id, two.id],
        "b": [one.id],
    }
    assert await store.chats.deactivate(two.id, "blocked")
    assert not await store.chats.deactivate(two.id, "blocked")  # told once
    assert [c.id for c in (await store.chats.destinations(["a"]))["a"]] == [one.id]
    assert [c.id for c in await store.chats.all()] == [one.id]
    assert [c.id for c in await store.chats.all(active_only=False)] == [one.id, two.id]
    await store.chats.reactivate(two.id)
    assert (await store.chats.get(two.id)) is not None
    assert await store.chats.unlink(one.id, "b")
    assert not await store.chats.unlink(one.id, "b")
    assert [s.id for s in await store.chats.sellers_of(one.id)] == ["a"]


async def test_settings_of_a_chat(store: Store, clock: FixedClock) -> None:
    chat = await store.chats.get_or_create("console", "me", language="nl", now=clock())
    await store.chats.set_language(chat.id, "en")
    await store.chats.set_muted(chat.id, True)
    await store.chats.set_digest_time(chat.id, 4, 9)
    got = await store.chats.get(chat.id)
    assert got is not None
    assert (got.language, got.muted, got.digest_day, got.digest_hour) == ("en", True, 4, 9)


async def test_a_chat_that_moves_to_a_known_address_hands_over_links_and_messages(
    store: Store, clock: FixedClock
) -> None:
    await sellers(store, clock, "a")
    old = await store.chats.get_or_create("telegram", "-1", language="nl", now=clock())
    new = await store.chats.get_or_create("telegram", "-1001", language="nl", now=clock())
    await store.chats.link(old.id, "a", "admin", clock())
    await store.outbox.plan([message("m1", old.id)], clock())
    await store.chats.move(old.id, "-1001")
    assert [s.id for s in await store.chats.sellers_of(new.id)] == ["a"]
    [record] = await store.outbox.history()
    assert record.address == "-1001"
    moved = await store.chats.get(old.id)
    assert moved is not None and not moved.active
    assert moved.inactive_reason == "moved to -1001"


async def test_a_chat_that_moves_to_a_new_address_keeps_its_row(
    store: Store, clock: FixedClock
) -> None:
    chat = await store.chats.get_or_create("telegram", "-1", language="nl", now=clock())
    await store.chats.move(chat.id, "-1002")
    assert await store.chats.find("telegram", "-1002") == await store.chats.get(chat.id)
    assert await store.chats.find("telegram", "-1") is None


async def test_a_link_code_links_once_and_not_after_it_expires(
    store: Store, clock: FixedClock
) -> None:
    await sellers(store, clock, "a")
    chat = await store.chats.get_or_create("telegram", "1", language="nl", now=clock())
    code = await store.chats.create_link_code("a", clock())
    assert len(code) == 10
    assert await store.chats.redeem_link_code(f" {code.lower()} ", chat.id, "u", clock()) == "a"
    assert [s.id for s in await store.chats.sellers_of(chat.id)] == ["a"]
    assert await store.chats.redeem_link_code(code, chat.id, "u", clock()) == "used"
    late = await store.chats.create_link_code("a", clock(), ttl=timedelta(minutes=1))
    clock.advance(minutes=1)
    assert await store.chats.redeem_link_code(late, chat.id, "u", clock()) == "expired"
    assert await store.chats.redeem_link_code("NOSUCHCODE", chat.id, "u", clock()) == "unknown"


async def test_a_chat_that_guesses_waits_and_the_admins_are_told_once(
    store: Store, clock: FixedClock
) -> None:
    await sellers(store, clock, "a")
    chat = await store.chats.get_or_create("telegram", "1", language="nl", now=clock())
    admins = await store.chats.get_or_create("telegram", "9", language="nl", now=clock())
    good = await store.chats.create_link_code("a", clock())
    first = clock()
    outcomes = []
    for _ in range(WRONG_CODES_ALLOWED + 1):
        outcomes.append(
            await store.chats.redeem_link_code(
                "WRONGCODE0", chat.id, "u", clock(), when_guessing=[message("guess", admins.id)]
            )
        )
        clock.advance(seconds=1)
    wait = LinkWait(first + WRONG_CODES_WINDOW)
    assert outcomes == ["unknown"] * (WRONG_CODES_ALLOWED - 1) + [wait, wait]
    # Even the right code is not looked up while the chat waits.
    assert await store.chats.redeem_link_code(good, chat.id, "u", clock()) == wait
    assert len(await store.outbox.history()) == 1
    clock.advance(minutes=10)
    assert await store.chats.redeem_link_code(good, chat.id, "u", clock()) == "a"


async def test_a_conversation_is_kept_until_it_ends(store: Store, clock: FixedClock) -> None:
    chat = await store.chats.get_or_create("slack", "C1", language="nl", now=clock())
    assert await store.chats.conversation(chat.id) is None
    await store.chats.set_conversation(chat.id, "connect:id", {"seller": "a"}, clock())
    await store.chats.set_conversation(chat.id, "connect:secret", {"seller": "a"}, clock())
    assert await store.chats.conversation(chat.id) == ("connect:secret", {"seller": "a"})
    await store.chats.set_conversation(chat.id, None, {}, clock())
    assert await store.chats.conversation(chat.id) is None


async def test_first_linked_is_each_chats_earliest_link(store: Store, clock: FixedClock) -> None:
    await sellers(store, clock, "a", "b")
    chat = await store.chats.get_or_create("telegram", "1", language="nl", now=clock())
    start = clock()
    await store.chats.link(chat.id, "a", "admin", start)
    clock.advance(days=2)
    await store.chats.link(chat.id, "b", "admin", clock())
    assert await store.chats.first_linked() == {chat.id: start}
