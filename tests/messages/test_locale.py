"""Numbers and weeks per language: CLDR's (through Babel) where CLDR has them, ours for
ISO weeks."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from messages import LANGUAGES
from messages.locale import (
    babel_decimal,
    compact_percent,
    count,
    decimal,
    percent,
    week_label,
    week_number,
    weeks_label,
)
from norms import IsoWeek


@given(
    value=st.floats(min_value=-1e9, max_value=1e9, allow_nan=False),
    digits=st.integers(min_value=0, max_value=3),
    lang=st.sampled_from(LANGUAGES),
)
def test_decimal_writes_what_babel_writes(value: float, digits: int, lang: str) -> None:
    """The fast path gives Babel's digits, separators and rounding, for every number."""
    assert decimal(value, lang, digits) == babel_decimal(value, lang, digits)  # type: ignore[arg-type]


@pytest.mark.parametrize("value", [0.125, 2.675, 1.005, 0.5, 1.5, 2.5, 93.50000000000001])
def test_halves_round_like_python_and_babel(value: float) -> None:
    for lang in LANGUAGES:
        for digits in (0, 1, 2):
            assert decimal(value, lang, digits) == babel_decimal(value, lang, digits)
            assert decimal(value, "en", digits) == f"{value:.{digits}f}"


def test_numbers_as_each_language_writes_them() -> None:
    assert [percent(0.935, lang) for lang in ("nl", "en", "fr")] == ["93,5%", "93.5%", "93,5\xa0%"]
    assert [count(1250, lang) for lang in ("nl", "en", "fr")] == ["1.250", "1,250", "1\u202f250"]
    assert [compact_percent(0.045, lang) for lang in ("nl", "en", "fr")] == [
        "4,5%",
        "4.5%",
        "4,5\xa0%",
    ]
    assert decimal(8.4, "fr") == "8,4" and decimal(8.4, "en") == "8.4"


def test_week_labels_per_language() -> None:
    w46, w44, w53 = IsoWeek(2026, 46), IsoWeek(2026, 44), IsoWeek(2026, 53)
    assert week_label(w46, "nl") == "week 46 (9–15 nov)"
    assert week_label(w46, "en") == "week 46 (9–15 Nov)"
    assert week_label(w46, "fr") == "semaine 46 (9–15 nov.)"
    assert week_label(w44, "fr") == "semaine 44 (26 oct. – 1 nov.)"
    assert week_label(w53, "fr") == "semaine 53 (28 déc. 2026 – 3 janv. 2027)"
    assert week_label(w53, "fr", with_year=True) == "semaine 53 de 2026 (28 déc. – 3 janv.)"
    assert week_label(IsoWeek(2026, 37), "en") == "week 37 (7–13 Sep)"  # not en_GB's "Sept"
    assert week_number(IsoWeek(2025, 30), "fr", ref=w46) == "semaine 30 de 2025"


def test_several_weeks_per_language() -> None:
    run = [IsoWeek(2026, w) for w in (44, 45, 46)]
    few = [IsoWeek(2026, w) for w in (40, 44, 46)]
    assert weeks_label(run, "nl") == "weken 44 t/m 46 van 2026"
    assert weeks_label(run, "fr") == "semaines 44 à 46 de 2026"
    assert weeks_label(few, "en") == "weeks 40, 44 and 46 of 2026"
    assert weeks_label(few, "fr") == "semaines 40, 44 et 46 de 2026"
    many = [IsoWeek(2026, w) for w in range(2, 30, 3)]
    assert weeks_label(many, "fr") == "10 semaines entre la semaine 2 et la 29 de 2026"
