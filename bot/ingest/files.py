"""One entry point for every uploaded or imported file: CSV, XLSX or JSON, checked strictly."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Literal, overload

from bot.ingest.csvfile import read_csv
from bot.ingest.jsonfile import read_json
from bot.ingest.rows import EMPTY_FILE, Figures, Issue, Row, cannot_read, too_big
from bot.ingest.xlsxfile import read_xlsx
from messages.reasons import N_, Reason
from norms.policy import Policy

MAX_FILE_BYTES = 20 * 1024 * 1024

_KINDS = {".csv": "csv", ".txt": "csv", ".xlsx": "xlsx", ".json": "json"}


def file_kind(path: Path, name: str | None = None) -> str | None:
    """``csv``, ``xlsx`` or ``json`` by extension (of ``path``, else of ``name``); else None."""
    kind = _KINDS.get(path.suffix.lower())
    if kind is None and name is not None:
        kind = _KINDS.get(Path(name).suffix.lower())
    return kind


@overload
def read_file(
    path: Path,
    *,
    today: date,
    policy: Policy,
    name: str | None = None,
    progress: Callable[[int, int], None] | None = None,
    now: datetime | None = None,
    figures: Literal[False] = False,
) -> Iterator[Row | Issue]: ...


@overload
def read_file(
    path: Path,
    *,
    today: date,
    policy: Policy,
    name: str | None = None,
    progress: Callable[[int, int], None] | None = None,
    now: datetime | None = None,
    figures: bool,
) -> Iterator[Row | Figures | Issue]: ...


def read_file(
    path: Path,
    *,
    today: date,
    policy: Policy,
    name: str | None = None,
    progress: Callable[[int, int], None] | None = None,
    now: datetime | None = None,
    figures: bool = False,
) -> Iterator[Row | Figures | Issue]:
    """Stream a CSV/XLSX/JSON file: yields valid rows and Issues in file order.

    Kind by extension (.csv/.txt -> CSV, .xlsx -> XLSX, .json -> JSON) and, for CSV/XLSX, by
    header (indicators vs shop ratings). progress(done, total) reports bytes (or rows for XLSX).
    ``name`` is how issues name the file (default: the file name of ``path``). ``now``: the
    import's moment, when a bol.com snapshot in a JSON file says nothing of when it was fetched.
    ``figures``: a table's well-formed weekly indicators come as plain ``Figures`` (for an
    import, which stores them at once), not as ``MeasurementRow``.
    """
    file = name if name is not None else path.name
    kind = file_kind(path, name)
    if kind is None:
        suffix = path.suffix or Path(file).suffix or "(none)"
        reason = Reason(
            N_("file type %(suffix)s is not supported; use .csv, .xlsx or .json"), suffix=suffix
        )
        yield Issue(file, 0, 0, reason)
        return
    try:
        size = path.stat().st_size
    except OSError as exc:
        yield Issue(file, 0, 0, cannot_read(exc))
        return
    if size > MAX_FILE_BYTES:
        yield Issue(file, 0, 0, too_big(size, MAX_FILE_BYTES))
        return
    if size == 0:
        yield Issue(file, 0, 0, EMPTY_FILE)
        return
    try:
        if kind == "json":
            yield from read_json(
                path, file=file, today=today, policy=policy, progress=progress, now=now
            )
        else:
            reader = read_csv if kind == "csv" else read_xlsx
            yield from reader(
                path, file=file, today=today, policy=policy, progress=progress, figures=figures
            )
    except OSError as exc:
        yield Issue(file, 0, 0, cannot_read(exc))
