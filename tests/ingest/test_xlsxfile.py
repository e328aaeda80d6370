"""XLSX workbooks: the first sheet only, typed cells, and zip bombs refused before parsing."""

from __future__ import annotations

import zipfile
from collections.abc import Sequence
from datetime import date, datetime
from pathlib import Path

import openpyxl  # type: ignore[import-untyped]
import pytest

from bot.ingest import MeasurementRow, RatingRow, xlsxfile
from norms.model import Indicator, Measurement, ShopRating
from norms.weeks import IsoWeek
from tests.ingest.support import Read, issues, rows

HEADER = ["Seller_id", "Year", "Week", "Indicator", "Numerator", "Denominator", "Value", "Norm"]
SHEET = "xl/worksheets/sheet1.xml"


def workbook(path: Path, *sheets: Sequence[Sequence[object]]) -> Path:
    """Write a workbook with one sheet per list of rows (None leaves a row empty)."""
    book = openpyxl.Workbook()
    for number, sheet_rows in enumerate(sheets):
        sheet = book.active if number == 0 else book.create_sheet(f"Sheet{number + 1}")
        assert sheet is not None
        for row_number, values in enumerate(sheet_rows, 1):
            for column, value in enumerate(values, 1):
                if value is not None:
                    sheet.cell(row=row_number, column=column, value=value)
    book.save(path)
    book.close()
    return path


def rewrite(path: Path, part: str, change: bytes | None = None, **replace: bytes) -> None:
    """Replace one part of the archive: with ``change``, or by replacing bytes in it."""
    with zipfile.ZipFile(path) as archive:
        parts = {info.filename: archive.read(info) for info in archive.infolist()}
    if change is not None:
        parts[part] = change
    for old, new in replace.items():
        parts[part] = parts[part].replace(old.encode(), new)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in parts.items():
            archive.writestr(name, data)


def test_first_sheet_with_numbers_percentages_and_a_gap(read: Read, tmp_path: Path) -> None:
    path = workbook(
        tmp_path / "week.xlsx",
        [
            HEADER,
            ["shop-1", 2026, 46, "FULFILMENT", 135, 150, None, 0.93],
            [],  # an empty row keeps its number
            ["shop-1", 2026, 46, "REVIEWS", None, 12.0, 8.4, 8],
            ["shop-2", None, "2026-W47", "cancellations", None, None, "2%", "2%"],
        ],
        [["not", "read"], ["at", "all"]],
    )
    items = read(path)
    assert issues(items) == []
    assert [(row.seller_id, row.line) for row in rows(items)] == [
        ("shop-1", 2),
        ("shop-1", 4),
        ("shop-2", 5),
    ]
    assert [row.measurement for row in rows(items) if isinstance(row, MeasurementRow)] == [
        Measurement(Indicator.FULFILMENT, IsoWeek(2026, 46), 135, 150, None, 0.93),
        Measurement(Indicator.REVIEWS, IsoWeek(2026, 46), None, 12, 8.4, 8.0),
        Measurement(Indicator.CANCELLATIONS, IsoWeek(2026, 47), None, None, 0.02, 0.02),
    ]


def test_shop_ratings_with_date_cells(read: Read, tmp_path: Path) -> None:
    header = ["seller_id", "date", "rating", "product_information", "delivery_time"]
    header += ["shipping", "service", "reviews", "method"]
    path = workbook(
        tmp_path / "ratings.xlsx",
        [header, ["shop-1", datetime(2026, 11, 18), 9.1, 9.6, None, None, None, 64, "ALL_REVIEWS"]],
    )
    assert rows(read(path)) == [
        RatingRow(
            "shop-1",
            ShopRating(date(2026, 11, 18), 9.1, {"product_information": 9.6}, 64, "ALL_REVIEWS"),
            "ratings.xlsx",
            2,
            1,
        )
    ]


def test_bad_cells_name_row_and_column(read: Read, tmp_path: Path) -> None:
    path = workbook(
        tmp_path / "bad.xlsx",
        [
            HEADER,
            ["shop-1", 2026, 46, "FULFILMENT", 135.5, 150, None, None],
            ["shop-1", 2026, 46, "FULFILMENT", 135, 150, None, None, "extra"],
            [None, 2026, 48, "RETURNS", 1, 2, None, None],
        ],
    )
    assert issues(read(path)) == [
        "bad.xlsx: cell E2: numerator '135.5' is not a whole number ≥ 0",
        "bad.xlsx: cell I3: has a value in column 9, beyond the header's 8 columns",
        "bad.xlsx: cell A4: seller_id is empty",
        "bad.xlsx: cell C4: week 2026-W48 lies in the future (it starts on 2026-11-23)",
    ]


def test_empty_workbook(read: Read, tmp_path: Path) -> None:
    path = workbook(tmp_path / "empty.xlsx", [])
    assert issues(read(path)) == ["empty.xlsx:0:0: the file is empty"]


def test_progress_counts_rows(read: Read, tmp_path: Path) -> None:
    path = workbook(
        tmp_path / "week.xlsx", [HEADER, ["shop-1", 2026, 46, "FULFILMENT", 135, 150, None, None]]
    )
    reports: list[tuple[int, int]] = []
    read(path, progress=lambda done, total: reports.append((done, total)))
    assert reports[-1] == (2, 2)


