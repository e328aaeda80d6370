"""JSON files: Retailer API v11 bodies (kpiScore, ratings, performanceStatus) wrapped with the
seller, alone or beside others; a field that does not fit is named where it starts."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.ingest import Issue, MeasurementRow, RatingRow, Row, StatusRow, read_file
from messages.reasons import said_in
from norms.bol import Strikes, StrikeWeek, bol_week
from norms.model import Indicator, Measurement, ShopRating
from norms.policy import Policy
from norms.weeks import IsoWeek
from tests.ingest.support import DATA, TODAY, issues, rows

W46 = IsoWeek(2026, 46)
NOW = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)


def read(policy: Policy, path: Path, now: datetime | None = NOW) -> list[Row | Issue]:
    return list(read_file(path, today=TODAY, policy=policy, now=now))


def at(text: str, snippet: str, nth: int = 1) -> str:
    """``LINE:COLUMN`` where the ``nth`` ``snippet`` starts in ``text``."""
    offset = -1
    for _ in range(nth):
        offset = text.index(snippet, offset + 1)
    line = text.count("\n", 0, offset) + 1
    return f"{line}:{offset - (text.rfind(chr(10), 0, offset) + 1) + 1}"


def test_each_v11_body_becomes_its_row(policy: Policy) -> None:
    path = DATA / "v11_bodies.json"
    text = path.read_text(encoding="utf-8")
    items = read(policy, path)
    assert issues(items) == []
    found = rows(items)
    assert [type(r).__name__ for r in found] == [
        "MeasurementRow",
        "MeasurementRow",
        "RatingRow",
        "StatusRow",
    ]  # RETURNS has no score: no figure (absence is not a figure), and nothing wrong
    handover, on_time, rating, status = found
    line, column = at(text, '{\n    "kpi": "HANDOVER"').split(":")
    assert handover == MeasurementRow(
        "shop-1",
        Measurement(Indicator.HANDOVER, W46, 180, 200, 0.9, 0.95, ">=", False),
        "v11_bodies.json",
        int(line),
        int(column),
    )
    assert isinstance(on_time, MeasurementRow)
    assert on_time.measurement.excluded is True  # bol.com left the week out of its strikes
    assert on_time.measurement.condition == ">="
    assert isinstance(rating, RatingRow)
    assert rating.rating == ShopRating(
        on=TODAY,
        rating=8.7,
        aspects={"product_information": 9.1, "shipping": 8.8, "service": 8.5},
        reviews=41,
        method="THREE_MONTHS",  # v11's RECENT_REVIEWS: the last three months
        top_retailer=False,
    )
    assert isinstance(status, StatusRow)
    snapshot = status.status
    assert snapshot.fetched_at == datetime(2026, 11, 19, 7, 0, tzinfo=UTC)
    assert snapshot.system == "GroeiKracht"
    assert snapshot.strikes == Strikes(
        2,
        (
            StrikeWeek(bol_week("2026-40"), ("HANDOVER",)),
            StrikeWeek(bol_week("2026-44"), ("CANCELLATIONS", "ON_TIME")),
        ),
        bol_week("2026-25"),
        bol_week("2026-46"),
    )
    assert snapshot.points_left == 85 and snapshot.violations is not None
    assert snapshot.quality is not None and snapshot.quality.score == 71
    assert f"{status.line}:{status.seller_column}" == at(text, '{\n    "monitoringSystem"')


def test_a_snapshot_without_fetched_at_was_fetched_at_the_imports_moment(
    policy: Policy, tmp_path: Path
) -> None:
    path = tmp_path / "status.json"
    path.write_text('{"seller_id": "shop-1", "performanceStatus": {}}', encoding="utf-8")
    [row] = read(policy, path)
    assert isinstance(row, StatusRow)
    assert row.status.fetched_at == NOW
    assert row.status.system is None and row.status.strikes is None  # nothing sent, no claim


def test_v11_and_v10_bodies_in_one_list(policy: Policy, tmp_path: Path) -> None:
    v11 = json.loads((DATA / "v11_bodies.json").read_text(encoding="utf-8"))
    v10 = json.loads((DATA / "retailer.json").read_text(encoding="utf-8"))
    path = tmp_path / "mixed.json"
    path.write_text(json.dumps([v10, v11[0]], indent=1), encoding="utf-8")
    items = read(policy, path)
    assert issues(items) == []
    assert [type(r).__name__ for r in rows(items)] == ["RatingRow", "MeasurementRow"]


HOSTILE = """[
{"seller_id": "shop-1", "kpiScore": {"kpi": "HANDOVER",
  "score": {"numerator": 180, "denominator": 200, "value": "0.9", "distanceToNorm": 0.05,
            "conformsToNorm": false},
  "norm": {"type": "FIXED", "condition": "gte", "value": 0.95},
  "period": {"id": "2026-46", "type": "WEEK"}, "excluded": false}},
{"seller_id": "shop-1", "kpiScore": {"kpi": "ON_TIME",
  "score": {"numerator": 80, "denominator": 100, "value": 0.8, "conformsToNorm": false},
  "norm": {"type": "FIXED", "condition": "eq", "value": 0.93},
  "period": {"id": "46-2026", "type": "MONTH"}}},
{"seller_id": "shop-1", "kpiScore": {"kpi": "FULFILMENT",
  "score": {"numerator": 160, "denominator": 150, "value": 1.07, "distanceToNorm": 0,
            "conformsToNorm": true},
  "norm": {"type": "SOMETIMES", "condition": "gte", "value": 0.93},
  "period": {"id": "2026-48", "type": "WEEK"}, "excluded": "no"}},
{"seller_id": "shop-1", "ratings": {"ratingMethod": "LAST_YEAR",
  "retailerRating": {"retailerRating": 11},
  "retailerReview": {"totalReviewCount": 4, "positiveReviewCount": 4, "neutralReviewCount": 0}}},
{"seller_id": "shop-1", "fetched_at": "yesterday", "performanceStatus": {
  "monitoringSystem": {"description": "GroeiKracht", "strike": {"count": 9, "weeks": []}}}},
{"seller_id": "shop-1", "performanceStatus": {"qualityScore": {"score": 70}}},
{"seller_id": "shop-1", "fetched_at": "2026-11-23T10:00:00+01:00", "performanceStatus": {
  "policy": {"pointsLeft": 50, "violations": [{"violationId": "v-1"}]}}}
]
"""


def test_every_field_that_does_not_fit_is_named_where_it_starts(
    policy: Policy, tmp_path: Path
) -> None:
    path = tmp_path / "hostile.json"
    path.write_text(HOSTILE, encoding="utf-8")
    found = issues(read(policy, path))
    # Where each starts (a snippet of the file) and what it says, in file order.
    expected = [
        ('"0.9"', "score.value '0.9' is not a number"),
        ('{"kpi": "ON_TIME"', "excluded is missing"),
        ('{"numerator": 80', "score.distanceToNorm is missing"),
        ('"eq"', "norm condition 'eq' is not >= or <="),
        ('"46-2026"', "period.id '46-2026' is not a week like 2026-47"),
        ('"MONTH"', "period.type 'MONTH' is not WEEK"),
        ("160", "numerator 160 is greater than denominator 150"),
        ("1.07", "score.value 1.07 is outside 0–1 (0–100%)"),
        ('"SOMETIMES"', "norm.type 'SOMETIMES' is not DYNAMIC or FIXED"),
        ('"2026-48"', "week 2026-W48 lies in the future (it starts on 2026-11-23)"),
        ('"no"', "excluded must be true or false"),
        ('{"ratingMethod"', "isTopRetailer is missing"),
        ('"LAST_YEAR"', "ratingMethod 'LAST_YEAR' is not RECENT_REVIEWS or ALL_REVIEWS"),
        ("11}", "retailerRating.retailerRating 11 is not a rating 1–10"),
        ('{"totalReviewCount": 4', "retailerReview.negativeReviewCount is missing"),
        (
            '"yesterday"',
            "fetched_at 'yesterday' is not a date and time with its time zone, like "
            "2026-11-18T09:00:00+01:00",
        ),
        ('9, "weeks"', "monitoringSystem.strike.count 9 is outside 0–7"),
        ('{"score": 70}', "qualityScore.yearWeek is missing"),
        ('"2026-11-23T10', "fetched_at 2026-11-23T10:00:00+01:00 lies in the future"),
        ('{"violationId"', "policy.violations[0].registrationDateTime is missing"),
    ]
    assert found == [f"hostile.json:{at(HOSTILE, s)}: {reason}" for s, reason in expected]


def test_a_file_read_without_a_moment_dates_a_snapshot_at_the_start_of_today(
    policy: Policy, tmp_path: Path
) -> None:
    path = tmp_path / "status.json"
    path.write_text('{"seller_id": "shop-1", "performanceStatus": {}}', encoding="utf-8")
    [row] = read(policy, path, now=None)
    assert isinstance(row, StatusRow)
    assert row.status.fetched_at == datetime(2026, 11, 22, tzinfo=UTC)


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("2026-11-19T08:00:00Z", datetime(2026, 11, 19, 8, tzinfo=UTC)),
        ("2026-11-19T09:00:00+01:00", datetime(2026, 11, 19, 8, tzinfo=UTC)),
    ],
)
def test_fetched_at_is_an_iso_moment_with_its_zone(
    policy: Policy, tmp_path: Path, given: str, expected: datetime
) -> None:
    path = tmp_path / "status.json"
    path.write_text(
        json.dumps({"seller_id": "s", "fetched_at": given, "performanceStatus": {}}),
        encoding="utf-8",
    )
    [row] = read(policy, path)
    assert isinstance(row, StatusRow) and row.status.fetched_at == expected


def test_a_moment_without_a_zone_is_refused(policy: Policy, tmp_path: Path) -> None:
    path = tmp_path / "status.json"
    path.write_text(
        '{"seller_id": "s", "fetched_at": "2026-11-19T08:00:00", "performanceStatus": {}}',
        encoding="utf-8",
    )
    assert issues(read(policy, path)) == [
        "status.json:1:34: fetched_at '2026-11-19T08:00:00' is not a date and time with its"
        " time zone, like 2026-11-18T09:00:00+01:00"
    ]


def test_a_field_that_does_not_fit_is_said_in_the_chats_language(
    policy: Policy, tmp_path: Path
) -> None:
    path = tmp_path / "status.json"
    path.write_text(
        '{"seller_id": "s", "performanceStatus": {"policy": {"pointsLeft": 130}}}',
        encoding="utf-8",
    )
    [issue] = read(policy, path)
    assert isinstance(issue, Issue)
    assert said_in(issue.reason, "nl") == "policy.pointsLeft 130 ligt buiten 0–100"
    assert said_in(issue.reason, "fr") == "policy.pointsLeft 130 est hors de 0–100"
