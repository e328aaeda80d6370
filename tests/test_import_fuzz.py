"""Random bytes and random mutations of valid files through ``normwacht import``.

Whatever the file holds, the import ends with exit 0 (imported) or 2 (refused, with a
reason), never 1 (an unexpected failure) and never a traceback; a refused file leaves
the database exactly as it was.
"""

from __future__ import annotations

import io
import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import openpyxl  # type: ignore[import-untyped]
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from openpyxl.utils.exceptions import IllegalCharacterError  # type: ignore[import-untyped]

from bot.cli.main import main

NOW = "2026-11-19T10:00:00+01:00"
HUGE = st.sampled_from([10**9, 10**9 + 1, 2**63 - 1, 2**63, 10**20, 10**30])
CSV_TEXTS = (
    st.text(max_size=10)
    | st.sampled_from(["9" * 20, "9" * 5000, "9223372036854775808", "1000000001", "0.99", "93.1%"])
    | HUGE.map(str)
)
CSV = (
    b"seller_id,year,week,indicator,numerator,denominator,value,norm\n"
    b"shop-1,2026,46,FULFILMENT,140,150,,0.93\n"
    b"shop-1,2026,46,RETURNS,6,200,3%,\n"
    b"shop-1;;2026-W45;REVIEWS;;12;8,4;8\n"
    b"shop-1,2026,47,TRACK_AND_TRACE,,,93.1%,\n"
)
RATINGS = (
    b"seller_id,date,rating,product_information,delivery_time,shipping,service,reviews,method\n"
    b"shop-1,2026-11-18,9.1,9.6,9.4,9.4,9.4,64,THREE_MONTHS\n"
)
BODY = {
    "seller_id": "shop-1",
    "performanceIndicators": [
        {
            "name": "FULFILMENT",
            "details": {
                "period": {"year": 2026, "week": 46},
                "score": {"numerator": 140, "denominator": 150, "value": 0.9333, "conforms": True},
                "norm": {"condition": ">=", "value": 0.93},
            },
        }
    ],
}
RETAILER = {
    "seller_id": "shop-1",
    "retailer": {
        "retailerRating": {"retailerRating": 9.1, "serviceRating": 9.0},
        "retailerReview": {"totalReviewCount": 64},
        "ratingMethod": "THREE_MONTHS",
        "topRetailer": False,
    },
}
HEADER = ["seller_id", "year", "week", "indicator", "numerator", "denominator", "value", "norm"]
ROW: list[object] = ["shop-1", 2026, 46, "FULFILMENT", 140, 150, None, 0.93]
SETTINGS = settings(
    max_examples=30,
    deadline=None,
    derandomize=True,  # the same examples every run: a failure is a failure, not bad luck
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.chdir(tmp_path)
    for name in ("TELEGRAM_BOT_TOKEN", "SLACK_BOT_TOKEN", "NORMWACHT_SECRET_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NORMWACHT_DB", str(tmp_path / "db.sqlite3"))
    monkeypatch.setenv("NORMWACHT_NOW", NOW)
    assert main(["seller", "add", "shop-1", "--name", "Shop One"]) == 0
    yield tmp_path


def dump(env: Path) -> list[str]:
    conn = sqlite3.connect(env / "db.sqlite3")
    try:
        return list(conn.iterdump())
    finally:
        conn.close()


def imports_or_refuses(
    env: Path, capsys: pytest.CaptureFixture[str], name: str, data: bytes
) -> int:
    """Import ``data`` as ``name``: exit 0 or 2, no traceback, and a refusal changes nothing."""
    path = env / name
    path.write_bytes(data)
    before = dump(env)
    capsys.readouterr()
    code = main(["import", str(path)])
    err = capsys.readouterr().err
    assert code in (0, 2), err
    assert "Traceback" not in err and "failed:" not in err
    if code == 2:
        assert err.rstrip().endswith("nothing was changed"), err
        assert dump(env) == before
    return code


def mutate(data: bytes, edits: list[tuple[int, int, bytes]]) -> bytes:
    """Apply (position, deleted length, inserted bytes) edits, positions wrapping around."""
    for position, deleted, inserted in edits:
        at = position % (len(data) + 1)
        data = data[:at] + inserted + data[at + deleted :]
    return data


EDITS = st.lists(
    st.tuples(
        st.integers(0, 10_000),
        st.integers(0, 8),
        st.binary(max_size=8)
        | st.sampled_from(
            [b"9" * 30, b"9" * 5000, b"%", b",", b";", b"\n", b'"', b"\xff", b"=1/0", b"-", b"e9"]
        ),
    ),
    min_size=1,
    max_size=6,
)
CELLS = (
    st.none()
    | HUGE
    | st.integers(-(10**30), 10**30)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=12)
    | st.sampled_from(
        ["=0.95", "=A1", "=1/0", "93%", "2026-W46", "FULFILMENT", "shop-1", "9" * 400]
    )
    | st.booleans()
)
JSON_LEAF = (
    st.none()
    | HUGE
    | st.booleans()
    | st.integers(-(10**30), 10**30)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=8)
)
JSON_VALUES = st.recursive(
    JSON_LEAF,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=6,
)


