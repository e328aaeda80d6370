"""Polling: bol.com's bodies go through the importer; refused credentials are told once."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.bol.api import Limiters, RequestBudget
from bot.bol.credentials import SecretBox, new_key
from bot.bol.poll import poll_week
from bot.bol.provisional import plan_provisional_warnings, poll_provisional
from bot.config import Config
from bot.imports import ImportFile, import_files
from bot.notices.check import run_check
from bot.notices.reports import week_reports
from bot.store import Store
from norms import Indicator, IsoWeek
from tests.bol.conftest import connect
from tests.conftest import FixedClock, make_config
from tests.fakes.bol import INDICATOR_PATH, TOKEN_PATH, FakeBol

WEEK = IsoWeek(2026, 46)  # the clock's Thursday of 2026-W47: W46 is complete
FAST = RequestBudget(requests=1000, window_s=1.0, backoff_s=0.01, max_backoff_s=0.05)
SECRETS = {"cid-1": "first-S3cret-aa", "cid-2": "second-S3cret-bb", "cid-3": "third-S3cret-cc"}


@pytest.fixture
async def bol() -> AsyncIterator[FakeBol]:
    async with FakeBol(dict(SECRETS), rate_limit=FAST.requests, window_s=FAST.window_s) as fake:
        yield fake


@pytest.fixture
def config(tmp_path: Path, bol: FakeBol) -> Config:
    return make_config(
        tmp_path,
        NORMWACHT_SECRET_KEY=new_key(),
        BOL_API_URL=bol.url,
        BOL_LOGIN_URL=bol.url,
        NORMWACHT_ADMINS="telegram:42",
        TELEGRAM_BOT_TOKEN="123:abc",
    )


def week_of_data(bol: FakeBol, client_id: str, week: IsoWeek = WEEK, *, late: int = 15) -> None:
    """All eight indicators and a shop rating; ``late`` deliveries of 150."""
    y, w = week.year, week.week
    bol.set_indicator(client_id, "FULFILMENT", y, w, numerator=150 - late, denominator=150)
    bol.set_indicator(client_id, "CANCELLATIONS", y, w, numerator=1, denominator=150)
    bol.set_indicator(client_id, "PHONE_AVAILABILITY", y, w, numerator=45, denominator=50)
    bol.set_indicator(client_id, "RESPONSE_TIME", y, w, numerator=19, denominator=20)
    bol.set_indicator(client_id, "CASE_ITEM_RATIO", y, w, numerator=3, denominator=150, norm=0.05)
    bol.set_indicator(client_id, "TRACK_AND_TRACE", y, w, numerator=150, denominator=150)
    bol.set_indicator(client_id, "RETURNS", y, w, numerator=4, denominator=150, norm=0.06)
    bol.set_indicator(client_id, "REVIEWS", y, w, value=8.4, denominator=12)
    bol.set_retailer(client_id, rating=8.6, product_information=9.0, reviews=40)


async def poll(store: Store, config: Config, clock: FixedClock, **kw: Any) -> Any:
    return await poll_week(store, config, WEEK, now=clock(), pacing=FAST, limiters=Limiters(), **kw)


async def test_a_poll_imports_all_eight_indicators_and_the_rating(
    bol: FakeBol, store: Store, config: Config, clock: FixedClock
) -> None:
    for n in (1, 2, 3):
        week_of_data(bol, f"cid-{n}", late=n)
        await connect(store, config, clock, f"shop-{n}", f"cid-{n}", SECRETS[f"cid-{n}"])
    summary = await poll(store, config, clock)
    assert not summary.failed
    assert summary.fetched == {"shop-1": 8, "shop-2": 8, "shop-3": 8}
    assert summary.ratings == 3
    rows = await store.db.fetchall(
        "SELECT seller_id, indicator, numerator, denominator, source FROM measurements "
        "WHERE year = 2026 AND week = 46 ORDER BY seller_id, indicator"
    )
    assert len(rows) == 24
    assert {r["source"] for r in rows} == {"bol.com"}
    fulfilment = {r["seller_id"]: r["numerator"] for r in rows if r["indicator"] == "FULFILMENT"}
    assert fulfilment == {"shop-1": 149, "shop-2": 148, "shop-3": 147}
    ratings = await store.db.fetchall("SELECT seller_id, on_date, rating, source FROM shop_ratings")
    assert sorted(tuple(r) for r in ratings) == [
        (f"shop-{n}", "2026-11-19", 8.6, "bol.com") for n in (1, 2, 3)
    ]
    assert "3 seller(s), 24 indicator(s), 3 shop rating(s)" in summary.describe()


async def test_indicators_without_a_score_are_no_data(
    bol: FakeBol, store: Store, config: Config, clock: FixedClock
) -> None:
    bol.set_indicator("cid-1", "FULFILMENT", 2026, 46, numerator=140, denominator=150)
    await connect(store, config, clock, "shop-1", "cid-1", SECRETS["cid-1"])
    summary = await poll(store, config, clock, seller_ids=["shop-1"])
    assert summary.fetched == {"shop-1": 1}
    assert len(summary.no_data["shop-1"]) == 7
    assert summary.ratings == 0  # an unrated shop has no rating to import
    assert "no data: 7 indicator(s) of 1 seller(s)" in summary.describe()


async def test_a_429_is_waited_out(store: Store, config: Config, clock: FixedClock) -> None:
    async with FakeBol(dict(SECRETS), rate_limit=5, window_s=1.0) as bol:
        week_of_data(bol, "cid-1")
        await connect(store, config, clock, "shop-1", "cid-1", SECRETS["cid-1"])
        config = make_config(
            config.db_path.parent,
            NORMWACHT_SECRET_KEY=(config.secret_key or b"").decode(),
            BOL_API_URL=bol.url,
            BOL_LOGIN_URL=bol.url,
        )
        summary = await poll(store, config, clock)
    assert bol.rejected_429 >= 1
    assert not summary.failed
    assert summary.fetched == {"shop-1": 8}


async def test_5xx_and_an_expired_token_are_survived(
    bol: FakeBol, store: Store, config: Config, clock: FixedClock
) -> None:
    week_of_data(bol, "cid-1")
    await connect(store, config, clock, "shop-1", "cid-1", SECRETS["cid-1"])
    bol.fail_next(INDICATOR_PATH, 503, times=2)
    summary = await poll(store, config, clock)
    assert summary.fetched == {"shop-1": 8}
    bol.expire_tokens()
    bol.fail_next(TOKEN_PATH, 500)
    again = await poll(store, config, clock)  # a new poll: a new token anyway
    assert again.fetched == {"shop-1": 8}


async def test_bad_credentials_are_reported_once_and_not_retried(
    bol: FakeBol, store: Store, config: Config, clock: FixedClock, renders: None
) -> None:
    week_of_data(bol, "cid-1")
    await connect(store, config, clock, "good", "cid-1", SECRETS["cid-1"])
    await connect(store, config, clock, "bad", "cid-2", "not-the-secret")
    chat = await store.chats.get_or_create("telegram", "777", language="nl", now=clock())
    await store.chats.link(chat.id, "bad", "test", clock())

    first = await poll(store, config, clock)
    assert str(first.failed["bad"]).startswith("bol.com refused these credentials")
    assert first.failed["bad"].reason == "bad_credentials"
    assert first.fetched == {"good": 8}  # one seller's failure blocks no other
    planned = await store.db.fetchall("SELECT chat_id, kind, seller_id FROM outbox ORDER BY id")
    admin = await store.chats.find("telegram", "42")
    assert admin is not None
    assert [tuple(r) for r in planned] == [
        (chat.id, "poll_failed", "bad"),
        (admin.id, "poll_failed", None),
    ]
    tokens = len(bol.calls_to(TOKEN_PATH))

    clock.advance(days=7)
    second = await poll(store, config, clock)
    assert second.skipped == ["bad"]
    assert not second.failed
    assert len(await store.db.fetchall("SELECT id FROM outbox")) == 2  # nothing new
    token_clients = [c.params["client_id"] for c in bol.calls_to(TOKEN_PATH)[tokens:]]
    assert token_clients == ["cid-1"]  # no further token request with the refused secret

    await connect(store, config, clock, "bad", "cid-2", SECRETS["cid-2"])  # set again
    third = await poll(store, config, clock)
    assert third.fetched == {"bad": 0, "good": 8}  # bol.com has nothing for "bad"
    assert len(third.no_data["bad"]) == 8


async def test_a_week_already_checked_is_checked_again_after_the_poll(
    bol: FakeBol, store: Store, config: Config, clock: FixedClock, renders: None
) -> None:
    week_of_data(bol, "cid-1", late=15)  # 90% on time, 15 late: a failing week
    await connect(store, config, clock, "shop-1", "cid-1", SECRETS["cid-1"])
    chat = await store.chats.get_or_create("telegram", "777", language="nl", now=clock())
    await store.chats.link(chat.id, "shop-1", "test", clock())
    await store.db.execute(
        "INSERT INTO job_runs (job, run_key, done_at) VALUES ('check', ?, ?)",
        (str(WEEK), clock().isoformat()),
    )
    summary = await poll(store, config, clock)
    assert summary.planned == 1
    planned = await store.db.fetchall("SELECT kind, seller_id, week FROM outbox")
    assert [tuple(r) for r in planned] == [("alerts", "shop-1", "2026-W46")]


async def test_data_bol_com_sends_that_fails_the_checks_costs_only_that_seller(
    bol: FakeBol, store: Store, config: Config, clock: FixedClock
) -> None:
    week_of_data(bol, "cid-1")
    week_of_data(bol, "cid-2")
    bol.set_indicator("cid-2", "FULFILMENT", 2026, 46, numerator=160, denominator=150)
    await connect(store, config, clock, "shop-1", "cid-1", SECRETS["cid-1"])
    await connect(store, config, clock, "shop-2", "cid-2", SECRETS["cid-2"])
    summary = await poll(store, config, clock)
    assert summary.fetched == {"shop-1": 8}
    assert summary.failed["shop-2"].reason == "rejected"
    assert "bol.com shop-2 2026-W46" in summary.failed["shop-2"].detail
    assert "failed: shop-2: the data bol.com sent did not pass" in summary.describe()


async def test_sellers_without_credentials_or_with_a_foreign_key_fail_clearly(
    bol: FakeBol, store: Store, config: Config, clock: FixedClock, tmp_path: Path
) -> None:
    await store.sellers.add("plain", "Plain", "nl", clock())
    other = SecretBox(new_key().encode()).seal("x")
    await store.sellers.add("foreign", "Foreign", "nl", clock())
    await store.sellers.set_credentials("foreign", other, other, clock())
    summary = await poll(store, config, clock, seller_ids=["plain", "foreign"])
    assert summary.failed["plain"].reason == "no_credentials"
    assert summary.failed["foreign"].reason == "cannot_decrypt"
    assert bol.calls == []


async def test_the_database_holds_no_secret_in_plain_text(
    bol: FakeBol, store: Store, config: Config, clock: FixedClock
) -> None:
    week_of_data(bol, "cid-1")
    await connect(store, config, clock, "shop-1", "cid-1", SECRETS["cid-1"])
    await poll(store, config, clock)
    stored = b"".join(p.read_bytes() for p in config.db_path.parent.glob(f"{config.db_path.name}*"))
    assert b"shop-1" in stored  # we read the right files
    assert SECRETS["cid-1"].encode() not in stored
    assert b"cid-1" not in stored  # the client id is sealed too


async def test_the_secret_never_appears_in_logs_or_the_summary(
    bol: FakeBol,
    store: Store,
    config: Config,
    clock: FixedClock,
    renders: None,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    week_of_data(bol, "cid-1")
    await connect(store, config, clock, "shop-1", "cid-1", SECRETS["cid-1"])
    await connect(store, config, clock, "shop-2", "cid-2", "wrong-S3cret-zz")
    bol.fail_next(INDICATOR_PATH, 503)
    summary = await poll(store, config, clock)
    for text in (caplog.text, summary.describe(), repr(summary)):
        for secret in (SECRETS["cid-1"], "wrong-S3cret-zz"):
            assert secret not in text


async def test_a_provisional_poll_warns_without_storing(
    bol: FakeBol, store: Store, config: Config, clock: FixedClock
) -> None:
    current = IsoWeek(2026, 47)
    week_of_data(bol, "cid-1", current, late=30)  # 80% on time so far
    week_of_data(bol, "cid-2", current, late=1)
    await connect(store, config, clock, "shop-1", "cid-1", SECRETS["cid-1"])
    await connect(store, config, clock, "shop-2", "cid-2", SECRETS["cid-2"])
    result = await poll_provisional(store, config, clock(), pacing=FAST, limiters=Limiters())
    assert result.week == current
    assert result.warnings == {"shop-1": (Indicator.FULFILMENT,)}
    assert set(result.verdicts) == {"shop-1", "shop-2"}
    assert await store.db.fetchall("SELECT * FROM measurements") == []
    assert await store.db.fetchall("SELECT * FROM shop_ratings") == []
    # The seller's chat hears it once per week and set of failing norms, labelled provisional.
    chat = await store.chats.get_or_create("telegram", "31", language="en", now=clock())
    await store.chats.link(chat.id, "shop-1", "test", clock())
    assert await plan_provisional_warnings(store, result, clock()) == 1
    assert await plan_provisional_warnings(store, result, clock()) == 0
    [record] = await store.outbox.history("shop-1")
    assert record.kind == "provisional" and record.week == "2026-W47"
    assert "Provisional" in record.text and "On-time delivery" in record.text


async def test_the_client_id_is_never_shown_either(
    store: Store, tmp_path: Path, clock: FixedClock, renders: None, caplog: pytest.LogCaptureFixture
) -> None:
    """Stored sealed like the secret: logs and summaries name the seller instead."""
    caplog.set_level(logging.DEBUG)
    closed = "http://127.0.0.1:9"  # discard port: nothing listens, every request is refused
    config = make_config(
        tmp_path, NORMWACHT_SECRET_KEY=new_key(), BOL_API_URL=closed, BOL_LOGIN_URL=closed
    )
    client_id = "client-ID-value-0815-abc"
    await connect(store, config, clock, "shop-1", client_id, "some-S3cret")
    summary = await poll(store, config, clock)
    failure = str(summary.failed["shop-1"])
    assert "the client of seller shop-1" in caplog.text
    for text in (caplog.text, summary.describe(), repr(summary), failure):
        assert "client-ID-value" not in text and "0815" not in text


async def test_a_huge_count_from_bol_com_costs_only_that_seller(
    bol: FakeBol, store: Store, config: Config, clock: FixedClock
) -> None:
    week_of_data(bol, "cid-1")
    week_of_data(bol, "cid-2")
    huge = 10**30  # more than SQLite holds: it used to end the whole poll in an OverflowError
    bol.set_indicator("cid-2", "FULFILMENT", 2026, 46, numerator=huge, denominator=huge, value=1.0)
    await connect(store, config, clock, "shop-1", "cid-1", SECRETS["cid-1"])
    await connect(store, config, clock, "shop-2", "cid-2", SECRETS["cid-2"])
    summary = await poll(store, config, clock)
    assert summary.fetched == {"shop-1": 8}
    assert summary.failed["shop-2"].reason == "rejected"
    assert "is above 1,000,000,000, the largest count accepted" in summary.failed["shop-2"].detail
    assert await store.db.fetchone("SELECT 1 FROM measurements WHERE seller_id = 'shop-2'") is None


async def test_metrics_count_requests_errors_429s_and_the_poll_duration(
    store: Store, config: Config, clock: FixedClock
) -> None:
    from prometheus_client import REGISTRY

    def value(name: str, **labels: str) -> float:
        return REGISTRY.get_sample_value(name, labels) or 0.0

    names = [
        ("normwacht_poll_requests_total", {}),
        ("normwacht_poll_errors_total", {"problem": "HTTP 503"}),
        ("normwacht_rate_limited_total", {"service": "bol"}),
        ("normwacht_poll_duration_seconds_count", {}),
    ]
    before = [value(n, **labels) for n, labels in names]
    async with FakeBol(dict(SECRETS), rate_limit=5, window_s=1.0) as bol:
        week_of_data(bol, "cid-1")
        await connect(store, config, clock, "shop-1", "cid-1", SECRETS["cid-1"])
        config = make_config(
            config.db_path.parent,
            NORMWACHT_SECRET_KEY=(config.secret_key or b"").decode(),
            BOL_API_URL=bol.url,
            BOL_LOGIN_URL=bol.url,
        )
        bol.fail_next(INDICATOR_PATH, 503, times=2)
        summary = await poll(store, config, clock)
        rejected = bol.rejected_429
    assert summary.fetched == {"shop-1": 8}
    requests, errors, throttled, polls = (
        value(n, **labels) - b for (n, labels), b in zip(names, before, strict=True)
    )
    assert errors == 2 and polls == 1
    assert throttled == rejected >= 1
    # A token, eight indicators, the shop's rating, and each answer that was retried.
    assert requests >= 10 + errors + throttled


async def test_a_poll_without_scores_leaves_uploaded_figures_and_merges_a_partial_answer(
    bol: FakeBol, store: Store, config: Config, clock: FixedClock, tmp_path: Path
) -> None:
    """Absence is not a figure (NORMS.md §1): a seller uploads a failing week, bol.com then
    has no on-time figure for it; the upload stands, bol.com's cancellations join it, and
    the warning already told is not taken back."""
    await store.sellers.add("shop-1", "Shop shop-1", "nl", clock())
    upload = tmp_path / "week46.csv"
    upload.write_text(
        "seller_id,year,week,indicator,numerator,denominator,value,norm\n"
        "shop-1,2026,46,FULFILMENT,135,150,,\n"
        "shop-1,2026,46,CANCELLATIONS,1,150,,\n",
        encoding="utf-8",
    )
    today, now = clock().date(), clock()
    await import_files(
        store, [ImportFile(upload, upload.name)], policy=config.policy, today=today, now=now
    )
    chat = await store.chats.get_or_create("telegram", "777", language="nl", now=clock())
    await store.chats.link(chat.id, "shop-1", "test", clock())
    checked = await run_check(store, config.policy, WEEK, now=clock())
    assert checked.planned == 1  # warning 1 of 4: on-time delivery failed

    await connect(store, config, clock, "shop-1", "cid-1", SECRETS["cid-1"])
    empty = await poll(store, config, clock)  # bol.com has nothing at all for week 46
    assert empty.fetched == {"shop-1": 0}
    bol.set_indicator("cid-1", "CANCELLATIONS", 2026, 46, numerator=2, denominator=150)
    partial = await poll(store, config, clock)
    assert partial.fetched == {"shop-1": 1}

    rows = await store.db.fetchall(
        "SELECT indicator, numerator, denominator, source FROM measurements ORDER BY indicator"
    )
    assert [tuple(r) for r in rows] == [
        ("CANCELLATIONS", 2, 150, "bol.com"),
        ("FULFILMENT", 135, 150, "upload"),
    ]
    assert empty.planned == partial.planned == 0
    kinds = await store.db.fetchall("SELECT kind FROM outbox ORDER BY id")
    assert [r["kind"] for r in kinds] == ["alerts"]  # no correction retracts the warning
    [report] = [r async for r in week_reports(store, config.policy, WEEK, ["shop-1"])]
    assert report.failing_week and report.alerts == ("warning",)
