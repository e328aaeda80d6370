"""The seller a command is about: named, the chat's only one, or asked for."""

from __future__ import annotations

import pytest

from bot.commands.service import Service
from tests.conftest import ChatOf, FixedClock

pytestmark = pytest.mark.both_engines


async def test_a_chat_sees_nothing_of_sellers_it_does_not_follow(
    chat_of: ChatOf, service: Service
) -> None:
    talk = await chat_of("zonnig-wonen")
    for command in ("/score snel-speelgoed", "/status Snel Speelgoed", "/history kado-kelder"):
        replies = await talk.push(command)
        assert [r.kind for r in replies] == ["unknown_seller"]
        assert all("report" not in r.data for r in replies)
    # The same answer for a seller that does not exist at all.
    assert (await talk.push("/score ghost"))[0].data == {"query": "ghost"}


async def test_several_sellers_ask_which_one(chat_of: ChatOf, service: Service) -> None:
    talk = await chat_of("zonnig-wonen", "boekenhoek")
    [ask] = await talk.push("/goldlabel")
    assert ask.kind == "choose_seller" and ask.command == "goldlabel"
    assert [s.id for s in ask.choices] == ["boekenhoek", "zonnig-wonen"]
    [answer] = await talk.push("/goldlabel zonnig-wonen")
    assert answer.kind == "goldlabel" and answer.data["report"].gold.unmet == ["reviews_per_month"]


async def test_a_seller_is_found_by_name_in_any_case_by_prefix_and_without_accents(
    admin_chat: ChatOf, service: Service, clock: FixedClock
) -> None:
    admin = await admin_chat()
    for query in ("Snel Speelgoed", "snel speelgoed", "SNEL", "snel-speel", "Snél Spéelgoed"):
        [reply] = await admin.push(f"/score {query}")
        assert (reply.kind, reply.data["seller"].id) == ("score", "snel-speelgoed"), query
    [chart] = await admin.push("/history Snel Speelgoed 6")
    assert (chart.kind, chart.data["weeks"]) == ("history", 6)
    await service.store.sellers.add("snel-tuin", "Snel Tuin", "nl", clock())
    [ask] = await admin.push("/status snel")
    assert ask.kind == "choose_seller" and [s.id for s in ask.choices] == [
        "snel-speelgoed",
        "snel-tuin",
    ]
    assert "Voor welke verkoper?" in await admin.text("/status snel")
    [ghost] = await admin.push("/score Snel Koffie")
    assert ghost.data == {"query": "Snel Koffie"}