def leaf_paths(node: object, path: tuple[object, ...] = ()) -> Iterator[tuple[object, ...]]:
    """The path of every value in ``node``, containers too (they may be replaced whole)."""
    if path:
        yield path
    if isinstance(node, dict):
        for key, value in node.items():
            yield from leaf_paths(value, (*path, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from leaf_paths(value, (*path, index))


def replace_at(document: object, path: tuple[object, ...], value: object) -> None:
    """Replace the value at ``path`` (a path of ``leaf_paths``; gone when replaced before)."""
    node = document
    for step in path[:-1]:
        try:
            node = node[step]  # type: ignore[index]
        except (KeyError, IndexError, TypeError):
            return
    if isinstance(node, dict | list):
        try:
            node[path[-1]] = value  # type: ignore[index]
        except (IndexError, TypeError):
            return


def csv_fields(base: bytes) -> list[tuple[int, int]]:
    """(line, field) of every field of a CSV text."""
    return [
        (r, c) for r, line in enumerate(base.splitlines()) for c in range(len(line.split(b",")))
    ]


# The crashes once found, always among the examples: a count SQLite cannot hold, a number
# Python will not read, in each format.
CSV_DENOMINATOR = csv_fields(CSV).index((1, 5))
JSON_PATHS = list(leaf_paths(json.loads(json.dumps([BODY, RETAILER]))))
JSON_DENOMINATOR = JSON_PATHS.index(
    (0, "performanceIndicators", 0, "details", "score", "denominator")
)
JSON_REVIEWS = JSON_PATHS.index((1, "retailer", "retailerReview", "totalReviewCount"))


@SETTINGS
@given(name=st.sampled_from(["x.csv", "x.xlsx", "x.json"]), data=st.binary(max_size=600))
def test_random_bytes(
    env: Path, capsys: pytest.CaptureFixture[str], name: str, data: bytes
) -> None:
    imports_or_refuses(env, capsys, name, data)


@SETTINGS
@given(base=st.sampled_from([CSV, RATINGS]), edits=EDITS)
def test_mutated_csv(
    env: Path, capsys: pytest.CaptureFixture[str], base: bytes, edits: list[tuple[int, int, bytes]]
) -> None:
    imports_or_refuses(env, capsys, "w.csv", mutate(base, edits))


@SETTINGS
@given(
    base=st.sampled_from([CSV, RATINGS]),
    cells=st.lists(st.tuples(st.integers(0, 50), CSV_TEXTS), min_size=1, max_size=3),
)
@example(base=CSV, cells=[(CSV_DENOMINATOR, "1" * 20)])
@example(base=CSV, cells=[(CSV_DENOMINATOR, "9" * 5000)])
def test_csv_cells_replaced(
    env: Path, capsys: pytest.CaptureFixture[str], base: bytes, cells: list[tuple[int, str]]
) -> None:
    lines = [line.split(b",") for line in base.splitlines()]
    fields = csv_fields(base)
    for index, text in cells:
        r, c = fields[index % len(fields)]
        lines[r][c] = text.encode("utf-8", "surrogatepass")
    imports_or_refuses(env, capsys, "w.csv", b"\n".join(b",".join(line) for line in lines))


@SETTINGS
@given(cells=st.lists(st.tuples(st.integers(0, 7), CELLS), min_size=1, max_size=4))
@example(cells=[(5, 1e20)])
@example(cells=[(5, 2**63)])
def test_mutated_xlsx_cells(
    env: Path, capsys: pytest.CaptureFixture[str], cells: list[tuple[int, object]]
) -> None:
    row = list(ROW)
    for column, value in cells:
        row[column] = value
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(HEADER)
    try:
        sheet.append(row)
    except (IllegalCharacterError, ValueError, TypeError):
        return  # openpyxl cannot write that cell (illegal characters): no such file exists
    out = io.BytesIO()
    book.save(out)
    imports_or_refuses(env, capsys, "w.xlsx", out.getvalue())


@SETTINGS
@given(edits=EDITS)
def test_mutated_xlsx_bytes(
    env: Path, capsys: pytest.CaptureFixture[str], edits: list[tuple[int, int, bytes]]
) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(HEADER)
    sheet.append(ROW)
    out = io.BytesIO()
    book.save(out)
    imports_or_refuses(env, capsys, "w.xlsx", mutate(out.getvalue(), edits))


@SETTINGS
@given(
    leaves=st.lists(st.tuples(st.integers(0, 50), JSON_VALUES), min_size=1, max_size=3),
)
@example(leaves=[(JSON_DENOMINATOR, 10**30)])
@example(leaves=[(JSON_REVIEWS, 10**25)])
def test_json_leaves_replaced(
    env: Path, capsys: pytest.CaptureFixture[str], leaves: list[tuple[int, object]]
) -> None:
    document = json.loads(json.dumps([BODY, RETAILER]))
    for index, value in leaves:
        replace_at(document, JSON_PATHS[index % len(JSON_PATHS)], value)
    imports_or_refuses(env, capsys, "w.json", json.dumps(document).encode())


@SETTINGS
@given(edits=EDITS)
def test_mutated_json_bytes(
    env: Path, capsys: pytest.CaptureFixture[str], edits: list[tuple[int, int, bytes]]
) -> None:
    imports_or_refuses(env, capsys, "w.json", mutate(json.dumps([BODY, RETAILER]).encode(), edits))
