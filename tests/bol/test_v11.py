"""Polling with Retailer API v11: nine KPI scores, bol.com's performance status and the
ratings through the importer; v10 per seller where bol.com does not grant v11; a body that
does not fit costs only its seller; the limits per endpoint hold."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from bot.bol.api import ClientLimiter, Limiters, RequestBudget
from bot.bol.credentials import new_key
from bot.bol.limits import KPI_SCORES
from bot.bol.poll import PollSummary, poll_week
from bot.bol.provisional import poll_provisional
from bot.config import Config
from bot.store import Store
from norms import Indicator, IsoWeek
from tests.bol.conftest import connect
from tests.conftest import FixedClock, make_config
from tests.fakes.bol import INDICATOR_PATH, RETAILER_PATH, FakeBol
from tests.fakes.bol_v11 import KPI_PATH, KPIS, RATINGS_PATH, STATUS_PATH, ratings_body

WEEK = IsoWeek(2026, 46)  # the clock's Thursday of 2026-W47: W46 is complete
W46 = "2026-46"
V11_PATHS = (KPI_PATH, STATUS_PATH, RATINGS_PATH)
FAST = RequestBudget(
    requests=1000,
    kpi_requests=1000,
    status_requests=1000,
    ratings_requests=1000,
    window_s=1.0,
    backoff_s=0.01,
    max_backoff_s=0.05,
)
SECRETS = {"cid-1": "first-S3cret-aa", "cid-2": "second-S3cret-bb"}
UNLIMITED = {KPI_PATH: 1000, STATUS_PATH: 1000, RATINGS_PATH: 1000}


@pytest.fixture
async def bol() -> AsyncIterator[FakeBol]:
    async with FakeBol(
        dict(SECRETS), v11=True, rate_limit=1000, window_s=1.0, v11_limits=UNLIMITED
    ) as fake:
        yield fake


@pytest.fixture
def config(tmp_path: Path, bol: FakeBol) -> Config:
    return make_config(
        tmp_path,
        NORMWACHT_SECRET_KEY=new_key(),
        BOL_API_URL=bol.url,
        BOL_LOGIN_URL=bol.url,
        TELEGRAM_BOT_TOKEN="123:abc",
    )


def v11_week(bol: FakeBol, client_id: str, week: str = W46, *, late: int = 15) -> None:
    """A v11 week: ``late`` of 200 items handed over late via bol; FULFILMENT without a
    score (HANDOVER and ON_TIME measure it now); a strike, 85 points and a quality score."""
    bol.set_kpi(client_id, "HANDOVER", week, numerator=200 - late, denominator=200)
    bol.set_kpi(client_id, "ON_TIME", week, numerator=95, denominator=100)
    bol.set_kpi(client_id, "CANCELLATIONS", week, numerator=1, denominator=150)
    bol.set_kpi(client_id, "RESPONSE_TIME", week, numerator=19, denominator=20)
    bol.set_kpi(client_id, "CASE_ITEM_RATIO", week, numerator=3, denominator=150)
    bol.set_kpi(client_id, "TRACK_AND_TRACE", week, numerator=150, denominator=150)
    bol.set_kpi(client_id, "RETURNS", week, numerator=4, denominator=150)
    bol.set_kpi(client_id, "REVIEWS", week, value=8.4, denominator=12)
    bol.set_performance_status(
        client_id, strikes={"2026-44": ["HANDOVER"]}, points_left=85, quality=(week, 71)
    )
    bol.set_ratings(client_id, rating=8.6, product_information=9.0, reviews=40)


def v10_week(bol: FakeBol, client_id: str) -> None:
    """The same seller's week as v10 has it: eight indicators and the shop."""
    y, w = WEEK.year, WEEK.week
    for name in ("CANCELLATIONS", "PHONE_AVAILABILITY", "RESPONSE_TIME", "TRACK_AND_TRACE"):
        bol.set_indicator(client_id, name, y, w, numerator=149, denominator=150)
    bol.set_indicator(client_id, "FULFILMENT", y, w, numerator=140, denominator=150)
    bol.set_indicator(client_id, "CASE_ITEM_RATIO", y, w, numerator=3, denominator=150, norm=0.05)
    bol.set_indicator(client_id, "RETURNS", y, w, numerator=4, denominator=150, norm=0.06)
    bol.set_indicator(client_id, "REVIEWS", y, w, value=8.4, denominator=12)
    bol.set_retailer(client_id, rating=8.6, reviews=40)


