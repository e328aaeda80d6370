"""Finding a seller by what people type: folding and matching, without a database."""

from __future__ import annotations

from bot.commands.seller_names import folded, matching
from bot.store import Seller

SELLERS = [
    Seller("cafe-olbaum", "Café Ölbaum", "nl"),
    Seller("snel-speelgoed", "Snel Speelgoed", "nl"),
    Seller("snel-koffie", "Snel Koffie", "nl"),
    Seller("SNEL", "Snel", "nl"),
]


def test_folding_ignores_case_accents_dashes_and_spacing() -> None:
    assert folded("  Café-Ölbaum ") == "cafe olbaum"
    assert folded("snel_speelgoed") == folded("Snel  Speelgoed") == "snel speelgoed"


def test_the_id_as_written_wins_then_an_exact_name_then_a_unique_beginning() -> None:
    assert matching(SELLERS, "SNEL") == [SELLERS[3]]
    assert matching(SELLERS, "snel") == [SELLERS[3]]  # the folded name "snel" is exact
    assert matching(SELLERS, "cafe olbaum") == [SELLERS[0]]
    assert matching(SELLERS, "CAFÉ") == [SELLERS[0]]
    assert matching(SELLERS, "snel s") == [SELLERS[1]]


def test_a_shared_beginning_is_ambiguous_and_nothing_names_none() -> None:
    assert matching(SELLERS[:3], "snel") == SELLERS[1:3]
    assert matching(SELLERS, "koffie") == []
    assert matching(SELLERS, " - ") == []