def test_not_a_zip_archive(read: Read, tmp_path: Path) -> None:
    path = tmp_path / "fake.xlsx"
    path.write_text("seller_id,year\n", encoding="utf-8")
    assert issues(read(path)) == ["fake.xlsx:0:0: is not an XLSX workbook (not a zip archive)"]


def test_a_zip_that_is_not_a_workbook(read: Read, tmp_path: Path) -> None:
    path = tmp_path / "other.xlsx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("hello.txt", "hello")
    [issue] = issues(read(path))
    assert issue.startswith("other.xlsx:0:0: is not a readable XLSX workbook (")


def test_zip_bomb_refused_by_compression_ratio(read: Read, tmp_path: Path) -> None:
    path = workbook(tmp_path / "bomb.xlsx", [HEADER])
    # 30 MB of one repeated row compresses to some 30 kB: far beyond 100:1
    row = b'<row><c t="inlineStr"><is><t>shop-1</t></is></c></row>'
    filler = row * (30 * 1024 * 1024 // len(row))
    rewrite(path, SHEET, **{"</sheetData>": filler + b"</sheetData>"})
    assert path.stat().st_size < 1024 * 1024
    [issue] = issues(read(path))
    assert issue.startswith("bomb.xlsx:0:0: part xl/worksheets/sheet1.xml is compressed ")
    assert issue.endswith(":1; the limit is 100:1 (a zip bomb?)")


def test_zip_bomb_refused_by_total_size(
    read: Read, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = workbook(tmp_path / "big.xlsx", [HEADER])
    monkeypatch.setattr(xlsxfile, "MAX_UNCOMPRESSED_BYTES", 1024)
    [issue] = issues(read(path))
    assert issue.startswith("big.xlsx:0:0: the workbook unpacks to ")
    assert issue.endswith("; the limit is 0 MB (a zip bomb?)")


def test_declared_rows_beyond_the_limit(read: Read, tmp_path: Path) -> None:
    path = workbook(tmp_path / "tall.xlsx", [HEADER, ["shop-1"]])
    rewrite(path, SHEET, **{'ref="A1:H2"': b'ref="A1:H3000000"'})
    assert issues(read(path)) == [
        "tall.xlsx:0:0: the first sheet declares 3,000,000 rows; the limit is 2,000,000"
    ]


def test_rows_counted_before_parsing(
    read: Read, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A sheet that declares no size (or a wrong one) is counted before openpyxl reads it."""
    path = workbook(tmp_path / "tall.xlsx", [HEADER, *[["shop-1", 2026, 46, "FULFILMENT"]] * 5])
    rewrite(path, SHEET, **{'<dimension ref="A1:H6" />': b""})
    monkeypatch.setattr(xlsxfile, "MAX_ROWS", 5)
    assert issues(read(path)) == [
        "tall.xlsx:0:0: part xl/worksheets/sheet1.xml has more than 5 rows"
    ]


def test_rows_beyond_the_limit_while_reading(
    read: Read, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = workbook(tmp_path / "tall.xlsx", [HEADER, *[["shop-1", 2026, 46, "FULFILMENT"]] * 5])
    rewrite(path, SHEET, **{'<dimension ref="A1:H6" />': b""})
    monkeypatch.setattr(xlsxfile, "MAX_ROWS", 3)
    monkeypatch.setattr(xlsxfile, "_rows_problem", lambda archive, parts: None)
    assert issues(read(path))[-1] == "tall.xlsx:0:0: the first sheet has more than 3 rows"


def test_tiny_fractions_are_read_as_decimals(read: Read, tmp_path: Path) -> None:
    path = workbook(
        tmp_path / "tiny.xlsx",
        [HEADER, ["shop-1", 2026, 46, "CANCELLATIONS", None, None, 0.00005, 0.02]],
    )
    items = read(path)
    assert issues(items) == []
    [row] = rows(items)
    assert isinstance(row, MeasurementRow) and row.measurement.value == 0.00005


def test_a_sheet_broken_late_in_the_archive_is_refused_not_a_crash(
    read: Read, tmp_path: Path
) -> None:
    path = workbook(
        tmp_path / "broken.xlsx",
        [HEADER, *([f"shop-{i}", 2026, 46, "FULFILMENT", i % 150, 150] for i in range(3000))],
    )
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as archive:
        part = archive.getinfo(SHEET)
    start = part.header_offset + 30 + len(part.filename.encode()) + len(part.extra)
    data[start + part.compress_size - 100] ^= 0xFF  # past what opening the workbook reads
    path.write_bytes(bytes(data))
    found = read(path)
    assert rows(found) == []
    [problem] = issues(found)
    assert problem.startswith("broken.xlsx:0:0: is not a readable XLSX workbook (")


def test_a_formula_without_a_value_in_any_column_refuses_the_row(
    read: Read, tmp_path: Path
) -> None:
    path = workbook(
        tmp_path / "w45.xlsx",
        [
            HEADER,
            ["=A9", 2026, 45, "FULFILMENT", 140, 150, None, None],  # would be a seller "=A9"
            ["shop-1", 2026, 45, "RETURNS", 6, 200, None, "=0.05"],
            ["shop-1", 2026, 45, "CANCELLATIONS", 1, 150, None, None, "=1+1"],  # beyond the header
        ],
    )
    why = (
        "the cell holds a formula without a computed value; open and save the file in Excel, "
        "or enter the number"
    )
    assert issues(read(path)) == [
        f"w45.xlsx: cell A2: {why}",
        f"w45.xlsx: cell H3: {why}",
        f"w45.xlsx: cell I4: {why}",
    ]
