"""JSON files: Retailer API v10 bodies wrapped with the seller, rejected with positions
(v11 bodies: tests/ingest/test_v11.py)."""

from __future__ import annotations

from pathlib import Path

from bot.ingest import MeasurementRow, RatingRow
from norms.model import Indicator, Measurement, ShopRating
from norms.weeks import IsoWeek
from tests.ingest.support import DATA, TODAY, Read, issues, rows

W46 = IsoWeek(2026, 46)
SHAPE = (
    "an object with seller_id and one of performanceIndicators, retailer, kpiScore, "
    "performanceStatus or ratings"
)


def test_performance_indicators_body(read: Read) -> None:
    items = read("performance.json")
    assert issues(items) == []
    # PHONE_AVAILABILITY has no score (no calls that week): no row (absence is not a
    # figure, NORMS.md §1), and no issue
    assert rows(items) == [
        MeasurementRow(
            "shop-1",
            Measurement(Indicator.FULFILMENT, W46, 135, 150, 0.9, 0.93, ">=", False),
            "performance.json",
            4,
            5,
        ),
        MeasurementRow(
            "shop-1",
            Measurement(Indicator.CANCELLATIONS, W46, 3, 150, 0.02, 0.02, "<=", True),
            "performance.json",
            13,
            5,
        ),
        MeasurementRow(
            "shop-1",
            Measurement(Indicator.REVIEWS, W46, 101, 12, 8.4, 8.0, ">=", True),
            "performance.json",
            22,
            5,
        ),
    ]


def test_retailer_body_is_a_rating_of_today(read: Read) -> None:
    assert read("retailer.json") == [
        RatingRow(
            "shop-2",
            ShopRating(
                on=TODAY,
                rating=9.1,
                aspects={
                    "product_information": 9.6,
                    "delivery_time": 9.4,
                    "shipping": 9.4,
                    "service": 9.0,
                },
                reviews=64,
                method="THREE_MONTHS",
                top_retailer=True,
            ),
            "retailer.json",
            3,
            15,
        )
    ]


def test_a_list_of_bodies(read: Read) -> None:
    items = read("bodies.json")
    assert issues(items) == []
    assert rows(items) == [
        MeasurementRow(
            "shop-1",
            Measurement(Indicator.RETURNS, IsoWeek(2026, 47), 2, 80, 0.025, 0.05, "<=", True),
            "bodies.json",
            3,
            5,
        ),
        RatingRow(
            "shop-2",
            ShopRating(TODAY, 7.5, {"product_information": 8.0}, 4, "ALL_REVIEWS", False),
            "bodies.json",
            8,
            39,
        ),
        # shop-3 has no retailerRating yet: nothing to import, nothing wrong
    ]


def test_every_bad_body_is_reported_where_it_starts(read: Read) -> None:
    known = (
        "FULFILMENT, CANCELLATIONS, RESPONSE_TIME, PHONE_AVAILABILITY, TRACK_AND_TRACE, "
        "CASE_ITEM_RATIO, RETURNS, REVIEWS, HANDOVER, ON_TIME"
    )
    assert issues(read("bad_bodies.json")) == [
        "bad_bodies.json:2:3: seller_id is missing",
        f"bad_bodies.json:4:14: indicator 'FULLFILMENT' is unknown; use one of {known}",
        "bad_bodies.json:5:50: week 2026-W48 lies in the future (it starts on 2026-11-23)",
        "bad_bodies.json:8:30: numerator 160 is greater than denominator 150",
        "bad_bodies.json:8:64: value 1.07 is outside 0–1 (0–100%)",
        "bad_bodies.json:10:30: numerator -1 is not a whole number ≥ 0",
        "bad_bodies.json:12:90: norm value 5 is outside 0–1 (0–100%)",
        "bad_bodies.json:14:45: value 11 is not a rating 1–10",
        "bad_bodies.json:15:90: score has neither a value nor numerator and denominator",
        f"bad_bodies.json:17:3: expected {SHAPE}",
        "bad_bodies.json:18:17: seller_id is empty",
        "bad_bodies.json:18:50: ratingMethod 'LAST_YEAR' is not THREE_MONTHS or ALL_REVIEWS",
        "bad_bodies.json:19:42: retailerRating 11 is not a rating 1–10",
        "bad_bodies.json:19:63: serviceRating '-' is not a rating 1–10",
    ]


def test_syntax_error_names_line_and_column(read: Read) -> None:
    assert issues(read("broken.json")) == [
        "broken.json:3:25: is not valid JSON: a field name in double quotes is expected"
    ]


def test_whole_file_problems(read: Read, tmp_path: Path) -> None:
    cases = {
        "blank.json": b"  \n",
        "latin1.json": b'{"seller_id": "caf\xe9"}',
        "list.json": b"[]",
        "number.json": b"42",
        "neither.json": b'{"seller_id": "shop-1"}',
        "trailing.json": b'{"seller_id": "shop-1", "retailer": {}} []',
        "deep.json": b"[" * 100_000 + b"]" * 100_000,
    }
    found = {}
    for name, data in cases.items():
        (tmp_path / name).write_bytes(data)
        found[name] = issues(read(tmp_path / name))
    assert found == {
        "blank.json": ["blank.json:0:0: the file is empty"],
        "latin1.json": ["latin1.json:0:0: not UTF-8 text"],
        "list.json": ["list.json:0:0: the file holds an empty list"],
        "number.json": [f"number.json:1:1: expected {SHAPE}"],
        "neither.json": [f"neither.json:1:1: expected {SHAPE}"],
        "trailing.json": [
            "trailing.json:1:41: is not valid JSON: there is more after the end of the JSON value"
        ],
        "deep.json": ["deep.json:0:0: is not valid JSON: nested too deeply"],
    }


def test_bom_and_string_periods(read: Read, tmp_path: Path) -> None:
    path = tmp_path / "bom.json"
    body = (
        '{"seller_id": "shop-1", "performanceIndicators": [{"name": "TRACK_AND_TRACE",'
        ' "details": {"period": {"week": "46", "year": "2026"},'
        ' "score": {"numerator": 0, "denominator": 0, "value": 0}}}]}'
    )
    path.write_bytes(b"\xef\xbb\xbf" + body.encode())
    [row] = read(path)
    assert isinstance(row, MeasurementRow)
    assert row.measurement == Measurement(Indicator.TRACK_AND_TRACE, W46, 0, 0, 0.0)
    assert (row.line, row.seller_column) == (1, 51)  # columns count characters, not the BOM


def test_ratings_need_reviews(read: Read, tmp_path: Path) -> None:
    """A shop without reviews has no rating to import, whatever the body says."""
    path = tmp_path / "new.json"
    path.write_text(
        '{"seller_id": "shop-1", "retailer": {"retailerRating": {"retailerRating": 0},'
        ' "retailerReview": {"totalReviewCount": 0}}}',
        encoding="utf-8",
    )
    assert read(path) == []


def test_a_late_syntax_error_follows_the_bodies_before_it(read: Read, tmp_path: Path) -> None:
    path = tmp_path / "late.json"
    good = (DATA / "retailer.json").read_text(encoding="utf-8").strip()
    path.write_text(f"[{good},\n{{]", encoding="utf-8")
    items = read(path)
    assert [type(item).__name__ for item in items] == ["RatingRow", "Issue"]
    assert str(items[-1]) == (
        "late.json:26:2: is not valid JSON: a field name in double quotes is expected"
    )
