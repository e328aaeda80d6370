"""Imports of Retailer API v11 bodies: KPI scores (bol.com's exclusion kept), ratings, and
bol.com's snapshots, whose news owes a recheck in the import's own transaction."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.config import Config
from bot.imports import ImportFile, ImportRejected, import_files
from bot.store import Store
from norms import Indicator, IsoWeek
from tests.conftest import FixedClock
from tests.ingest.support import DATA

pytestmark = pytest.mark.both_engines

W46 = IsoWeek(2026, 46)


async def run(store: Store, config: Config, clock: FixedClock, *files: ImportFile, **kw: Any):
    return await import_files(
        store, list(files), policy=config.policy, today=clock().date(), now=clock(), **kw
    )


def body_file(tmp_path: Path, name: str, bodies: object) -> ImportFile:
    path = tmp_path / name
    path.write_text(json.dumps(bodies, indent=1), encoding="utf-8")
    return ImportFile(path, name)


def status(points: int, **wrapper: object) -> dict[str, object]:
    return {
        "seller_id": "shop-1",
        **wrapper,
        "performanceStatus": {
            "monitoringSystem": {"description": "GroeiKracht"},
            "policy": {"pointsLeft": points},
        },
    }


async def owed(store: Store) -> list[list[tuple[str | None, str, str]]]:
    """The work owed, per change: (seller, from week, reason)."""
    return [
        [(o.seller_id, str(o.week), o.reason) for o in change]
        for change in await store.owed.pending()
    ]


async def content(store: Store) -> list[str]:
    lines = []
    for table in ("sellers", "measurements", "shop_ratings", "bol_statuses", "owed_work"):
        rows = await store.db.fetchall(f"SELECT * FROM {table} ORDER BY 1, 2")
        lines += [f"{table}: {tuple(r)}" for r in rows]
    return lines


@pytest.fixture
async def shop(store: Store, clock: FixedClock) -> Store:
    await store.sellers.add("shop-1", "Shop One", "nl", clock())
    return store


async def test_v11_bodies_are_imported_as_figures_a_rating_and_a_snapshot(
    shop: Store, config: Config, clock: FixedClock
) -> None:
    path = DATA / "v11_bodies.json"
    result = await run(shop, config, clock, ImportFile(path, path.name))
    assert (result.measurements, result.ratings, result.statuses) == (2, 1, 1)
    assert result.describe() == "2 measurement(s), 1 shop rating(s) and 1 bol.com status(es)"
    assert result.status_news == ["shop-1"]  # a first snapshot is news
    history = (await shop.histories.up_to(["shop-1"], W46))["shop-1"]
    handover = history.measurement(W46, Indicator.HANDOVER)
    on_time = history.measurement(W46, Indicator.ON_TIME)
    assert handover is not None and not handover.excluded
    assert on_time is not None and on_time.excluded  # kept: bol.com's exclusion wins
    assert history.measurement(W46, Indicator.RETURNS) is None  # no score, no figure
    ratings = await shop.db.fetchall("SELECT on_date, rating, method, reviews FROM shop_ratings")
    assert [tuple(r) for r in ratings] == [("2026-11-19", 8.7, "THREE_MONTHS", 41)]
    [snapshot] = (await shop.bol_statuses.latest(["shop-1"])).values()
    assert snapshot.points_left == 85
    row = await shop.db.fetchone("SELECT source, fetched_at FROM bol_statuses")
    assert row is not None and row["source"] == "upload"
    # One change: the figures' week and the snapshot's last finished week (both 2026-W46).
    assert await owed(shop) == [[("shop-1", "2026-W46", "import:upload")]]


async def test_only_a_snapshot_with_news_owes_a_recheck_from_the_last_finished_week(
    shop: Store, config: Config, clock: FixedClock, tmp_path: Path
) -> None:
    first = await run(shop, config, clock, body_file(tmp_path, "a.json", status(80)))
    assert first.status_news == ["shop-1"] and first.weeks == set()
    # Fetched on Thursday 2026-11-19: the last finished week is 2026-W46.
    assert await owed(shop) == [[("shop-1", "2026-W46", "import:upload")]]
    [[change]] = await shop.owed.pending()
    await shop.owed.clear(change.change)

    same = await run(shop, config, clock, body_file(tmp_path, "b.json", status(80)))
    assert same.status_news == [] and await owed(shop) == []  # the same fetch again: nothing
    clock.advance(days=1)
    again = await run(shop, config, clock, body_file(tmp_path, "c.json", status(80)))
    assert again.statuses == 1 and again.status_news == []  # kept, but nothing new
    assert await owed(shop) == []
    assert len(await shop.bol_statuses.history("shop-1")) == 2

    clock.advance(days=6)  # Friday of 2026-W48: 2026-W47 is the last finished week
    moment = (clock() - timedelta(hours=2)).isoformat()
    news = await run(
        shop, config, clock, body_file(tmp_path, "d.json", status(40, fetched_at=moment))
    )
    assert news.status_news == ["shop-1"]
    assert await owed(shop) == [[("shop-1", "2026-W47", "import:upload")]]
    [latest] = (await shop.bol_statuses.latest(["shop-1"])).values()
    assert latest.points_left == 40 and latest.fetched_at.isoformat() == moment


async def test_a_snapshot_and_figures_of_one_import_owe_one_change(
    shop: Store, config: Config, clock: FixedClock, tmp_path: Path
) -> None:
    v11 = json.loads((DATA / "v11_bodies.json").read_text(encoding="utf-8"))
    older = dict(v11[0])
    older["kpiScore"] = {**v11[0]["kpiScore"], "period": {"id": "2026-40", "type": "WEEK"}}
    await run(shop, config, clock, body_file(tmp_path, "a.json", [status(70), older]))
    # The earliest week either brought: the figures' 2026-W40.
    assert await owed(shop) == [[("shop-1", "2026-W40", "import:upload")]]


async def test_snapshots_follow_the_import_rules(
    shop: Store, config: Config, clock: FixedClock, tmp_path: Path
) -> None:
    before = await content(shop)
    stranger = {**status(80), "seller_id": "shop-9"}
    with pytest.raises(ImportRejected) as rejected:
        await run(shop, config, clock, body_file(tmp_path, "a.json", [status(80), stranger]))
    assert [str(i) for i in rejected.value.issues] == [
        "a.json:15:24: unknown seller 'shop-9': add it first (normwacht seller add) or import "
        "with --create-sellers"
    ]
    # A chat learns nothing of sellers it does not follow.
    with pytest.raises(ImportRejected) as foreign:
        await run(
            shop, config, clock, body_file(tmp_path, "b.json", status(80)), allowed_sellers=set()
        )
    assert [str(i) for i in foreign.value.issues] == [
        "b.json:3:23: seller 'shop-1' is not linked to this chat"
    ]
    # Two different snapshots fetched at the same moment cannot both be true.
    with pytest.raises(ImportRejected) as twice:
        await run(shop, config, clock, body_file(tmp_path, "c.json", [status(80), status(70)]))
    assert [str(i) for i in twice.value.issues] == [
        "c.json:15:24: bol.com's status of shop-1 fetched at 2026-11-19T09:00:00+00:00 is given "
        "twice with different figures (first at c.json, line 4)"
    ]
    # A good body beside a bad one: nothing of the file goes in.
    bad = status(80)
    bad["performanceStatus"] = {"policy": {"pointsLeft": 130}}
    good_kpi = json.loads((DATA / "v11_bodies.json").read_text(encoding="utf-8"))[0]
    with pytest.raises(ImportRejected) as hostile:
        await run(shop, config, clock, body_file(tmp_path, "d.json", [good_kpi, bad]))
    [issue] = hostile.value.issues
    assert str(issue).endswith(": policy.pointsLeft 130 is outside 0–100")
    assert await content(shop) == before
    created = await run(
        shop, config, clock, body_file(tmp_path, "e.json", stranger), create_sellers=True
    )
    assert created.created_sellers == ["shop-9"] and created.statuses == 1


async def test_the_same_snapshot_twice_in_one_import_is_kept_once(
    shop: Store, config: Config, clock: FixedClock, tmp_path: Path
) -> None:
    result = await run(shop, config, clock, body_file(tmp_path, "a.json", [status(80)] * 2))
    assert result.statuses == 1
    rows = await shop.db.fetchall("SELECT seller_id FROM bol_statuses")
    assert [r[0] for r in rows] == ["shop-1"]


async def test_a_later_figure_without_the_exclusion_replaces_an_excluded_one(
    shop: Store, config: Config, clock: FixedClock, tmp_path: Path
) -> None:
    kpi = json.loads((DATA / "v11_bodies.json").read_text(encoding="utf-8"))[1]
    await run(shop, config, clock, body_file(tmp_path, "a.json", kpi))
    kpi["kpiScore"]["excluded"] = False  # bol.com corrected itself
    await run(shop, config, clock, body_file(tmp_path, "b.json", kpi))
    history = (await shop.histories.up_to(["shop-1"], W46))["shop-1"]
    on_time = history.measurement(W46, Indicator.ON_TIME)
    assert on_time is not None and not on_time.excluded
    # Within one import the same week with and without the exclusion disagrees.
    excluded = json.loads(json.dumps(kpi))
    excluded["kpiScore"]["excluded"] = True
    with pytest.raises(ImportRejected) as twice:
        await run(shop, config, clock, body_file(tmp_path, "c.json", [kpi, excluded]))
    assert "is given twice with different figures" in str(twice.value.issues[0])
