"""Imports land whole or not at all; duplicates and unknown sellers are refused with places."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import Config
from bot.imports import ImportFile, ImportRejected, import_files
from bot.store import Store, stamp
from norms import Indicator, IsoWeek
from tests.conftest import FixedClock

pytestmark = pytest.mark.both_engines

HEADER = "seller_id,year,week,indicator,numerator,denominator,value,norm\n"


def write(tmp_path: Path, name: str, body: str) -> ImportFile:
    path = tmp_path / name
    path.write_text(HEADER + body, encoding="utf-8")
    return ImportFile(path, name)


async def content(store: Store) -> list[str]:
    """The database content as SQL text, table by table, for before/after comparisons."""
    lines = []
    for table in ("sellers", "measurements", "shop_ratings", "exemptions", "outbox"):
        rows = await store.db.fetchall(f"SELECT * FROM {table} ORDER BY 1, 2")
        lines += [f"{table}: {tuple(r)}" for r in rows]
    return lines


async def run(store: Store, config: Config, clock: FixedClock, *files: ImportFile, **kw: object):
    return await import_files(
        store,
        list(files),
        policy=config.policy,
        today=clock().date(),
        now=clock(),
        **kw,  # type: ignore[arg-type]
    )


@pytest.fixture
async def shop(store: Store, clock: FixedClock) -> Store:
    await store.sellers.add("shop-1", "Shop One", "nl", clock())
    return store


async def test_import_stores_rows_and_reports_weeks(
    shop: Store, config: Config, clock: FixedClock, tmp_path: Path
) -> None:
    f = write(tmp_path, "a.csv", "shop-1,2026,46,FULFILMENT,135,150,,0.93\n")
    result = await run(shop, config, clock, f)
    assert result.measurements == 1
    assert result.weeks == {("shop-1", IsoWeek(2026, 46))}
    history = (await shop.histories.up_to(["shop-1"], IsoWeek(2026, 46)))["shop-1"]
    m = history.measurement(IsoWeek(2026, 46), Indicator.FULFILMENT)
    assert m is not None and (m.numerator, m.denominator, m.norm) == (135, 150, 0.93)


@pytest.mark.parametrize("twice", [False, True])
async def test_every_stored_row_names_the_import_s_source_and_moment(
    shop: Store, config: Config, clock: FixedClock, tmp_path: Path, twice: bool
) -> None:
    """Whether a key is given once or twice (then the last is written)."""
    fulfilment = "shop-1,2026,46,FULFILMENT,135,150,,0.93\n"
    figures = write(
        tmp_path, "a.csv", fulfilment * (2 if twice else 1) + "shop-1,2026,46,REVIEWS,,12,8.4,\n"
    )
    ratings = tmp_path / "r.csv"
    ratings.write_text(
        "seller_id,date,rating,product_information,delivery_time,shipping,service,reviews,method\n"
        "shop-1,2026-11-18,9.1,9.6,9.4,9.4,9.4,64,THREE_MONTHS\n",
        encoding="utf-8",
    )
    await run(shop, config, clock, figures, ImportFile(ratings, "r.csv"), source="bol.com")
    when = stamp(clock())
    rows = await shop.db.fetchall(
        "SELECT indicator, source, imported_at FROM measurements ORDER BY indicator"
    )
    assert [tuple(r) for r in rows] == [
        ("FULFILMENT", "bol.com", when),
        ("REVIEWS", "bol.com", when),
    ]
    row = await shop.db.fetchone("SELECT rating, source, imported_at FROM shop_ratings")
    assert row is not None and tuple(row) == (9.1, "bol.com", when)


async def test_later_data_for_a_week_replaces_the_earlier(
    shop: Store, config: Config, clock: FixedClock, tmp_path: Path
) -> None:
    await run(
        shop, config, clock, write(tmp_path, "a.csv", "shop-1,2026,46,FULFILMENT,135,150,,\n")
    )
    await run(
        shop, config, clock, write(tmp_path, "b.csv", "shop-1,2026,46,FULFILMENT,149,150,,\n")
    )
    rows = await shop.db.fetchall("SELECT numerator FROM measurements")
    assert [r[0] for r in rows] == [149]


async def test_a_rejected_import_changes_nothing(
    shop: Store, config: Config, clock: FixedClock, tmp_path: Path
) -> None:
    await run(shop, config, clock, write(tmp_path, "a.csv", "shop-1,2026,45,FULFILMENT,1,2,,\n"))
    before = await content(shop)
    good = write(tmp_path, "good.csv", "shop-1,2026,46,FULFILMENT,135,150,,0.93\n")
    bad = write(tmp_path, "bad.csv", "shop-1,2026,46,CANCELLATIONS,9,5,,\n")
    with pytest.raises(ImportRejected) as caught:
        await run(shop, config, clock, good, bad)
    assert [str(i) for i in caught.value.issues] == [
        "bad.csv:2:5: numerator 9 is greater than denominator 5"
    ]
    assert await content(shop) == before


async def test_the_same_week_twice_with_different_figures_across_files(
    shop: Store, config: Config, clock: FixedClock, tmp_path: Path
) -> None:
    a = write(tmp_path, "a.csv", "shop-1,2026,46,FULFILMENT,135,150,,\n")
    same = write(tmp_path, "same.csv", "shop-1,2026,46,FULFILMENT,135,150,,\n")
    await run(shop, config, clock, a, same)  # identical figures are fine
    b = write(tmp_path, "b.csv", "shop-1,2026,46,FULFILMENT,140,150,,\n")
    with pytest.raises(ImportRejected) as caught:
        await run(shop, config, clock, a, b)
    [issue] = caught.value.issues
    assert str(issue) == (
        "b.csv:2:1: shop-1 2026-W46 FULFILMENT is given twice with different figures "
        "(first at a.csv, line 2)"
    )


async def test_unknown_sellers_are_refused_unless_created(
    shop: Store, config: Config, clock: FixedClock, tmp_path: Path
) -> None:
    f = write(
        tmp_path,
        "new.csv",
        "shop-2,2026,46,FULFILMENT,1,1,,\nshop-2,2026,46,RETURNS,0,1,,0.05\n",
    )
    with pytest.raises(ImportRejected) as caught:
        await run(shop, config, clock, f)
    assert [str(i) for i in caught.value.issues] == [
        "new.csv:2:1: unknown seller 'shop-2' (2 rows): add it first (normwacht seller add) "
        "or import with --create-sellers"
    ]
    result = await run(shop, config, clock, f, create_sellers=True)
    assert result.created_sellers == ["shop-2"]
    assert [s.id for s in await shop.sellers.all()] == ["shop-1", "shop-2"]


async def test_a_chat_upload_may_only_touch_its_own_sellers(
    shop: Store, config: Config, clock: FixedClock, tmp_path: Path
) -> None:
    await shop.sellers.add("other", "Other", "nl", clock())
    f = write(tmp_path, "x.csv", "other,2026,46,FULFILMENT,1,1,,\nghost,2026,46,FULFILMENT,1,1,,\n")
    with pytest.raises(ImportRejected) as caught:
        await run(shop, config, clock, f, allowed_sellers={"shop-1"})
    texts = [str(i) for i in caught.value.issues]
    # The same words whether the seller exists or not: a chat learns nothing of others.
    assert texts == [
        "x.csv:2:1: seller 'other' is not linked to this chat",
        "x.csv:3:1: seller 'ghost' is not linked to this chat",
    ]


async def test_all_issues_of_all_files_are_reported_in_order(
    shop: Store, config: Config, clock: FixedClock, tmp_path: Path
) -> None:
    a = write(tmp_path, "a.csv", "shop-1,2026,46,NOPE,1,1,,\nshop-1,2026,46,FULFILMENT,x,1,,\n")
    b = write(tmp_path, "b.csv", "shop-1,2026,60,FULFILMENT,1,1,,\n")
    with pytest.raises(ImportRejected) as caught:
        await run(shop, config, clock, a, b)
    assert [(i.file, i.line) for i in caught.value.issues] == [
        ("a.csv", 2),
        ("a.csv", 3),
        ("b.csv", 2),
    ]
    assert caught.value.total == 3


def body(score: str) -> str:
    return (
        '{"seller_id": "shop-1", "performanceIndicators": [{"name": "FULFILMENT", '
        '"type": "PERCENTAGE", "details": {"period": {"week": 44, "year": 2026}, '
        f'{score}"norm": {{"condition": ">=", "value": 0.93}}}}}}]}}'
    )


async def test_a_week_bol_now_reports_without_figures_keeps_the_old_ones(
    shop: Store, config: Config, clock: FixedClock, tmp_path: Path
) -> None:
    """Absence is not a figure (NORMS.md §1): only a figure replaces a figure."""
    first = tmp_path / "first.json"
    first.write_text(body('"score": {"numerator": 80, "denominator": 100, "value": 0.8}, '))
    await run(shop, config, clock, ImportFile(first, "first.json"))
    before = await content(shop)
    empty = tmp_path / "empty.json"
    empty.write_text(body(""))  # bol.com has no score for the week (any more)
    result = await run(shop, config, clock, ImportFile(empty, "empty.json"))
    assert result.measurements == 0 and result.weeks == set()
    assert await content(shop) == before  # nothing changed, and no recheck is owed


async def test_a_file_without_an_indicator_leaves_its_stored_figure_alone(
    shop: Store, config: Config, clock: FixedClock, tmp_path: Path
) -> None:
    await run(
        shop,
        config,
        clock,
        write(
            tmp_path,
            "a.csv",
            "shop-1,2026,46,FULFILMENT,135,150,,\nshop-1,2026,46,CANCELLATIONS,1,150,,\n",
        ),
    )
    await run(
        shop, config, clock, write(tmp_path, "b.csv", "shop-1,2026,46,CANCELLATIONS,2,150,,\n")
    )
    rows = await shop.db.fetchall(
        "SELECT indicator, numerator FROM measurements ORDER BY indicator"
    )
    assert [tuple(r) for r in rows] == [("CANCELLATIONS", 2), ("FULFILMENT", 135)]


async def test_a_value_with_only_the_items_sold_is_kept(
    shop: Store, config: Config, clock: FixedClock, tmp_path: Path
) -> None:
    f = write(tmp_path, "a.csv", "shop-1,2026,46,CASE_ITEM_RATIO,,400,0.02,0.03\n")
    await run(shop, config, clock, f)
    row = await shop.db.fetchone("SELECT numerator, denominator, value FROM measurements")
    assert row is not None and tuple(row) == (None, 400, 0.02)


async def test_two_ratings_of_one_day_must_agree_on_every_figure(
    shop: Store, config: Config, clock: FixedClock, tmp_path: Path
) -> None:
    path = tmp_path / "r.csv"
    path.write_text(
        "seller_id,date,rating,product_information,delivery_time,shipping,service,reviews,method\n"
        "shop-1,2026-11-18,9.1,9.6,9.4,9.4,9.4,64,THREE_MONTHS\n"
        "shop-1,2026-11-18,9.1,7.0,9.4,9.4,9.4,64,THREE_MONTHS\n",
        encoding="utf-8",
    )
    with pytest.raises(ImportRejected) as caught:
        await run(shop, config, clock, ImportFile(path, "r.csv"))
    assert [str(i) for i in caught.value.issues] == [
        "r.csv:3:1: the shop rating of shop-1 on 2026-11-18 is given twice with different figures"
    ]


async def test_a_big_import_leaves_the_planner_knowing_its_rows(
    store: Store, engine: str, config: Config, clock: FixedClock, tmp_path: Path
) -> None:
    """The check right after an import reads the rows by plans made from statistics."""
    if engine == "sqlite":
        pytest.skip("SQLite plans these queries from the keys alone")
    body = "".join(f"shop-{n},2026,46,FULFILMENT,140,150,,\n" for n in range(120))
    await run(store, config, clock, write(tmp_path, "big.csv", body), create_sellers=True)
    row = await store.db.fetchone(
        "SELECT reltuples FROM pg_class WHERE oid = CAST('measurements' AS regclass)"
    )
    assert row is not None and row[0] == 120


async def test_a_row_given_twice_with_the_same_figures_counts_once(
    shop: Store, config: Config, clock: FixedClock, tmp_path: Path
) -> None:
    fulfilment = "shop-1,2026,46,FULFILMENT,135,150,,0.93\n"
    first = write(tmp_path, "a.csv", fulfilment * 2 + "shop-1,2026,46,REVIEWS,,12,8.4,\n")
    second = write(tmp_path, "b.csv", fulfilment)
    result = await run(shop, config, clock, first, second)
    assert result.measurements == 2
    rows = await shop.db.fetchall("SELECT COUNT(*) FROM measurements")
    assert rows[0][0] == 2
