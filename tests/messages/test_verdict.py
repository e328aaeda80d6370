"""bol.com's own verdict in words: every message says when bol.com's figures were fetched,
a seller never sees two strike counts without the explanation, unknown codes are shown."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from messages import LANGUAGES, render
from messages.model import FORMATS
from messages.verdict import readable
from norms.bol import PerformanceStatus, Violation
from tests.messages.cases import BOL, BOL_BEFORE, BOL_CASES, FETCHED, GROEISTART, SHOP, report_data

MOMENT = "2026-11-18 06:12 CET"


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("case", sorted(BOL_CASES))
def test_every_message_of_bol_figures_says_when_they_were_fetched(
    case: str, lang: str, fmt: str
) -> None:
    kind, data = BOL_CASES[case]
    text = render(kind, data, fmt=fmt, lang=lang).text  # type: ignore[arg-type]
    assert MOMENT in text


def test_each_alert_kind_has_its_section() -> None:
    text = render("alerts", BOL_CASES["alerts__bol"][1], fmt="text", lang="en").text
    for words in (
        "bol.com registered a strike for week 46 of 2026",
        "One more strike brings strike 3 of 7",
        "bol.com no longer counts the strike of week 24",
        "Product safety · Ontbrekende CE-markering: 35 points deducted",
        "25 policy points left of 100",
        "At 0 points bol.com closes your account for good",
        "Your quality score dropped from 64 to 58",
        "below the alert level of 65",
        "It costs the most in Own shipping",
        "• Cancellations: 3.1%, norm ≤ 2.0%: bring it down to 2.0% or lower",
    ):
        assert words in text, words
    # bol.com's count replaces ours: no "strike 3 of 7" from the derivation in the same message.
    assert "You now have strike 3 of 7" not in text and "Strike 3 of 7" not in text
    assert text.index("registered a strike") < text.index("policy violation")
    assert text.index("policy violation") < text.index("quality score dropped")


def test_groeistart_replaces_strike_warnings() -> None:
    data = {**report_data("alerts", "strikes"), "bol": GROEISTART}
    text = render("alerts", data, fmt="text", lang="nl").text
    assert "bol.com volgt je in GroeiStart" in text
    assert "Na 10, 50 en 100 bestellingen" in text
    assert "strike" not in text.replace("nog geen strikes", "")


def test_status_puts_bol_first_and_explains_a_different_count() -> None:
    text = render("status", BOL_CASES["status__bol"][1], fmt="text", lang="en").text
    assert text.index("bol.com's own verdict") < text.index("Our forecast")
    assert "Strikes: 2 strikes" in text and "3 strikes in the last 22 weeks" in text
    assert "bol.com's count is the one that counts" in text
    agreeing = replace(
        BOL, strikes=replace(BOL.strikes, count=3) if BOL.strikes is not None else None
    )
    same = {**report_data("status", "strikes"), "bol": agreeing}
    assert "the one that counts" not in render("status", same, fmt="text", lang="en").text


def test_without_a_snapshot_nothing_is_claimed() -> None:
    for kind in ("status", "alerts"):
        plain = render(kind, report_data(kind, "strikes"), fmt="text", lang="en").text
        assert "bol.com's own verdict" not in plain and "fetched" not in plain
    bare = render(
        "quality", {"seller": SHOP, "bol": PerformanceStatus(FETCHED)}, fmt="text", lang="en"
    )
    assert "has not sent a quality score" in bare.text


@pytest.mark.parametrize(
    ("code", "shown"),
    [
        ("FORBIDDEN_ASSORTMENT", "Forbidden assortment"),
        ("MISSING-QUALITY-MARK", "Missing quality mark"),
        ("Ontbrekende CE-markering", "Ontbrekende CE-markering"),
        ("", "–"),
    ],
)
def test_categories_are_shown_readably(code: str, shown: str) -> None:
    assert readable(code) == shown


def test_an_unknown_category_and_a_hostile_one_are_shown_escaped() -> None:
    odd = Violation("x-1", FETCHED, "<b>NEW_THING</b>", "A & B", "SOMETHING_NEW", 5)
    data: dict[str, Any] = {
        "seller": SHOP,
        "bol": replace(BOL, violations=(odd,)),
        "bol_previous": BOL_BEFORE,
    }
    html = render("policy", data, fmt="telegram", lang="en").text
    assert "&lt;b&gt;NEW_THING&lt;/b&gt;" in html and "A &amp; B" in html
    assert "5 points deducted" in render("policy", data, fmt="text", lang="en").text


def test_at_zero_points_the_account_is_closed_for_good() -> None:
    text = render("alerts", BOL_CASES["alerts__points_zero"][1], fmt="text", lang="nl").text
    assert "Je hebt geen beleidspunten meer: bol.com sluit je account definitief" in text
    assert "Bij 0 punten" not in text