async def poll(
    store: Store, config: Config, clock: FixedClock, limiters: Limiters | None = None, **kw: Any
) -> PollSummary:
    return await poll_week(
        store, config, WEEK, now=clock(), pacing=FAST, limiters=limiters or Limiters(), **kw
    )


def v11_calls(bol: FakeBol, client_id: str) -> int:
    return sum(
        1 for path in V11_PATHS for c in bol.calls_to(path) if c.params["client_id"] == client_id
    )


async def stored_for(store: Store, seller_id: str) -> dict[str, int]:
    out = {}
    for table in ("measurements", "shop_ratings", "bol_statuses"):
        row = await store.db.fetchone(
            f"SELECT COUNT(*) AS n FROM {table} WHERE seller_id = ?", (seller_id,)
        )
        out[table] = 0 if row is None else int(row["n"])
    return out


async def test_a_v11_poll_stores_the_figures_the_snapshot_and_rechecks(
    bol: FakeBol, store: Store, config: Config, clock: FixedClock, renders: None
) -> None:
    v11_week(bol, "cid-1")
    # bol.com counts the week that failed (15 of 200 handed over late) as a strike.
    bol.set_performance_status(
        "cid-1",
        strikes={"2026-44": ["HANDOVER"], W46: ["HANDOVER"]},
        points_left=85,
        quality=(W46, 71),
    )
    await connect(store, config, clock, "shop-1", "cid-1", SECRETS["cid-1"])
    chat = await store.chats.get_or_create("telegram", "777", language="nl", now=clock())
    await store.chats.link(chat.id, "shop-1", "test", clock())
    await store.db.execute(
        "INSERT INTO job_runs (job, run_key, done_at) VALUES ('check', ?, ?)",
        (str(WEEK), clock().isoformat()),
    )
    summary = await poll(store, config, clock)
    assert not summary.failed and summary.v10 == {}
    assert summary.fetched == {"shop-1": 8}
    assert summary.no_data == {"shop-1": ["FULFILMENT"]}  # measured as HANDOVER and ON_TIME
    assert (summary.ratings, summary.statuses) == (1, 1)
    assert "1 seller(s), 8 indicator(s), 1 shop rating(s), 1 bol.com status(es)" in (
        summary.describe()
    )
    assert "v10" not in summary.describe()
    # Nine KPI calls in v11's week format, the status and the ratings once; no v10 call.
    assert sorted(c.params["kpi"] for c in bol.calls_to(KPI_PATH)) == sorted(KPIS)
    assert {c.params["week"] for c in bol.calls_to(KPI_PATH)} == {W46}
    assert len(bol.calls_to(STATUS_PATH)) == len(bol.calls_to(RATINGS_PATH)) == 1
    assert bol.calls_to(INDICATOR_PATH) == bol.calls_to(RETAILER_PATH) == []

    rows = await store.db.fetchall(
        "SELECT indicator, numerator, denominator, excluded, source FROM measurements "
        "WHERE seller_id = 'shop-1' AND year = 2026 AND week = 46 ORDER BY indicator"
    )
    figures = {r["indicator"]: (r["numerator"], r["denominator"]) for r in rows}
    assert figures["HANDOVER"] == (185, 200) and figures["ON_TIME"] == (95, 100)
    assert set(figures) == set(KPIS) - {"FULFILMENT"}
    assert {r["source"] for r in rows} == {"bol.com"} and not any(r["excluded"] for r in rows)
    [snapshot] = (await store.bol_statuses.latest(["shop-1"])).values()
    assert snapshot.fetched_at == clock()  # fetched at the poll's moment
    assert snapshot.strikes is not None and snapshot.strikes.count == 2
    assert (snapshot.points_left, snapshot.quality and snapshot.quality.score) == (85, 71)
    rating = await store.db.fetchone("SELECT rating, method, source FROM shop_ratings")
    assert rating is not None and tuple(rating) == (8.6, "THREE_MONTHS", "bol.com")
    # The import owed a recheck of the week already checked; done: HANDOVER failed (15 late).
    assert await store.owed.pending() == []
    planned = await store.db.fetchall("SELECT kind, seller_id, week, sections FROM outbox")
    [alerts] = [r for r in planned if tuple(r)[:3] == ("alerts", "shop-1", "2026-W46")]
    # bol.com's own count is told, not ours beside it.
    assert alerts["sections"] == "bol_strike@2026-W46"


