"""Weekly indicator records: the quick reading of well-formed records says exactly what
the reading cell by cell says, for good cells and bad ones alike."""

from __future__ import annotations

import itertools

from bot.ingest.indicators import INDICATOR_COLUMNS, IndicatorReader
from bot.ingest.rows import Figures, Issue, MeasurementRow
from norms.policy import Policy
from tests.ingest.support import TODAY

SELLERS = (" shop-1 ", "", "shop\x001")
WEEKS = (("46", "2026"), ("2026-W46", ""), ("46", ""), ("2026-W48", "2026"))
INDICATORS = ("FULFILMENT", "fulfilment", "REVIEWS", "NOPE")
COUNTS = ("", "0", "9", " 150 ", "999999999", "1000000000", "1000000001", "1.5")
VALUES = ("", "0,9", "90%", "8.4", "0.2", "abc")
NORMS = ("", "93%", "11")


def records() -> list[list[str]]:
    """Every combination of a few good and bad cells per column."""
    return [
        [seller, year, week, indicator, numerator, denominator, value, norm]
        for seller, (week, year), indicator, numerator, denominator, value, norm in (
            itertools.product(SELLERS, WEEKS, INDICATORS, COUNTS, COUNTS, VALUES, NORMS)
        )
    ]


def test_the_quick_reading_of_a_record_agrees_with_the_reading_cell_by_cell(
    policy: Policy,
) -> None:
    quick = IndicatorReader("w.csv", TODAY, policy)
    plain = IndicatorReader("w.csv", TODAY, policy, figures=True)
    checked = IndicatorReader("w.csv", TODAY, policy)
    for reader in (quick, plain, checked):
        reader.locate({name: i for i, name in enumerate(INDICATOR_COLUMNS)})
    accepted = 0
    for line, cells in enumerate(records(), 2):
        expected = checked._checked(line, cells)
        assert quick.row(line, cells) == expected, cells
        assert plain.row(line, cells) == figures(expected), cells
        accepted += isinstance(expected, MeasurementRow)
    assert accepted > 100  # the quick path was taken, not only the careful one


def figures(row: MeasurementRow | Figures | list[Issue]) -> Figures | list[Issue]:
    """A measurement row as ``Figures``: what a reader asked for them gives instead."""
    if not isinstance(row, MeasurementRow):
        return row
    m = row.measurement
    assert (m.condition, m.conforms, m.excluded) == (None, None, False)
    return (
        row.seller_id,
        m.week,
        m.indicator,
        m.numerator,
        m.denominator,
        m.value,
        m.norm,
        row.file,
        row.line,
        row.seller_column,
    )
