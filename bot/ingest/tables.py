"""Header-and-rows tables (CSV, first XLSX sheet): weekly indicators or shop ratings.

The format readers turn a file into ``(line, cells)`` records of text; this module
finds the columns by header name, recognises which kind of table it is, and turns each
record into a row or into the issues that reject it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from datetime import date

from bot.ingest.cells import quoted
from bot.ingest.indicators import INDICATOR_COLUMNS, IndicatorReader
from bot.ingest.ratings import RATING_COLUMNS, RatingReader
from bot.ingest.rows import EMPTY_FILE, Figures, Issue, Row
from messages.reasons import N_, Reason
from norms.policy import Policy

# `year` may be left out altogether when every week is written as 2026-W46.
_OPTIONAL = frozenset({"year"})

Record = tuple[int, list[str]]
_RowReader = Callable[[int, list[str]], Row | Figures | list[Issue]]

_SEPARATORS = re.compile(r"[\s\-]+")


def header_name(text: str) -> str:
    """Header names are case-insensitive; ``Seller ID`` and ``seller-id`` mean ``seller_id``."""
    return _SEPARATORS.sub("_", text.replace("\ufeff", "").strip().lower())


def read_table(
    records: Iterable[Record],
    *,
    file: str,
    today: date,
    policy: Policy,
    ragged: bool = False,
    figures: bool = False,
) -> Iterator[Row | Figures | Issue]:
    """Yield a row or the issues of each record after the header, in order.

    ``records`` holds the non-blank records of the file, the header first (surrounding
    blanks in cells do not matter). ``ragged``: records come without their trailing empty
    cells (a spreadsheet), so only a record longer than the header is wrong. ``figures``:
    well-formed weekly indicators come as plain ``Figures``.
    """
    records = iter(records)
    first = next(records, None)
    if first is None:
        yield Issue(file, 0, 0, EMPTY_FILE)
        return
    header_line, header = first
    names = [header_name(cell) for cell in header]
    reader: IndicatorReader | RatingReader
    if "indicator" in names:
        reader = IndicatorReader(file, today, policy, figures=figures)
        expected = INDICATOR_COLUMNS
    elif "rating" in names or "date" in names:
        reader = RatingReader(file, today)
        expected = RATING_COLUMNS
    else:
        given = ", ".join(quoted(cell.strip()) for cell in header if cell.strip()) or "–"
        reason = Reason(
            N_(
                "the header (%(given)s) names neither weekly indicators (%(indicators)s) nor "
                "shop ratings (%(ratings)s)"
            ),
            given=given,
            indicators=", ".join(INDICATOR_COLUMNS),
            ratings=", ".join(RATING_COLUMNS),
        )
        yield Issue(file, header_line, 0, reason)
        return
    header_issues = list(_header_issues(file, header_line, header, names, expected))
    if header_issues:
        yield from header_issues
        return
    reader.locate({name: i for i, name in enumerate(names) if name in expected})
    width = len(names)
    read_row: _RowReader = reader.row
    empty = True
    for line, cells in records:
        empty = False
        if len(cells) != width:
            if not ragged:
                template = (
                    N_("has %(count)s field; the header has %(width)s")
                    if len(cells) == 1
                    else N_("has %(count)s fields; the header has %(width)s")
                )
                yield Issue(file, line, 0, Reason(template, count=len(cells), width=width))
                continue
            if len(cells) > width:
                yield Issue(
                    file,
                    line,
                    len(cells),
                    Reason(
                        N_(
                            "has a value in column %(column)s, beyond the header's %(width)s "
                            "columns"
                        ),
                        column=len(cells),
                        width=width,
                    ),
                )
                continue
            cells = cells + [""] * (width - len(cells))
        result = read_row(line, cells)
        if isinstance(result, list):
            yield from sorted(result, key=_by_column)
        else:
            yield result
    if empty:
        yield Issue(file, 0, 0, Reason(N_("the file has a header but no rows")))


def _by_column(issue: Issue) -> int:
    return issue.column


def _header_issues(
    file: str, line: int, header: list[str], names: list[str], expected: tuple[str, ...]
) -> Iterator[Issue]:
    seen: dict[str, int] = {}
    for column, name in enumerate(names, 1):
        if name in expected and name in seen:
            reason = Reason(
                N_(
                    "column %(name)s appears twice in the header (columns %(first)s and %(second)s)"
                ),
                name=repr(name),
                first=seen[name],
                second=column,
            )
            yield Issue(file, line, column, reason)
        seen.setdefault(name, column)
    missing = [name for name in expected if name not in seen and name not in _OPTIONAL]
    for name in missing:
        reason = Reason(N_("column %(name)s is missing from the header"), name=repr(name))
        yield Issue(file, line, 0, reason)
    if missing:
        # A column we do not know may be the missing one misspelt: named as the file has it.
        for column, (cell, name) in enumerate(zip(header, names, strict=True), 1):
            if name and name not in expected:
                reason = Reason(
                    N_("column %(given)s is not a known column; the columns are %(expected)s"),
                    given=quoted(cell.strip()),
                    expected=", ".join(expected),
                )
                yield Issue(file, line, column, reason)
