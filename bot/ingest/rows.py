"""What a parsed file yields: valid rows, each with where it came from, and rejection reasons."""

from __future__ import annotations

from dataclasses import dataclass

from norms.model import Measurement, ShopRating


@dataclass(frozen=True, slots=True)
class Issue:
    """Why (part of) a file is rejected, and where: ``FILE:LINE:COLUMN: reason``.

    ``line`` and ``column`` are 1-based; 0 means the whole file (line) or the whole line
    (column). CSV: physical line, header is line 1, column is the field number. XLSX: sheet
    row and column. JSON: line and column where the offending object or field starts.
    """

    file: str
    line: int
    column: int
    reason: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}: {self.reason}"


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


Row = MeasurementRow | RatingRow
