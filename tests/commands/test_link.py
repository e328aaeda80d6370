"""Linking a chat with a seller: /start with a link code, /linkcode."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from bot.commands.service import Service
from bot.store import Store
from norms import Indicator
from tests.conftest import ChatOf, FixedClock, make_config, open_chat, rendered

pytestmark = pytest.mark.both_engines

ALICE, BOB, ADMIN = "501", "502", "900"


async def test_linking_by_one_time_code(
    chat_of: ChatOf, service: Service, clock: FixedClock
) -> None:
    code = await service.store.chats.create_link_code("zonnig-wonen", clock())
    talk = await chat_of()
    [ok, status] = await talk.push(f"/start {code}")
    assert ok.kind == "link_ok" and ok.data["seller"].id == "zonnig-wonen"
    # Linked mid-week: where the seller stands now comes with the confirmation.
    assert status.kind == "status" and str(status.data["report"].week) == "2026-W46"
    late = await service.store.chats.create_link_code("zonnig-wonen", clock() - timedelta(days=8))
    # A stranger hears the same for a used, an unknown and an expired code.
    other = await chat_of(address="502")
    for attempt in (code, "NOPE123", late.lower()):
        assert [(r.kind, r.data) for r in await other.push(f"/start {attempt}")] == [
            ("link_failed", {"reason": "refused"})
        ]
    # An operator is told which it was.
    operator = await chat_of(address="503")
    operator.admin = True
    assert (await operator.push(f"/start {code}"))[0].data == {"reason": "used"}
    assert (await operator.push("/start NOPE123"))[0].data == {"reason": "unknown"}
    assert (await operator.push(f"/start {late}"))[0].data == {"reason": "expired"}


async def test_an_admin_makes_link_codes_and_exemptions_in_chat(
    chat_of: ChatOf, service: Service
) -> None:
    admin = await chat_of(address="900")
    admin.admin = True
    [code] = await admin.push("/linkcode snel-speelgoed")
    assert code.kind == "link_code" and code.data["days"] == 7
    seller_chat = await chat_of(address="901")
    [linked, _] = await seller_chat.push(f"/start {code.data['passcode']}")
    assert linked.kind == "link_ok" and linked.data["seller"].id == "snel-speelgoed"

    [ok] = await admin.push("/exempt 2026-W46 fulfilment seller:snel-speelgoed PostNL staking")
    exemption = ok.data["exemption"]
    assert ok.kind == "exempt_ok"
    assert (str(exemption.week), exemption.reason) == ("2026-W46", "PostNL staking")
    assert exemption.indicators == {Indicator.FULFILMENT}
    assert exemption.sellers == {"snel-speelgoed"}
    # The late exemption takes week 46 off the ladder: no suspension any more.
    [status] = await seller_chat.push("/status")
    assert status.data["report"].track.step == 4
    [listing] = await admin.push("/exempt")
    assert listing.kind == "exempt_list"
    [record] = listing.data["exemptions"]
    assert record.exemption == exemption and record.actor == "telegram:1001"
    assert record.created_at.isoformat() == "2026-11-19T10:00:00+01:00"
    assert (await admin.push("/exempt 2026-W99 x"))[0].data == {
        "problem": "week",
        "given": "2026-W99",
    }


async def test_start_without_a_code_asks_for_the_code(chat_of: ChatOf, service: Service) -> None:
    talk = await chat_of()
    [reply] = await talk.push("/start")
    assert reply.kind == "who_are_you"
    assert "/start CODE" in await talk.text("/start")


async def test_start_with_code_links_the_chat_once(
    chat_of: ChatOf, service: Service, clock: FixedClock
) -> None:
    code = await service.store.chats.create_link_code("zonnig-wonen", clock())
    alice, bob = await chat_of(address=ALICE), await chat_of(address=BOB)

    answer = await alice.text(f"/start {code}")  # what the deep link ?start=CODE sends

    assert "Zonnig Wonen" in answer
    assert [s.id for s in await service.store.chats.sellers_of(alice.chat.id)] == ["zonnig-wonen"]
    used = await bob.text(f"/start {code}")
    unknown = await bob.text("/start NOSUCHCODE")
    # A stranger cannot tell a used code from one that never existed.
    assert used == unknown == rendered("link_failed", {"reason": "refused"})
    assert "Zonnig Wonen" not in used + unknown
    assert await service.store.chats.sellers_of(bob.chat.id) == []


async def test_a_chat_that_keeps_guessing_codes_waits_and_the_admins_hear_once(
    sample_store: Store, tmp_path: Path, database: str, clock: FixedClock
) -> None:
    config = make_config(
        tmp_path,
        NORMWACHT_DB=database,
        TELEGRAM_BOT_TOKEN="123:ABC",
        NORMWACHT_ADMINS=f"telegram:{ADMIN}",
    )
    service = Service(sample_store, config, clock)
    bob = await open_chat(service, address=BOB)
    code = await sample_store.chats.create_link_code("zonnig-wonen", clock())
    refused = rendered("link_failed", {"reason": "refused"})
    wait = rendered("link_wait", {"at": "10:10"})  # 09:00 UTC + 10 minutes, in Amsterdam
    answers = []
    for guess in ("AAAAAAAAAA", "BBBBBBBBBB", "CCCCCCCCCC", "DDDDDDDDDD", "EEEEEEEEEE"):
        answers.append(await bob.text(f"/start {guess}"))
        clock.advance(seconds=30)
    assert answers == [refused] * 4 + [wait]
    # Waiting, even the right code is not looked at: it would tell the guesser it is right.
    assert await bob.text(f"/start {code}") == wait
    assert await sample_store.chats.sellers_of(bob.chat.id) == []

    notices = await sample_store.db.fetchall(
        "SELECT c.address, o.body FROM outbox o JOIN chats c ON c.id = o.chat_id "
        "WHERE o.kind = 'link_guessing'"
    )
    assert [n["address"] for n in notices] == [ADMIN]
    assert f"telegram:{BOB}" in notices[0]["body"]

    clock.advance(minutes=8)  # the first wrong code left the window: one more try
    assert "Zonnig Wonen" in await bob.text(f"/start {code}")
    for guess in ("FFFFFFFFFF", "GGGGGGGGGG", "HHHHHHHHHH", "JJJJJJJJJJ", "KKKKKKKKKK"):
        await bob.text(f"/start {guess}")
    assert await bob.text("/start LLLLLLLLLL") != refused  # waiting again
    count = await sample_store.db.fetchone(
        "SELECT COUNT(*) AS n FROM outbox WHERE kind = 'link_guessing'"
    )
    assert count is not None and count["n"] == 1  # told once about this chat
