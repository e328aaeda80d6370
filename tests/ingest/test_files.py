"""The one entry point: kind by extension, size limit, display names, unreadable files."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bot.ingest import MAX_FILE_BYTES, Issue, file_kind
from tests.ingest.support import DATA, Read, issues, rows


def test_kind_by_extension_else_by_name() -> None:
    assert file_kind(Path("a.CSV")) == "csv"
    assert file_kind(Path("a.txt")) == "csv"
    assert file_kind(Path("a.xlsx")) == "xlsx"
    assert file_kind(Path("a.json")) == "json"
    assert file_kind(Path("upload-1234"), "week 46.csv") == "csv"
    assert file_kind(Path("a.xls")) is None


def test_unsupported_type(read: Read, tmp_path: Path) -> None:
    path = tmp_path / "week.xls"
    path.write_bytes(b"\xd0\xcf\x11\xe0")
    assert issues(read(path)) == [
        "week.xls:0:0: file type .xls is not supported; use .csv, .xlsx or .json"
    ]


def test_display_name_in_rows_and_issues(read: Read, tmp_path: Path) -> None:
    upload = tmp_path / "upload-1234"
    shutil.copy(DATA / "bad_ratings.csv", upload)
    assert issues(read(upload, name="ratings week 47.csv"))[0] == (
        "ratings week 47.csv:2:2: date 2026-11-23 lies in the future"
    )
    shutil.copy(DATA / "ratings.csv", upload)
    assert {row.file for row in rows(read(upload, name="r.csv"))} == {"r.csv"}


def test_a_txt_file_is_csv(read: Read, tmp_path: Path) -> None:
    path = tmp_path / "week.txt"
    shutil.copy(DATA / "indicators.csv", path)
    assert len(rows(read(path))) == 8


def test_too_big_is_refused_before_reading(read: Read, tmp_path: Path) -> None:
    path = tmp_path / "big.csv"
    with path.open("wb") as out:
        out.truncate(MAX_FILE_BYTES + 1024 * 1024)  # sparse: nothing is written or read
    assert read(path) == [Issue("big.csv", 0, 0, "the file is 21.0 MB; the limit is 20 MB")]


def test_missing_file(read: Read, tmp_path: Path) -> None:
    assert issues(read(tmp_path / "gone.csv")) == [
        "gone.csv:0:0: cannot be read: No such file or directory"
    ]


def test_empty_file_of_each_kind(read: Read, tmp_path: Path) -> None:
    for name in ("e.csv", "e.xlsx", "e.json"):
        (tmp_path / name).write_bytes(b"")
        assert issues(read(tmp_path / name)) == [f"{name}:0:0: the file is empty"]


def test_issue_text() -> None:
    assert str(Issue("a.csv", 3, 5, "numerator 'x' is not a whole number ≥ 0")) == (
        "a.csv:3:5: numerator 'x' is not a whole number ≥ 0"
    )


@pytest.mark.parametrize(
    "name",
    [
        "bad_bodies.json",
        "bad_indicators.csv",
        "bad_ratings.csv",
        "broken.json",
        "empty.csv",
        "header_only.csv",
        "latin1.csv",
        "missing_column.csv",
    ],
)
def test_every_reason_comes_from_the_catalogs(read: Read, name: str) -> None:
    """A chat says each reason in its own language: every issue carries its catalog text,
    translated in every language, with the English of the command line beside it."""
    from babel.messages.pofile import read_po

    from messages import LANGUAGES
    from messages.i18n import DOMAIN, LOCALE_DIR
    from messages.reasons import Reason

    def reasons(reason: Reason) -> list[Reason]:
        nested = [p for p in reason.params.values() if isinstance(p, Reason)]
        return [reason, *(r for n in nested for r in reasons(n))]

    issues = [item for item in read(name) if isinstance(item, Issue)]
    assert issues
    for lang in LANGUAGES:
        with (LOCALE_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.po").open("rb") as po:
            catalog = read_po(po)
        for issue in issues:
            assert isinstance(issue.reason, Reason), issue
            for reason in reasons(issue.reason):
                message = catalog.get(reason.template)
                assert message is not None and message.string, (lang, reason.template)
    dutch = [issue.reason.said_in("nl") for issue in issues if isinstance(issue.reason, Reason)]
    assert dutch != [str(issue.reason) for issue in issues]
