"""XLSX workbooks: the first sheet, read row by row, after the archive is checked for bombs."""

from __future__ import annotations

import dataclasses
import re
import warnings
import zipfile
from collections.abc import Callable, Generator, Iterable, Iterator
from datetime import date, datetime, time
from itertools import islice
from pathlib import Path
from typing import Any

import openpyxl

from bot.ingest.rows import Figures, Issue, Row
from bot.ingest.tables import Record, read_table
from messages.reasons import N_, Number, Reason
from norms.policy import Policy

Progress = Callable[[int, int], None]

MAX_UNCOMPRESSED_BYTES = 200 * 1024 * 1024
MAX_COMPRESSION_RATIO = 100
MAX_ROWS = 2_000_000
MAX_PARTS = 10_000
# Tiny parts (styles, a short sheet) compress far better than 100:1 and are harmless.
_RATIO_FLOOR_BYTES = 1024 * 1024
_BATCH = 1000
_CHUNK = 1024 * 1024
_ROW_TAG = re.compile(rb"<(?:\w{1,16}:)?row[\s/>]")
_FORMULA_TAG = re.compile(rb"<(?:\w{1,16}:)?f[\s/>]")
# A formula cell without a computed value reaches the table readers as this mark and the
# formula: text that no cell reader accepts (a control character), so the row is refused
# at that cell whatever the column, and the reason is then replaced by the true one.
_FORMULA_MARK = "\x00"
_MIB = 1024 * 1024


class _Unreadable(Exception):
    """The sheet cannot be read further; ``line`` 0 means the whole file."""

    def __init__(self, line: int, reason: Reason) -> None:
        super().__init__(reason)
        self.line, self.reason = line, reason


def read_xlsx(
    path: Path,
    *,
    file: str,
    today: date,
    policy: Policy,
    progress: Progress | None = None,
    figures: bool = False,
) -> Iterator[Row | Figures | Issue]:
    """Yield the rows and issues of the first sheet; progress counts rows (``figures``:
    see ``read_table``)."""
    reason = archive_problem(path)
    if reason is not None:
        yield Issue(file, 0, 0, reason)
        return
    try:
        with warnings.catch_warnings():
            # openpyxl warns about features it drops (styles, extensions); none matter here.
            warnings.simplefilter("ignore")
            workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a broken workbook
        yield Issue(file, 0, 0, _unreadable(exc))
        return
    formulas: Generator[tuple[Any, ...], None, None] | None = None
    try:
        if not workbook.worksheets:
            yield Issue(file, 0, 0, Reason(N_("the workbook has no worksheet")))
            return
        sheet = workbook.worksheets[0]
        declared = sheet.max_row or 0
        if declared > MAX_ROWS:
            reason = Reason(
                N_("the first sheet declares %(rows)s rows; the limit is %(limit)s"),
                rows=Number(declared),
                limit=Number(MAX_ROWS),
            )
            yield Issue(file, 0, 0, reason)
            return
        # Some writers declare a wrong dimension; openpyxl would cut the rows off there.
        sheet.reset_dimensions()
        formula_cells: set[tuple[int, int]] = set()
        try:
            if _has_formulas(path):
                formulas = _formula_rows(path)
            records = _sheet_records(sheet, declared, progress, formulas, formula_cells)
            items = read_table(
                records, file=file, today=today, policy=policy, ragged=True, figures=figures
            )
            for item in items:
                if isinstance(item, Issue):
                    item = _in_cells(item, formula_cells)
                yield item
        except _Unreadable as exc:
            yield Issue(file, exc.line, 0, exc.reason, spreadsheet=True)
    finally:
        if formulas is not None:
            formulas.close()
        workbook.close()
    if progress is not None:
        progress(declared, declared)


def _in_cells(issue: Issue, formula_cells: set[tuple[int, int]]) -> Issue:
    """The issue named by cell; at a formula without a value, that is the reason."""
    if (issue.line, issue.column) in formula_cells:
        reason = Reason(
            N_(
                "the cell holds a formula without a computed value; open and save the file in "
                "Excel, or enter the number"
            )
        )
        return Issue(issue.file, issue.line, issue.column, reason, spreadsheet=True)
    return dataclasses.replace(issue, spreadsheet=True)


def _has_formulas(path: Path) -> bool:
    """Whether any worksheet part holds a formula (most files hold none: no second read)."""
    try:
        return _scan_formulas(path)
    except Exception as exc:  # a part whose data is broken (bad deflate stream, CRC)
        raise _Unreadable(0, _unreadable(exc)) from exc


def _scan_formulas(path: Path) -> bool:
    with zipfile.ZipFile(path) as archive:
        for part in archive.infolist():
            if not part.filename.startswith("xl/worksheets/"):
                continue
            pending = b""
            with archive.open(part) as source:
                while chunk := source.read(_CHUNK):
                    data = pending + chunk
                    if _FORMULA_TAG.search(data) is not None:
                        return True
                    pending = data[-32:]  # a tag cut by the chunk is found with the next one
    return False


