"""A seller's figures: /score, /status, /goldlabel, /history and /digest."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.commands.reports import digest_time
from bot.commands.service import ChatContext, Service
from tests.conftest import ChatOf, FixedClock

pytestmark = pytest.mark.both_engines


async def test_score_for_the_chats_only_seller(chat_of: ChatOf, service: Service) -> None:
    talk = await chat_of("snel-speelgoed")
    [reply] = await talk.push("/score")
    assert reply.kind == "score"
    report = reply.data["report"]
    assert reply.data["seller"].id == "snel-speelgoed"
    assert str(report.week) == "2026-W46" and report.track.step == 5


async def test_history_draws_a_chart(chat_of: ChatOf, service: Service) -> None:
    talk = await chat_of("snel-speelgoed")
    [reply] = await talk.push("/history 8")
    assert reply.kind == "history" and reply.data["weeks"] == 8
    assert reply.image is not None and reply.image.startswith(b"\x89PNG")


async def test_a_chat_chooses_when_its_digest_comes(chat_of: ChatOf, service: Service) -> None:
    talk = await chat_of("zonnig-wonen")
    assert (await talk.push("/digest vrijdag 17"))[0].data == {"day": 5, "hour": 17}
    chat = await service.store.chats.get(talk.chat.id)
    assert chat is not None and (chat.digest_day, chat.digest_hour) == (5, 17)
    assert (await talk.push("/digest Mon 08:00"))[0].data == {"day": 1, "hour": 8}
    assert (await talk.push("/digest lundi 8"))[0].data == {"day": 1, "hour": 8}
    assert (await talk.push("/digest dimanche 20"))[0].data == {"day": 7, "hour": 20}
    # What is wrong is named: the day, the hour out of 0-23, or the hour left out.
    assert (await talk.push("/digest someday 25"))[0].data == {
        "problem": "digest_day",
        "given": "someday",
    }
    assert (await talk.push("/digest zondag 25"))[0].data == {
        "problem": "digest_hour",
        "given": "25",
    }
    assert (await talk.push("/digest zondag"))[0].data == {
        "problem": "digest_hour_missing",
        "given": "zondag",
    }
    assert "Om hoe laat?" in await talk.text("/digest zondag")
    assert "“25” is geen uur" in await talk.text("/digest zondag 25")
    assert (await talk.push("/digest zondag 8 uur"))[0].data["problem"] == "digest_time"
    chat = await service.store.chats.get(talk.chat.id)
    assert chat is not None and (chat.digest_day, chat.digest_hour) == (7, 20)
    [digest] = await talk.push("/digest")
    assert digest.kind == "digest" and digest.data["team"] is False


async def test_a_number_is_no_seller_except_as_the_weeks_of_history(
    chat_of: ChatOf, service: Service
) -> None:
    talk = await chat_of("snel-speelgoed")
    assert (await talk.push("/plan done 123"))[0].data == {"query": "123"}
    [history] = await talk.push("/history 6")
    assert history.kind == "history" and history.data["weeks"] == 6


async def test_history_draws_what_is_stored_and_says_so(chat_of: ChatOf, service: Service) -> None:
    talk = await chat_of("snel-speelgoed")
    [reply] = await talk.push("/history 26")
    assert reply.data["weeks"] == 26 and reply.data["asked"] == 26
    [everything] = await talk.push("/history 500")
    stored = everything.data["weeks"]
    assert 26 < stored < 500 and everything.image is not None
    assert f"Je vroeg om 500 weken. Er zijn er {stored} opgeslagen" in await talk.text(
        "/history 500"
    )


async def test_old_figures_say_which_weeks_are_missing(
    chat_of: ChatOf, service: Service, clock: FixedClock
) -> None:
    # 1 December is in week 49: the newest figures are of week 46.
    clock.now = clock.now.replace(month=12, day=1)
    talk = await chat_of("zonnig-wonen")
    [score] = await talk.push("/score")
    assert [str(w) for w in score.data["missing"]] == ["2026-W47", "2026-W48"]
    for command in ("/score", "/status", "/goldlabel", "/digest"):
        text = await talk.text(command)
        assert "De cijfers van weken 47 en 48 van 2026 ontbreken nog. Dit is week 46" in text
        assert "/connect" in text
    await talk.push("/language en")
    assert "The figures of weeks 47 and 48 of 2026 are still missing. This is week 46" in (
        await talk.text("/status")
    )
    # On 19 November week 46 is the last complete week: nothing is missing, nothing said.
    clock.now = clock.now.replace(month=11, day=19)
    [current] = await talk.push("/score")
    assert current.data["missing"] == []
    assert "missing" not in await talk.text("/status")


async def test_an_overview_in_a_chat_with_several_sellers_is_one_line_each(
    chat_of: ChatOf,
    service: Service,
) -> None:
    team = await chat_of("zonnig-wonen", "snel-speelgoed", "boekenhoek", "kado-kelder")
    for command in ("score", "status"):
        [overview] = await team.push(f"/{command}")
        assert overview.kind == "overview" and overview.command == command
        assert [s.id for s in overview.choices] == [
            "boekenhoek",
            "kado-kelder",
            "snel-speelgoed",
            "zonnig-wonen",
        ]
    lines = (await team.text("/status")).splitlines()
    assert lines[0] == "🧭 Status · 4 verkopers"
    sellers = [line for line in lines if line and line[0] in "🟢🔴⚪"]
    assert len(sellers) == 4 and len(lines) <= 8
    # The riskiest first: the suspended shop.
    assert sellers[0] == (
        "🔴 Snel Speelgoed: 🔒 stap 5 van 7: tijdelijk gesloten, verbeterplan indienen"
        " · week 46 een week onder de norm"
    )
    # A risk beside the track is named, and its dot is red: the shop rating, a notice.
    assert sellers[1] == (
        "🔴 KadoKelder: ✅ geen verbetertraject · ⚠️ winkelcijfer in de gevarenzone · 📋 normmelding"
    )
    await team.push("/language en")
    assert "🔴 Snel Speelgoed: 🔒 step 5 of 7: closed temporarily" in await team.text("/status")
    # A named seller still gets the whole answer.
    assert (await team.push("/score snel"))[0].kind == "score"


async def test_history_reads_its_weeks_first_or_last_in_a_chat_of_several(
    chat_of: ChatOf,
    service: Service,
) -> None:
    talk = await chat_of("snel-speelgoed", "zonnig-wonen")
    # The number of weeks is carried into the buttons that ask which seller.
    [ask] = await talk.push("/history 26")
    assert ask.kind == "choose_seller" and ask.command == "history 26"
    [chart] = await talk.push(f"/{ask.command} {ask.choices[0].id}")
    assert chart.kind == "history" and chart.data["asked"] == 26
    for command in ("/history 3 snel", "/history snel 3"):
        [reply] = await talk.push(command)
        assert (reply.kind, reply.data["seller"].id, reply.data["weeks"]) == (
            "history",
            "snel-speelgoed",
            3,
        ), command
    # Out of range is refused as it is for a named seller; a number is never a name.
    for given in ("0", "500000", "-3", "1"):
        [refused] = await talk.push(f"/history {given}")
        assert (refused.kind, refused.data["given"]) == ("bad_argument", given)
        assert refused.data["problem"] == "history_weeks"
    await talk.push("/language en")
    assert "I cannot draw 1 week." in await talk.text("/history 1")
    assert "I cannot draw 0 weeks." in await talk.text("/history snel 0")


async def test_history_with_one_week_stored_draws_no_chart(
    chat_of: ChatOf, service: Service, clock: FixedClock, tmp_path: Path
) -> None:
    await service.store.sellers.add("nieuw", "Nieuwe Winkel", "nl", clock())
    talk = await chat_of("nieuw")
    week = tmp_path / "week.csv"
    week.write_text(
        "seller_id,year,week,indicator,numerator,denominator,value,norm\n"
        "nieuw,2026,46,RESPONSE_TIME,5,5,,\n",
        encoding="utf-8",
    )
    [ok] = await service.handle_upload(ChatContext(talk.chat, "1001"), week, "week.csv")
    assert ok.kind == "upload_ok"
    # One week is too few for a chart, whether asked for or all that is stored.
    for command in ("/history", "/history 2"):
        [reply] = await talk.push(command)
        assert reply.kind == "history" and reply.image is None
        assert (reply.data["weeks"], reply.data["low"]) == (1, 2)
    assert "er is pas 1 week aan cijfers opgeslagen" in await talk.text("/history 2")


async def test_only_a_seller_without_credentials_is_told_to_connect(
    chat_of: ChatOf, service: Service, clock: FixedClock
) -> None:
    talk = await chat_of("zonnig-wonen")
    await talk.push("/language en")
    # Two weeks on, the last week's figures are missing.
    clock.advance(days=14)
    assert "/connect" in await talk.text("/status")
    await service.store.sellers.set_credentials("zonnig-wonen", b"sealed-id", b"sealed", clock())
    said = await talk.text("/status")
    assert "still missing" in said and "/connect" not in said
    assert "Your bol.com API connection brings them in" in said
    assert "/connect" not in await talk.text("/score")
    # Credentials bol.com refused are no connection: setting new ones is the way.
    await service.store.sellers.record_credential_failure("zonnig-wonen", "bad", clock())
    assert "/connect" in await talk.text("/status")


async def test_score_and_status_of_several_sellers_each_say_their_own_thing(
    chat_of: ChatOf,
    service: Service,
) -> None:
    talk = await chat_of("zonnig-wonen", "boekenhoek")
    await talk.push("/language en")
    names = [s.name for s in await service.store.sellers.some(["zonnig-wonen", "boekenhoek"])]

    def lines_of(text: str) -> list[str]:
        return [line for line in text.splitlines() if any(f"{n}:" in line for n in names)]

    score_lines = lines_of(await talk.text("/score"))
    status_lines = lines_of(await talk.text("/status"))
    # /score: each seller's figures; /status: where each seller's track stands.
    assert len(score_lines) == 2 and all("On-time delivery" in line for line in score_lines)
    assert all("%" in line and "track" not in line for line in score_lines)
    assert len(status_lines) == 2 and all("%" not in line for line in status_lines)
    assert all("track" in line or "step" in line for line in status_lines)


async def test_the_digest_tells_only_a_seller_without_credentials_to_connect(
    service: Service, clock: FixedClock
) -> None:
    from bot.notices.digest import digest_entries
    from messages import render

    async def digest() -> str:
        seller = await service.store.sellers.get("zonnig-wonen")
        assert seller is not None
        entries = await digest_entries(service, [seller])
        return render("digest", {"entries": entries, "team": False}, fmt="text", lang="en").text

    clock.advance(days=14)  # the last two weeks' figures are missing
    assert "/connect" in await digest()
    await service.store.sellers.set_credentials("zonnig-wonen", b"sealed-id", b"sealed", clock())
    said = await digest()
    assert "still missing" in said and "/connect" not in said


def test_the_digest_time_is_read_in_three_languages() -> None:
    assert digest_time(["maandag", "8"]) == digest_time(["mon", "08:00"]) == (1, 8)
    assert digest_time(["Dimanche", "17h"]) == (7, 17)
    assert digest_time(["vr", "7u"]) == (5, 7)
    assert digest_time(["zondag"]) == "digest_hour_missing"
    assert digest_time(["someday", "8"]) == "digest_day"
    assert digest_time(["ma", "24"]) == "digest_hour"
    assert digest_time(["zondag", "8", "uur"]) == "digest_time"
