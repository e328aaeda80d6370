"""What a parsed file yields: valid rows, each with where it came from, and rejection reasons."""

from __future__ import annotations

from dataclasses import dataclass

from messages.reasons import N_, Number, Reason
from norms.bol import PerformanceStatus
from norms.model import Indicator, Measurement, ShopRating
from norms.weeks import IsoWeek


@dataclass(frozen=True, slots=True)
class Issue:
    """Why (part of) a file is rejected, and where: ``FILE:LINE:COLUMN: reason``.

    ``line`` and ``column`` are 1-based; 0 means the whole file (line) or the whole line
    (column). CSV: physical line, header is line 1, column is the field number. XLSX: sheet
    row and column (shown as ``cell D5``). JSON: line and column where the offending object
    or field starts.
    """

    file: str
    line: int
    column: int
    reason: str  # a messages.reasons.Reason wherever a person may read it in a chat
    # A spreadsheet's positions are named as the spreadsheet names them: cell D5, row 5.
    spreadsheet: bool = False

    def __str__(self) -> str:
        if self.spreadsheet and self.line:
            if self.column:
                return f"{self.file}: cell {column_letters(self.column)}{self.line}: {self.reason}"
            return f"{self.file}: row {self.line}: {self.reason}"
        return f"{self.file}:{self.line}:{self.column}: {self.reason}"

    @property
    def cell(self) -> str:
        """The spreadsheet's name of the position: ``D5``."""
        return f"{column_letters(self.column)}{self.line}"


# Reasons that several readers give.
EMPTY_FILE = Reason(N_("the file is empty"))
NOT_UTF8 = Reason(N_("not UTF-8 text"))


def too_big(size: int, limit: int) -> Reason:
    """The reason a file of ``size`` bytes is refused: the limit is ``limit`` bytes."""
    return Reason(
        N_("the file is %(size)s MB; the limit is %(limit)s MB"),
        size=Number(size / 1024 / 1024, 1),
        limit=limit // 1024 // 1024,
    )


def cannot_read(exc: OSError) -> Reason:
    """The reason a file the system could not read is refused."""
    return Reason(N_("cannot be read: %(detail)s"), detail=exc.strerror or str(exc))


def column_letters(column: int) -> str:
    """A 1-based column number as a spreadsheet's letters: 1 is A, 27 is AA."""
    letters = ""
    while column > 0:
        column, rest = divmod(column - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters


@dataclass(frozen=True, slots=True)
class MeasurementRow:
    """One weekly indicator of one seller, valid as far as the file alone can tell."""

    seller_id: str
    measurement: Measurement
    file: str
    line: int
    seller_column: int


@dataclass(frozen=True, slots=True)
class RatingRow:
    """One shop rating of one seller, valid as far as the file alone can tell."""

    seller_id: str
    rating: ShopRating
    file: str
    line: int
    seller_column: int


@dataclass(frozen=True, slots=True)
class StatusRow:
    """One snapshot of bol.com's own verdict (a performance-status body) of one seller,
    fetched at ``status.fetched_at``."""

    seller_id: str
    status: PerformanceStatus
    file: str
    line: int
    seller_column: int


Row = MeasurementRow | RatingRow | StatusRow

# A weekly indicator of a table (CSV, XLSX) as valid as a ``MeasurementRow``, as plain
# values for an import that stores it at once: (seller_id, week, indicator, numerator,
# denominator, value, norm, file, line, seller_column). Building the row objects took
# about as long as reading the figures out of the text.
Figures = tuple[
    str, IsoWeek, Indicator, int | None, int | None, float | None, float | None, str, int, int
]
