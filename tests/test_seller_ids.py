"""The rule for a new seller's id: one word of at most 64 characters, nothing invisible."""

from __future__ import annotations

import unicodedata

import pytest

from bot.seller_ids import MAX_SELLER_ID, seller_id_problem


@pytest.mark.parametrize("char", [chr(n) for n in range(128)] + ["\u00a0", "\u200b", "é", "\u2028"])
def test_an_id_is_refused_exactly_when_a_character_is_a_space_or_invisible(char: str) -> None:
    invisible = char.isspace() or unicodedata.category(char) in ("Cc", "Cf")
    problem = seller_id_problem(f"shop{char}1")
    assert (problem is not None) == invisible
    if invisible:
        assert "must be one word" in str(problem)


def test_an_id_of_more_than_64_characters_is_refused() -> None:
    assert seller_id_problem("a" * MAX_SELLER_ID) is None
    assert "at most 64" in str(seller_id_problem("a" * (MAX_SELLER_ID + 1)))
    assert "at most 64" in str(seller_id_problem("é" * (MAX_SELLER_ID + 1)))
    assert str(seller_id_problem("")) == "a seller id must not be empty"
