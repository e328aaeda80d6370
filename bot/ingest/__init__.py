"""Strict, streaming readers of uploaded and imported files (CSV, XLSX, JSON)."""

from bot.ingest.files import MAX_FILE_BYTES, file_kind, read_file
from bot.ingest.rows import Figures, Issue, MeasurementRow, RatingRow, Row, StatusRow

__all__ = [
    "MAX_FILE_BYTES",
    "Figures",
    "Issue",
    "MeasurementRow",
    "RatingRow",
    "Row",
    "StatusRow",
    "file_kind",
    "read_file",
]