def _formula_rows(path: Path) -> Generator[tuple[Any, ...], None, None]:
    """The first sheet's rows with formulas as written (``=0.95``), beside the values."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=False)
    try:
        sheet = workbook.worksheets[0]
        sheet.reset_dimensions()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield from sheet.iter_rows(values_only=True)
    finally:
        workbook.close()


def archive_problem(path: Path) -> Reason | None:
    """Why the zip archive must not be opened (a zip bomb, not a zip), or None."""
    try:
        with zipfile.ZipFile(path) as archive:
            parts = archive.infolist()
            problem = _size_problem(parts)
            if problem is None:
                problem = _rows_problem(archive, parts)
            return problem
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError):
        return Reason(N_("is not an XLSX workbook (not a zip archive)"))
    except (NotImplementedError, RuntimeError) as exc:  # compression method, encryption
        return _unreadable(exc)


def _size_problem(parts: list[zipfile.ZipInfo]) -> Reason | None:
    if len(parts) > MAX_PARTS:
        return Reason(
            N_("the workbook has %(parts)s parts; the limit is %(limit)s"),
            parts=Number(len(parts)),
            limit=Number(MAX_PARTS),
        )
    unpacked = sum(part.file_size for part in parts)
    if unpacked > MAX_UNCOMPRESSED_BYTES:
        return Reason(
            N_("the workbook unpacks to %(size)s MB; the limit is %(limit)s MB (a zip bomb?)"),
            size=Number(unpacked / _MIB),
            limit=Number(MAX_UNCOMPRESSED_BYTES // _MIB),
        )
    for part in parts:
        ratio = part.file_size / max(part.compress_size, 1)
        if part.file_size > _RATIO_FLOOR_BYTES and ratio > MAX_COMPRESSION_RATIO:
            return Reason(
                N_(
                    "part %(part)s is compressed %(ratio)s:1; the limit is %(limit)s:1 "
                    "(a zip bomb?)"
                ),
                part=part.filename,
                ratio=Number(ratio),
                limit=MAX_COMPRESSION_RATIO,
            )
    return None


def _rows_problem(archive: zipfile.ZipFile, parts: list[zipfile.ZipInfo]) -> Reason | None:
    """Count the rows of every sheet part without parsing it (the declared size may lie).

    openpyxl reads each sheet once at load time when it declares no dimension, keeping
    every row element; counting ``<row`` tags first bounds that.
    """
    for part in parts:
        # a part too small to hold MAX_ROWS rows (each <row/> takes 6 bytes) needs no count
        if not part.filename.endswith(".xml") or part.file_size <= 6 * MAX_ROWS:
            continue
        rows, pending = 0, b""
        with archive.open(part) as source:
            while chunk := source.read(_CHUNK):
                data = pending + chunk
                end = data.rfind(b">") + 1  # a tag cut by the chunk waits for the next one
                rows += len(_ROW_TAG.findall(data, 0, end))
                pending = data[end:][-_CHUNK:]
                if rows > MAX_ROWS:
                    return Reason(
                        N_("part %(part)s has more than %(limit)s rows"),
                        part=part.filename,
                        limit=Number(MAX_ROWS),
                    )
    return None


def _sheet_records(
    sheet: Any,
    declared: int,
    progress: Progress | None,
    formulas: Iterator[tuple[Any, ...]] | None,
    formula_cells: set[tuple[int, int]],
) -> Iterator[Record]:
    """The non-blank rows of the sheet as stripped text, each with its row number.

    ``formulas`` are the same rows with formulas as written; a formula cell without a
    computed value is marked, and its (row, column) added to ``formula_cells``.
    """
    rows = sheet.iter_rows(values_only=True)
    number = 0
    while True:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                batch = list(islice(rows, _BATCH))
        except Exception as exc:  # a broken sheet part
            raise _Unreadable(0, _unreadable(exc)) from exc
        if not batch:
            return
        for values in batch:
            number += 1
            cells = [_text(value) for value in values]
            if formulas is not None:
                try:
                    written = next(formulas, ())
                except Exception as exc:  # the same broken part, read the second time
                    reason = _unreadable(exc)
                    raise _Unreadable(0, reason) from exc
                _mark_formulas(number, cells, written, formula_cells)
            while cells and not cells[-1]:
                cells.pop()
            if cells:
                yield number, cells
        if number > MAX_ROWS:
            reason = Reason(
                N_("the first sheet has more than %(limit)s rows"), limit=Number(MAX_ROWS)
            )
            raise _Unreadable(0, reason)
        if progress is not None:
            progress(number, max(declared, number))


def _mark_formulas(
    number: int, cells: list[str], written: Iterable[Any], formula_cells: set[tuple[int, int]]
) -> None:
    for column, formula in enumerate(written, 1):
        if isinstance(formula, str) and formula.startswith("="):
            if column > len(cells):
                cells.extend([""] * (column - len(cells)))
            if not cells[column - 1]:
                cells[column - 1] = _FORMULA_MARK + formula
                formula_cells.add((number, column))


def _text(value: object) -> str:
    """A cell value as the text a CSV would hold (integral numbers without ``.0``)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, bool):
        return str(value).upper()
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    if isinstance(value, float):
        # Positional, never "5e-05": the cell readers take plain decimals only.
        return format(value, ".15f").rstrip("0").rstrip(".")
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time() else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return str(value).strip()


def _unreadable(exc: Exception) -> Reason:
    return Reason(N_("is not a readable XLSX workbook (%(detail)s)"), detail=_describe(exc))


def _describe(exc: Exception) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
