"""CSV files, streamed: UTF-8 with or without BOM, `,` or `;` sniffed from the header line."""

from __future__ import annotations

import csv
import io
import itertools
import re
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import BinaryIO

from bot.ingest.rows import NOT_UTF8, Figures, Issue, Row
from bot.ingest.tables import Record, read_table
from messages.reasons import N_, Number, Reason
from norms.policy import Policy

Progress = Callable[[int, int], None]

# Report progress every this many records: often enough for a progress bar, cheap enough.
_PROGRESS_EVERY = 8192


def read_csv(
    path: Path,
    *,
    file: str,
    today: date,
    policy: Policy,
    progress: Progress | None = None,
    figures: bool = False,
) -> Iterator[Row | Figures | Issue]:
    """Yield the rows and issues of a CSV file in file order, in bounded memory
    (``figures``: see ``read_table``)."""
    total = path.stat().st_size
    with path.open("rb") as raw, io.TextIOWrapper(raw, encoding="utf-8-sig", newline="") as text:
        records = _CsvRecords(text, raw, total, progress)
        try:
            yield from read_table(records, file=file, today=today, policy=policy, figures=figures)
        except UnicodeDecodeError:
            yield Issue(file, 0, 0, NOT_UTF8)
        except csv.Error as exc:
            yield Issue(file, records.line + 1, 0, _not_csv(exc))
    if progress is not None:
        progress(total, total)


class _CsvRecords:
    """The non-blank records of a CSV text, each with the physical line it starts on."""

    def __init__(
        self, text: io.TextIOWrapper, raw: BinaryIO, total: int, progress: Progress | None
    ) -> None:
        self.text, self.raw, self.total, self.progress = text, raw, total, progress
        self.line = 0

    def __iter__(self) -> Iterator[Record]:
        leading: list[str] = []
        first = self.text.readline()
        while first and not first.strip():  # the header decides; blank lines before it do not
            leading.append(first)
            first = self.text.readline()
        delimiter = ";" if first.count(";") > first.count(",") else ","
        reader = csv.reader(itertools.chain(leading, (first,), self.text), delimiter=delimiter)
        progress, count = self.progress, 0
        for fields in reader:
            start = self.line + 1
            self.line = reader.line_num
            if not any(fields):
                continue  # a blank line, or one with only delimiters
            yield start, fields
            count += 1
            if progress is not None and count % _PROGRESS_EVERY == 0:
                progress(self.raw.tell(), self.total)


# What Python's csv module says, as the catalog says it; anything else is shown as it is.
_CSV_ERRORS = {
    "line contains NUL": N_("the line contains a NUL character"),
    "unexpected end of data": N_("the file ends inside a quoted field"),
    "new-line character seen in unquoted field": N_("a line break inside an unquoted field"),
}
_FIELD_LIMIT = re.compile(r"field larger than field limit \((\d+)\)")


def _not_csv(exc: csv.Error) -> Reason:
    text = str(exc)
    detail: str = text
    for start, said in _CSV_ERRORS.items():
        if text.startswith(start):
            detail = Reason(said)
    limit = _FIELD_LIMIT.fullmatch(text)
    if limit is not None:
        detail = Reason(
            N_("a field is longer than %(limit)s characters"), limit=Number(int(limit.group(1)))
        )
    return Reason(N_("is not valid CSV: %(detail)s"), detail=detail)
