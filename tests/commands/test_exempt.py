"""/exempt: exemptions declared, confirmed, listed and taken back in a chat."""

from __future__ import annotations

import pytest

from bot.commands.exempt import (
    UnknownIndicator,
    looks_like_indicator,
    nearest_indicator,
    parse_indicator,
)
from bot.commands.service import Service
from norms import Indicator
from tests.conftest import ChatOf, FixedClock

pytestmark = pytest.mark.both_engines


async def test_a_misspelt_indicator_is_refused_with_the_nearest_name(
    admin_chat: ChatOf, service: Service
) -> None:
    admin = await admin_chat()
    [reply] = await admin.push("/exempt 2026-W46 FULFILLMENT staking")
    assert (reply.kind, reply.data) == (
        "bad_argument",
        {"problem": "unknown_indicator", "given": "FULFILLMENT", "suggestion": "FULFILMENT"},
    )
    assert await service.store.data.exemptions() == []
    assert "FULFILLMENT? Bedoel je FULFILMENT?" in await admin.text(
        "/exempt 2026-W46 FULFILLMENT staking"
    )
    await admin.push("/language en")
    assert "FULFILLMENT? Did you mean FULFILMENT?" in await admin.text(
        "/exempt 2026-W46 FULFILLMENT strike"
    )
    # Words of the reason are not taken for indicators.
    [asked] = await admin.push("/exempt 2026-W46 fulfilment PostNL staking")
    assert asked.kind == "exempt_confirm" and asked.data["exemption"].reason == "PostNL staking"


async def test_an_exemption_for_everyone_waits_for_its_confirmation(
    chat_of: ChatOf, admin_chat: ChatOf, service: Service, clock: FixedClock
) -> None:
    admin = await admin_chat()
    seller_chat = await chat_of("snel-speelgoed", address="901")
    [asked] = await admin.push("/exempt 2026-W46 Storing bij bol.com")
    assert asked.kind == "exempt_confirm" and asked.command == "exempt confirm"
    [button] = asked.choices
    assert button.id == asked.data["token"] and button.name == "✅ Ja, vastleggen"
    assert await service.store.data.exemptions() == []
    text = await admin.text("/exempt 2026-W46 Storing bij bol.com")
    assert "alle normen van alle verkopers in week 46 van 2026" in text
    # Another admin cannot press this admin's button, and a wrong token confirms nothing.
    token = (await service.store.chats.conversation(admin.chat.id) or ("", {}))[1]["token"]
    admin.user_id = "1002"
    assert (await admin.push(f"/exempt confirm {token}"))[0].data == {
        "problem": "nothing_to_confirm"
    }
    admin.user_id = "1001"
    assert (await admin.push("/exempt confirm nope"))[0].kind == "bad_argument"
    [ok] = await admin.push(f"/exempt confirm {token}")
    assert ok.kind == "exempt_ok" and ok.data["exemption"].indicators == frozenset()
    [status] = await seller_chat.push("/status")
    assert status.data["report"].track.step == 4
    # Pressed twice: nothing more is recorded.
    assert (await admin.push(f"/exempt confirm {token}"))[0].kind == "bad_argument"
    assert len(await service.store.data.exemptions()) == 1


async def test_an_unconfirmed_exemption_expires_and_another_command_cancels_it(
    admin_chat: ChatOf, service: Service, clock: FixedClock
) -> None:
    admin = await admin_chat()
    [asked] = await admin.push("/exempt 2026-W46 seller:snel-speelgoed staking")
    clock.advance(minutes=11)
    assert (await admin.push(f"/exempt confirm {asked.data['token']}"))[0].kind == "bad_argument"
    [asked] = await admin.push("/exempt 2026-W46 FULFILMENT staking")
    await admin.push("/sellers")
    assert (await admin.push(f"/exempt confirm {asked.data['token']}"))[0].kind == "bad_argument"
    assert await service.store.data.exemptions() == []


async def test_an_exemption_is_removed_and_the_week_counts_again(
    chat_of: ChatOf, admin_chat: ChatOf, service: Service
) -> None:
    admin = await admin_chat()
    seller_chat = await chat_of("snel-speelgoed", address="901")
    await admin.push("/exempt 2026-W46 fulfilment seller:snel-speelgoed PostNL staking")
    assert (await seller_chat.push("/status"))[0].data["report"].track.step == 4
    [record] = await service.store.data.exemption_records()
    [removed] = await admin.push(f"/exempt remove {record.id}")
    assert removed.kind == "exempt_removed" and removed.data["record"].id == record.id
    assert await service.store.data.exemptions() == []
    # Week 46 counts again: the suspension is back.
    assert (await seller_chat.push("/status"))[0].data["report"].track.step == 5
    assert (await admin.push(f"/exempt remove {record.id}"))[0].data == {
        "problem": "exempt_not_found",
        "given": str(record.id),
    }
    assert (await admin.push("/exempt remove"))[0].data == {"problem": "exempt_id", "given": ""}
    assert "Er is geen uitzondering #" in await admin.text(f"/exempt remove {record.id}")


async def test_the_same_exemption_twice_is_refused_naming_the_first(
    admin_chat: ChatOf, service: Service
) -> None:
    admin = await admin_chat()
    [ok] = await admin.push("/exempt 2026-W46 fulfilment seller:snel-speelgoed PostNL staking")
    assert ok.kind == "exempt_ok"
    [first] = await service.store.data.exemption_records()
    [again] = await admin.push("/exempt 2026-W46 FULFILMENT seller:snel-speelgoed andere reden")
    assert (again.kind, again.data) == (
        "bad_argument",
        {"problem": "exempt_exists", "given": str(first.id)},
    )
    assert f"Uitzondering #{first.id} geldt al voor deze week" in await admin.text(
        "/exempt 2026-W46 fulfilment seller:snel-speelgoed PostNL staking"
    )
    # One for everyone, confirmed, and then asked again: refused before any confirmation.
    [asked] = await admin.push("/exempt 2026-W47 Storing bij bol.com")
    [confirmed] = await admin.push(f"/exempt confirm {asked.data['token']}")
    assert confirmed.kind == "exempt_ok"
    [twice] = await admin.push("/exempt 2026-W47 Storing")
    assert twice.data["problem"] == "exempt_exists"
    assert len(await service.store.data.exemptions()) == 2


def test_an_indicator_is_read_in_any_case_and_a_typo_names_the_nearest() -> None:
    assert parse_indicator("fulfilment") is Indicator.FULFILMENT
    with pytest.raises(UnknownIndicator) as refused:
        parse_indicator("FULFILLMENT")
    assert (refused.value.word, refused.value.nearest) == ("FULFILLMENT", "FULFILMENT")
    assert nearest_indicator("RESPONSE_TIMES") == "RESPONSE_TIME"
    assert looks_like_indicator("NO_SUCH_NORM") and nearest_indicator("NO_SUCH_NORM") is None
    assert not looks_like_indicator("staking") and not looks_like_indicator("PostNL")
