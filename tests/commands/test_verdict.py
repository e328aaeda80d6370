"""bol.com's own verdict in the chat: /quality, /policy (in each language's words), /status,
the digest and /history quality; without a snapshot, nothing claimed."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from bot.commands.registry import find
from bot.commands.service import Service
from norms import IsoWeek
from norms.bol import (
    MethodScore,
    PerformanceStatus,
    QualityKpi,
    QualityScore,
    Strikes,
    StrikeWeek,
    Violation,
)
from tests.conftest import ChatOf, FixedClock

pytestmark = pytest.mark.both_engines

AMS = ZoneInfo("Europe/Amsterdam")
W46 = IsoWeek(2026, 46)
OF_46 = datetime(2026, 11, 18, 6, 0, tzinfo=AMS)  # fetched in week 47: a snapshot of week 46
SNEL = "snel-speelgoed"

OWN = MethodScore(
    "OWN_SHIPPING",
    51,
    0.75,
    (
        QualityKpi("ON_TIME", 0.88, 0.93, "RETAILER"),
        QualityKpi("CANCELLATIONS", 0.031, 0.02, "RETAILER"),
        QualityKpi("RESPONSE_TIME", 0.97, 0.90, "RETAILER"),
    ),
)
VIOLATION = Violation(
    "pv-1",
    datetime(2026, 11, 16, 14, 30, tzinfo=AMS),
    "PRODUCT_SAFETY",
    "MISSING_CE_MARK",
    "POINTS_DEDUCTION",
    35,
)


def verdict(at: datetime, score: int, week: IsoWeek = W46) -> PerformanceStatus:
    strikes = Strikes(
        2,
        (StrikeWeek(IsoWeek(2026, 42), ("ON_TIME",)), StrikeWeek(W46, ("CANCELLATIONS",))),
        W46.shift(-21),
        W46,
    )
    quality = QualityScore(week, score, (OWN,))
    return PerformanceStatus(at, "GroeiKracht", strikes, 25, (VIOLATION,), quality)


async def keep(service: Service, clock: FixedClock, seller: str, status: PerformanceStatus) -> None:
    await service.store.bol_statuses.add(seller, status, "bol.com", clock())


async def test_without_a_snapshot_quality_and_policy_claim_nothing_and_say_how(
    chat_of: ChatOf, service: Service, clock: FixedClock
) -> None:
    talk = await chat_of(SNEL)
    for word in ("/quality", "/kwaliteit", "/qualite"):
        [reply] = await talk.push(word)
        assert (reply.kind, reply.data["command"]) == ("no_bol_status", "quality")
    for word in ("/policy", "/beleid", "/politique"):
        [reply] = await talk.push(word)
        assert (reply.kind, reply.data["command"]) == ("no_bol_status", "policy")
    said = await talk.text("/kwaliteit")
    assert "bol.com heeft zijn eigen oordeel over Snel Speelgoed nog niet doorgegeven" in said
    assert "/connect" in said and "performance-status" in said
    assert not any(ch.isdigit() for ch in said)  # no figure at all
    await talk.push("/language en")
    await service.store.sellers.set_credentials(SNEL, b"sealed-id", b"sealed", clock())
    said = await talk.text("/policy")
    assert said.startswith("📜 Policy points · Snel Speelgoed")
    assert "Your bol.com API connection brings it in with the next poll." in said


async def test_quality_names_the_method_and_the_kpis_that_cost_the_most(
    chat_of: ChatOf, service: Service, clock: FixedClock
) -> None:
    await keep(
        service, clock, SNEL, verdict(datetime(2026, 11, 11, 6, 0, tzinfo=AMS), 64, W46.shift(-1))
    )
    await keep(service, clock, SNEL, verdict(OF_46, 58))
    talk = await chat_of(SNEL)
    await talk.push("/language en")
    said = await talk.text("/quality")
    assert "Your quality score: 58 of 100 in week 46 of 2026 (9–15 Nov) (-6)." in said
    assert "That is below the alert level of 65 that was chosen for you." in said
    assert "Own shipping: 51 (weight 75%)" in said
    assert "• Cancellations: 3.1%, norm ≤ 2.0%: bring it down to 2.0% or lower" in said
    assert "Response time" not in said  # it meets its norm
    assert "bol.com's figures as fetched on 2026-11-18 06:00 CET" in said


async def test_policy_lists_the_violations_and_the_points_left(
    chat_of: ChatOf, service: Service, clock: FixedClock
) -> None:
    await keep(service, clock, SNEL, verdict(OF_46, 58))
    talk = await chat_of(SNEL)
    await talk.push("/language fr")
    [reply] = await talk.push("/politique")
    assert reply.kind == "policy" and reply.data["bol"].points_left == 25
    await talk.push("/language en")
    said = await talk.text("/policy")
    assert "25 policy points left of 100. That is at or below your alert level of 30." in said
    assert "2026-11-16 14:30 CET: Product safety · Missing ce mark: 35 points deducted." in said


async def test_status_shows_bol_coms_verdict_first_and_our_forecast_beside_it(
    chat_of: ChatOf, service: Service, clock: FixedClock
) -> None:
    talk = await chat_of(SNEL)
    await talk.push("/language en")
    without = await talk.text("/status")
    assert "bol.com's own verdict" not in without and "bol.com's figures" not in without
    await keep(service, clock, SNEL, verdict(OF_46, 58))
    said = await talk.text("/status")
    assert said.index("bol.com's own verdict") < said.index("Our forecast from your weekly")
    assert "System: GroeiKracht" in said
    assert (
        "Strikes: 2 strikes (week 42: on-time delivery (own shipping); week 46: cancellations)"
        in said
    )
    assert "Policy points left: 25 of 100 ⚠️" in said
    assert "Quality score: 58 of 100 (week 46) ⚠️" in said
    assert "bol.com's figures as fetched on 2026-11-18 06:00 CET" in said


async def test_status_of_a_seller_without_figures_still_shows_bol_coms_verdict(
    chat_of: ChatOf, service: Service, clock: FixedClock
) -> None:
    await service.store.sellers.add("nieuw", "Nieuwe Winkel", "en", clock())
    starting = PerformanceStatus(OF_46, "GroeiStart", points_left=100)
    await keep(service, clock, "nieuw", starting)
    talk = await chat_of("nieuw")
    await talk.push("/language en")
    said = await talk.text("/status")
    assert "No weekly figures have come in for Nieuwe Winkel yet." in said
    assert "System: GroeiStart (your first 100 orders; no strikes yet)" in said
    assert "Our forecast" not in said


async def test_the_digest_has_a_bol_line_per_seller_that_has_one(
    chat_of: ChatOf, service: Service, clock: FixedClock
) -> None:
    await keep(service, clock, SNEL, verdict(OF_46, 58))
    talk = await chat_of(SNEL)
    await talk.push("/language en")
    said = await talk.text("/digest")
    assert (
        "bol.com: 2 strikes · 25 policy points ⚠️ · quality score 58 ⚠️ · 2026-11-18 06:00 CET"
        in said
    )
    team = await chat_of(SNEL, "zonnig-wonen", address="502")
    await team.push("/language en")
    [digest] = await team.push("/digest")
    assert digest.data["team"] is True
    bol_lines = [
        line for line in (await team.text("/digest")).splitlines() if line.startswith("bol.com:")
    ]
    assert len(bol_lines) == 1  # Zonnig Wonen has no snapshot: no line, no claim


async def test_history_quality_charts_bol_coms_score(
    chat_of: ChatOf, service: Service, clock: FixedClock
) -> None:
    talk = await chat_of(SNEL)
    await talk.push("/language en")
    [none] = await talk.push("/history quality")
    assert none.kind == "no_bol_status"
    await keep(
        service, clock, SNEL, verdict(datetime(2026, 11, 4, 6, 0, tzinfo=AMS), 70, W46.shift(-2))
    )
    [one_week] = await talk.push("/history quality")
    assert one_week.kind == "history" and one_week.image is None
    assert "a chart needs at least 2 weeks" in await talk.text("/history quality")
    await keep(
        service, clock, SNEL, verdict(datetime(2026, 11, 11, 6, 0, tzinfo=AMS), 64, W46.shift(-1))
    )
    await keep(service, clock, SNEL, verdict(OF_46, 58))
    for words in ("/history quality", "/history kwaliteit 12", f"/history {SNEL} quality"):
        [chart] = await talk.push(words)
        assert chart.kind == "history" and chart.data["quality"] is True
        assert chart.data["weeks"] == 3 and chart.image is not None
        assert chart.image.startswith(b"\x89PNG")
    [last_two] = await talk.push("/history qualite 2")
    assert last_two.data["weeks"] == 2
    said = await talk.text("/history quality")
    assert "bol.com's quality score in the last 3 weeks that have one" in said
    assert "alert level of 65" in said
    # The weekly figures' chart points at it.
    assert "bol.com's quality score has a chart of its own: /history quality" in await talk.text(
        "/history"
    )


async def test_history_quality_asks_which_seller_and_keeps_the_chart_asked_for(
    chat_of: ChatOf, service: Service, clock: FixedClock
) -> None:
    talk = await chat_of(SNEL, "zonnig-wonen")
    [ask] = await talk.push("/history quality 8")
    assert ask.kind == "choose_seller" and ask.command == "history quality 8"


async def test_help_names_the_commands_in_the_chats_language(
    chat_of: ChatOf, service: Service
) -> None:
    talk = await chat_of(SNEL)
    said = await talk.text("/help")
    assert "/kwaliteit – " in said and "/beleid – " in said and "/history kwaliteit – " in said
    await talk.push("/language fr")
    said = await talk.text("/help")
    assert "/qualite – " in said and "/politique – " in said
    await talk.push("/language en")
    said = await talk.text("/help")
    assert "/quality – " in said and "/policy – " in said
    assert "bol.com's fifth strike or more" in said


def test_each_language_names_the_commands_its_own_way() -> None:
    for word in ("quality", "kwaliteit", "qualite"):
        command = find(word, "telegram")
        assert command is not None and command.name == "quality"
    for word in ("policy", "beleid", "politique"):
        command = find(word, "slack")
        assert command is not None and command.name == "policy"
