"""bol.com's snapshots in the store: kept per seller and fetch, read back equal, the
newest and the one before it, the quality score's trend; on both engines."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.store import Store
from bot.store.verdicts import add_statuses_in
from norms import IsoWeek
from norms.bol import BodyError, status_body, status_from_body
from tests.conftest import FixedClock

pytestmark = pytest.mark.both_engines

AT = datetime(2026, 11, 18, 7, 30, tzinfo=UTC)

BODY: dict[str, Any] = {
    "monitoringSystem": {
        "description": "GroeiKracht",
        "strike": {
            "count": 2,
            "weeks": [
                {"week": "2026-40", "reasons": ["FULFILMENT"]},
                {"week": "2026-46", "reasons": ["HANDOVER", "CANCELLATIONS"]},
            ],
            "monitorPeriod": {"startWeek": "2026-25", "endWeek": "2026-46"},
        },
    },
    "policy": {
        "pointsLeft": 25,
        "violations": [
            {
                "violationId": "v-1",
                "registrationDateTime": "2026-11-16T10:00:00+01:00",
                "category": "Productcontent",
                "subCategory": "Misleidende titel",
                "violationType": "POINTS_DEDUCTION",
                "points": 15,
                "isProportionalityApplied": True,
                "preProportionalPoints": 20,
            }
        ],
    },
    "qualityScore": {
        "yearWeek": "2026-46",
        "score": 58,
        "shippingMethodScores": [
            {
                "shippingMethod": "OWN_SHIPPING",
                "score": 55,
                "weight": 0.75,
                "kpiScores": [
                    {
                        "kpiName": "ON_TIME",
                        "score": 0.88,
                        "norm": 0.93,
                        "aggregationLevel": "RETAILER",
                    },
                    {"kpiName": "REVIEWS", "score": None, "norm": None},
                ],
            }
        ],
    },
}


def test_a_body_reads_back_to_the_same_snapshot() -> None:
    status = status_from_body(BODY, AT)
    assert status.strikes is not None and status.strikes.count == 2
    assert status.strikes.period_end == IsoWeek(2026, 46)
    assert status.violations is not None and status.violations[0].pre_proportional_points == 20
    assert status.quality is not None and status.quality.by_method[0].kpis[1].score is None
    assert status_from_body(status_body(status), AT) == status
    assert status_from_body({}, AT).strikes is None  # every part may be absent


def test_a_violation_without_a_sub_category_reads_back_too() -> None:
    """bol.com may leave ``subCategory`` out: the snapshot is kept and read back as sent."""
    violation = {
        "violationId": "pv-1",
        "registrationDateTime": "2026-11-16T10:00:00+01:00",
        "category": "FRAUD",
        "violationType": "WARNING",
    }
    status = status_from_body({"policy": {"pointsLeft": 90, "violations": [violation]}}, AT)
    assert status.violations is not None and status.violations[0].sub_category == ""
    assert status_from_body(status_body(status), AT) == status


@pytest.mark.parametrize(
    ("change", "path"),
    [
        ({"qualityScore": {"yearWeek": "2026-46", "score": "58"}}, "qualityScore.score"),
        ({"monitoringSystem": {"strike": {"count": 8}}}, "monitoringSystem.strike.count"),
        ({"monitoringSystem": {"strike": {}}}, "monitoringSystem.strike.count"),
        ({"policy": {"pointsLeft": 101}}, "policy.pointsLeft"),
        ({"qualityScore": {"yearWeek": "2026-W99", "score": 5}}, "qualityScore.yearWeek"),
        (
            {"policy": {"violations": [{"violationId": "x"}]}},
            "policy.violations[0].registrationDateTime",
        ),
    ],
)
def test_a_body_that_does_not_fit_names_the_field(change: dict[str, Any], path: str) -> None:
    with pytest.raises(BodyError) as caught:
        status_from_body(change, AT)
    assert caught.value.path == path


async def test_snapshots_are_kept_per_fetch_with_the_one_before(
    store: Store, clock: FixedClock
) -> None:
    await store.sellers.add("shop-1", "Shop One", "nl", clock())
    first = status_from_body(BODY, AT)
    later_body = {**BODY, "policy": {"pointsLeft": 10, "violations": []}}
    later = status_from_body(later_body, AT + timedelta(days=7))
    assert await store.bol_statuses.add("shop-1", first, "bol.com", clock())
    assert not await store.bol_statuses.add("shop-1", first, "bol.com", clock())  # same fetch
    async with store.db.transaction() as tx:
        same = status_from_body(BODY, AT + timedelta(days=1))  # nothing new in it
        assert await add_statuses_in(tx, [("shop-1", same)], "upload", clock()) == []
        assert await add_statuses_in(tx, [("shop-1", later)], "bol.com", clock()) == ["shop-1"]
    pairs = await store.bol_statuses.latest_two(None)
    assert pairs == {"shop-1": (later, same)}
    # Another body for a fetch time already kept corrects it: it replaces it, and is news.
    corrected = status_from_body({**later_body, "policy": {"pointsLeft": 5}}, later.fetched_at)
    assert await store.bol_statuses.add("shop-1", corrected, "upload", clock())
    assert await store.bol_statuses.latest_two(None) == {"shop-1": (corrected, same)}
    assert len(await store.bol_statuses.history("shop-1")) == 3
    assert await store.bol_statuses.latest(["shop-1"], at=AT + timedelta(hours=1)) == {
        "shop-1": first
    }
    assert await store.bol_statuses.latest(["nobody"]) == {}
    assert await store.bol_statuses.history("shop-1") == [first, same, corrected]
    # one score per week: the newest snapshot of the week wins
    assert await store.bol_statuses.quality_scores("shop-1") == [(IsoWeek(2026, 46), 58)]