async def test_an_excluded_kpi_is_exempt(
    bol: FakeBol, store: Store, config: Config, clock: FixedClock
) -> None:
    v11_week(bol, "cid-1")
    bol.set_kpi("cid-1", "HANDOVER", W46, numerator=150, denominator=200, excluded=True)
    await connect(store, config, clock, "shop-1", "cid-1", SECRETS["cid-1"])
    await poll(store, config, clock)
    history = (await store.histories.up_to(["shop-1"], WEEK))["shop-1"]
    handover = history.measurement(WEEK, Indicator.HANDOVER)
    assert handover is not None and handover.excluded


@pytest.mark.parametrize(("status", "how"), [(403, "scope"), (404, "refuse"), (406, "refuse")])
async def test_a_seller_bol_does_not_grant_v11_is_polled_with_v10_and_told_once(
    bol: FakeBol,
    store: Store,
    config: Config,
    clock: FixedClock,
    caplog: pytest.LogCaptureFixture,
    status: int,
    how: str,
) -> None:
    caplog.set_level(logging.INFO)
    v11_week(bol, "cid-1")
    v10_week(bol, "cid-2")
    if how == "scope":
        bol.v10_only("cid-2")  # no scope retailer-info.read
    else:
        bol.refuse_v11("cid-2", status)
    await connect(store, config, clock, "shop-1", "cid-1", SECRETS["cid-1"])
    await connect(store, config, clock, "shop-2", "cid-2", SECRETS["cid-2"])
    limiters = Limiters()  # the process's memory
    first = await poll(store, config, clock, limiters)
    assert not first.failed
    assert first.v10 == {"shop-2": status}
    assert first.fetched == {"shop-1": 8, "shop-2": 8}
    lines = first.describe().splitlines()
    assert lines.count(f"v10 for shop-2 (bol.com did not grant v11: {status})") == 1
    assert not [line for line in lines if "shop-1" in line]
    told = [r for r in caplog.records if "did not grant v11" in r.getMessage()]
    assert len(told) == 1 and "shop-2" in told[0].getMessage()
    assert len(bol.calls_to(STATUS_PATH)) >= 1  # shop-1 has its snapshot; shop-2 none
    assert (await stored_for(store, "shop-2"))["bol_statuses"] == 0
    phone = await store.db.fetchone(
        "SELECT 1 FROM measurements WHERE seller_id = 'shop-2' AND indicator = 'PHONE_AVAILABILITY'"
    )
    assert phone is not None  # v10's eighth indicator

    asked = v11_calls(bol, "cid-2")
    assert asked >= 1
    second = await poll(store, config, clock, limiters)
    assert second.v10 == {"shop-2": status}  # still said in this poll's report ...
    assert v11_calls(bol, "cid-2") == asked  # ... without asking bol.com again
    assert len([r for r in caplog.records if "did not grant v11" in r.getMessage()]) == 1


async def test_a_later_run_asks_again(
    bol: FakeBol,
    store: Store,
    config: Config,
    clock: FixedClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    v11_week(bol, "cid-2")
    v10_week(bol, "cid-2")
    bol.v10_only("cid-2")
    await connect(store, config, clock, "shop-2", "cid-2", SECRETS["cid-2"])
    limiters = Limiters()
    assert (await poll(store, config, clock, limiters)).v10 == {"shop-2": 403}
    bol.grant_v11("cid-2")  # the seller grants the scope
    assert (await poll(store, config, clock, limiters)).v10 == {"shop-2": 403}  # remembered
    monkeypatch.setattr("bot.bol.limits.V11_REFUSAL_S", -1.0)  # the memory has run out
    again = await poll(store, config, clock, limiters)
    assert again.v10 == {} and again.statuses == 1
    assert (await poll(store, config, clock)).v10 == {}  # a new process asks at once


def _kpi_value_not_a_number(bol: FakeBol) -> str:
    body = bol.set_kpi("cid-2", "HANDOVER", W46, numerator=185, denominator=200)
    body["score"]["value"] = "0.925"
    return "score.value '0.925' is not a number"


def _strike_count_out_of_range(bol: FakeBol) -> str:
    body = bol.set_performance_status("cid-2", strikes={"2026-44": ["HANDOVER"]})
    body["monitoringSystem"]["strike"]["count"] = 9
    return "monitoringSystem.strike.count 9 is outside 0–7"


def _kpi_without_excluded(bol: FakeBol) -> str:
    del bol.set_kpi("cid-2", "ON_TIME", W46, numerator=95, denominator=100)["excluded"]
    return "excluded is missing"


def _ratings_without_top_retailer(bol: FakeBol) -> str:
    del bol.set_ratings("cid-2", rating=8.6, reviews=40)["isTopRetailer"]
    return "isTopRetailer is missing"


def _violation_without_its_date(bol: FakeBol) -> str:
    bol.set_performance_status("cid-2", violations=[{"violationId": "v-1", "category": "X"}])
    return "policy.violations[0].registrationDateTime is missing"


def _kpi_of_another_week(bol: FakeBol) -> str:
    bol.set_kpi("cid-2", "RETURNS", W46, numerator=4, denominator=150)["period"]["id"] = "2026-45"
    return "answered kpi-scores?kpi=RETURNS&week=2026-46 with RETURNS 2026-45"


def _status_that_is_not_json(bol: FakeBol) -> str:
    bol.answer_raw("cid-2", STATUS_PATH, "<html>maintenance</html>", "text/html")
    return "answered /retailer/retailers/performance-status with something that is not JSON"


def _ratings_in_v10(bol: FakeBol) -> str:
    body = json.dumps(ratings_body(rating=8.6, reviews=40))
    bol.answer_raw("cid-2", RATINGS_PATH, body, "application/vnd.retailer.v10+json")
    return "in application/vnd.retailer.v10+json, not application/vnd.retailer.v11+json"


@pytest.mark.parametrize(
    ("spoil", "reason"),
    [
        (_kpi_value_not_a_number, "rejected"),
        (_strike_count_out_of_range, "rejected"),
        (_kpi_without_excluded, "rejected"),
        (_ratings_without_top_retailer, "rejected"),
        (_violation_without_its_date, "rejected"),
        (_kpi_of_another_week, "rejected"),
        (_status_that_is_not_json, "bol_error"),
        (_ratings_in_v10, "bol_error"),
    ],
)
async def test_a_body_that_does_not_fit_costs_only_its_seller(
    bol: FakeBol,
    store: Store,
    config: Config,
    clock: FixedClock,
    spoil: Callable[[FakeBol], str],
    reason: str,
) -> None:
    v11_week(bol, "cid-1")
    v11_week(bol, "cid-2")
    said = spoil(bol)
    await connect(store, config, clock, "shop-1", "cid-1", SECRETS["cid-1"])
    await connect(store, config, clock, "shop-2", "cid-2", SECRETS["cid-2"])
    summary = await poll(store, config, clock)
    assert summary.fetched == {"shop-1": 8} and summary.statuses == 1
    failure = summary.failed["shop-2"]
    assert failure.reason == reason
    assert said in failure.detail
    assert f"failed: shop-2: {failure}" in summary.describe()
    assert await stored_for(store, "shop-2") == {
        "measurements": 0,
        "shop_ratings": 0,
        "bol_statuses": 0,
    }
    assert await stored_for(store, "shop-1") == {
        "measurements": 8,
        "shop_ratings": 1,
        "bol_statuses": 1,
    }


async def test_a_rejected_body_names_its_place(
    bol: FakeBol, store: Store, config: Config, clock: FixedClock
) -> None:
    v11_week(bol, "cid-2")
    _strike_count_out_of_range(bol)
    await connect(store, config, clock, "shop-2", "cid-2", SECRETS["cid-2"])
    failure = (await poll(store, config, clock)).failed["shop-2"]
    where, _, reason = failure.detail.partition(": ")
    assert reason == "monitoringSystem.strike.count 9 is outside 0–7"
    name, line, column = where.rsplit(":", 2)
    assert name == "bol.com shop-2 2026-W46" and int(line) > 0 and int(column) > 0


async def test_the_real_limits_hold_for_a_sellers_week(
    store: Store, tmp_path: Path, clock: FixedClock
) -> None:
    """bol.com's limits per endpoint (20, 10 and 120 a minute), the minute shrunk to 0.6 s
    for the fake and the client alike: not one 429."""
    window = 0.6
    pacing = RequestBudget(window_s=window, backoff_s=0.01)
    async with FakeBol(dict(SECRETS), v11=True, window_s=window) as bol:
        v11_week(bol, "cid-1")
        config = make_config(
            tmp_path, NORMWACHT_SECRET_KEY=new_key(), BOL_API_URL=bol.url, BOL_LOGIN_URL=bol.url
        )
        await connect(store, config, clock, "shop-1", "cid-1", SECRETS["cid-1"])
        summary = await poll_week(
            store, config, WEEK, now=clock(), pacing=pacing, limiters=Limiters()
        )
    assert bol.rejected_429 == 0
    assert not summary.failed and summary.fetched == {"shop-1": 8}
    assert len(bol.calls_to(KPI_PATH)) == 9


async def test_a_v11_429_is_waited_out(store: Store, tmp_path: Path, clock: FixedClock) -> None:
    """Without the rate-limit headers (which would have told the client its budget) a
    client told 1000 a second gets 429s, and waits each out."""
    async with FakeBol(
        dict(SECRETS), v11=True, window_s=0.5, v11_limits={KPI_PATH: 4}, rate_headers=False
    ) as bol:
        v11_week(bol, "cid-1")
        config = make_config(
            tmp_path, NORMWACHT_SECRET_KEY=new_key(), BOL_API_URL=bol.url, BOL_LOGIN_URL=bol.url
        )
        await connect(store, config, clock, "shop-1", "cid-1", SECRETS["cid-1"])
        summary = await poll(store, config, clock)
    assert not summary.failed and summary.fetched == {"shop-1": 8}
    assert bol.rejected_429 >= 1
    assert len(bol.calls_to(KPI_PATH)) == 9 + bol.rejected_429


async def test_the_client_takes_on_the_budget_bol_com_states(
    store: Store, tmp_path: Path, clock: FixedClock
) -> None:
    async with FakeBol(dict(SECRETS), v11=True, window_s=0.5, v11_limits={KPI_PATH: 4}) as bol:
        v11_week(bol, "cid-1")
        config = make_config(
            tmp_path, NORMWACHT_SECRET_KEY=new_key(), BOL_API_URL=bol.url, BOL_LOGIN_URL=bol.url
        )
        await connect(store, config, clock, "shop-1", "cid-1", SECRETS["cid-1"])
        limiters = Limiters()
        summary = await poll(store, config, clock, limiters)
        kpi = limiters.for_client(bol.url, "cid-1", FAST, KPI_SCORES)
    assert not summary.failed and summary.fetched == {"shop-1": 8}
    assert kpi.requests == 4  # told 1000 a window; bol.com's headers said 4


def test_the_rate_limit_headers_are_honoured() -> None:
    limiter = ClientLimiter(requests=20, window_s=60.0, interval_s=3.15)
    limiter.observe({"x-ratelimit-limit": "20", "x-ratelimit-remaining": "5"})
    assert (limiter.requests, limiter.blocked_s) == (20, 0.0)
    limiter.observe({"x-ratelimit-limit": "10", "x-ratelimit-remaining": "0"})
    assert limiter.requests == 10  # bol.com lowered the limit: ours follows
    assert limiter.interval_s == pytest.approx(6.3)
    limiter.observe({"x-ratelimit-remaining": "0", "x-ratelimit-reset": "30"})
    assert 29 < limiter.blocked_s <= 30  # the spent budget is replenished in 30 s
    limiter.observe({"x-ratelimit-limit": "500", "x-ratelimit-reset": "soon"})
    assert limiter.requests == 10  # never more than we were told


async def test_a_provisional_poll_uses_v11(
    bol: FakeBol, store: Store, config: Config, clock: FixedClock
) -> None:
    v11_week(bol, "cid-1", "2026-47", late=30)  # the running week so far
    await connect(store, config, clock, "shop-1", "cid-1", SECRETS["cid-1"])
    result = await poll_provisional(store, config, clock(), pacing=FAST, limiters=Limiters())
    assert result.week == IsoWeek(2026, 47)
    assert result.warnings == {"shop-1": (Indicator.HANDOVER,)}
    assert result.v10 == {}
    assert bol.calls_to(INDICATOR_PATH) == [] and bol.calls_to(STATUS_PATH) == []
    assert await store.db.fetchall("SELECT * FROM measurements") == []
