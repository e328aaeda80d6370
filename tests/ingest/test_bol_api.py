"""The bol.com client against the real-HTTP fake: tokens, pacing, 429, retries, secrecy."""

from __future__ import annotations

import asyncio
import base64
import itertools
import logging
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from bot.bol.api import (
    INDICATOR_NAMES,
    BadCredentials,
    BolApi,
    BolUnavailable,
    ClientLimiter,
    Limiters,
    RequestBudget,
    check_credentials,
    retry_after,
)
from norms import IsoWeek
from tests.conftest import make_config
from tests.fakes.bol import INDICATOR_PATH, RETAILER_PATH, TOKEN_PATH, FakeBol

WEEK = IsoWeek(2026, 46)
SECRET = "s3cret-Zq8vX1-never-shown"
FAST = RequestBudget(requests=1000, window_s=1.0, backoff_s=0.01, max_backoff_s=0.05)


class ManualClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def manual() -> ManualClock:
    return ManualClock()


@pytest.fixture
async def bol(manual: ManualClock) -> AsyncIterator[FakeBol]:
    async with FakeBol({"cid": SECRET}, clock=manual) as fake:
        fake.set_indicator("cid", "FULFILMENT", 2026, 46, numerator=135, denominator=150)
        yield fake


def api_for(bol: FakeBol, pacing: RequestBudget = FAST, clock: ManualClock | None = None) -> BolApi:
    return BolApi(
        bol.url, bol.url, pacing=pacing, limiters=Limiters(), clock=clock or time.monotonic
    )


async def test_fetches_the_eight_indicators_and_the_shop(bol: FakeBol) -> None:
    bol.set_retailer("cid", rating=8.6, reviews=40, top_retailer=True)
    async with api_for(bol) as api:
        client = api.client("cid", SECRET)
        items = await client.performance_indicators(WEEK)
        shop = await client.retailer_current()
    assert sorted(i["name"] for i in items) == sorted(INDICATOR_NAMES)
    fulfilment = next(i for i in items if i["name"] == "FULFILMENT")
    assert fulfilment["details"]["score"]["numerator"] == 135
    assert shop["topRetailer"] is True
    assert shop["retailerRating"]["retailerRating"] == 8.6
    assert bol.tokens_issued == 1  # nine calls, one token


async def test_token_is_renewed_shortly_before_it_expires(
    bol: FakeBol, manual: ManualClock
) -> None:
    async with api_for(bol, clock=manual) as api:
        client = api.client("cid", SECRET)
        await client.performance_indicator("FULFILMENT", WEEK)
        manual.now += 260  # 299 s tokens: still 39 s left, more than the 30 s margin
        await client.performance_indicator("FULFILMENT", WEEK)
        assert bol.tokens_issued == 1
        manual.now += 10  # 29 s left: renew before bol.com would refuse it
        await client.performance_indicator("FULFILMENT", WEEK)
    assert bol.tokens_issued == 2
    assert len(bol.calls_to(INDICATOR_PATH)) == 3  # no call was refused


async def test_an_expired_token_is_renewed_once(bol: FakeBol) -> None:
    async with api_for(bol) as api:
        client = api.client("cid", SECRET)
        await client.performance_indicator("FULFILMENT", WEEK)
        bol.expire_tokens()
        body = await client.performance_indicator("FULFILMENT", WEEK)
    assert body["performanceIndicators"][0]["name"] == "FULFILMENT"
    assert bol.tokens_issued == 2
    assert len(bol.calls_to(INDICATOR_PATH)) == 3  # the refused call, then its retry


async def test_bad_credentials_are_refused_with_one_token_request(bol: FakeBol) -> None:
    async with api_for(bol) as api:
        client = api.client("cid", "wrong", seller="shop-1")
        with pytest.raises(
            BadCredentials, match=r"^bol.com refused the credentials of the client of seller shop-1"
        ):
            await client.performance_indicators(WEEK)
        with pytest.raises(BadCredentials):
            await client.retailer_current()
    assert len(bol.calls_to(TOKEN_PATH)) == 1  # eight concurrent calls, one refusal, no storm
    assert bol.calls_to(INDICATOR_PATH) == []


async def test_a_429_is_waited_out_for_exactly_retry_after() -> None:
    async with FakeBol({"cid": SECRET}, rate_limit=4, window_s=1.0) as bol:
        async with api_for(bol) as api:  # told 1000 a second: bol.com will say no
            started = time.monotonic()
            items = await api.client("cid", SECRET).performance_indicators(WEEK)
            elapsed = time.monotonic() - started
        calls = [c.at for c in bol.calls_to(INDICATOR_PATH)]
    assert len(items) == 8
    assert bol.rejected_429 >= 1
    assert len(calls) == 8 + bol.rejected_429
    # Retry-After was 1 s: nothing was sent in the second after the first refusal.
    gaps = [b - a for a, b in itertools.pairwise(calls)]
    assert max(gaps) >= 0.95
    assert elapsed >= 1.0  # the wait that Retry-After asked for


async def test_requests_are_spread_to_stay_within_the_limit() -> None:
    pacing = RequestBudget(requests=20, window_s=0.4)
    async with FakeBol({"cid": SECRET}, rate_limit=20, window_s=0.4) as bol:
        async with api_for(bol, pacing) as api:
            client = api.client("cid", SECRET)
            for week in (WEEK, WEEK.shift(-1), WEEK.shift(-2)):  # 24 requests > 20 a window
                await client.performance_indicators(week)
        calls = [c.at for c in bol.calls_to(INDICATOR_PATH)]
    assert bol.rejected_429 == 0
    assert len(calls) == 24
    # Spread out, not in a burst: 24 requests take at least 23 intervals. (A loaded machine
    # can only stretch this, so the bound holds however busy the test run is.)
    assert calls[-1] - calls[0] >= 23 * pacing.interval_s * 0.9


async def test_the_window_holds_however_tight_the_spacing() -> None:
    limiter = ClientLimiter(requests=3, window_s=0.3, interval_s=0.0)
    started = time.monotonic()
    sent: list[float] = []

    async def request() -> None:
        async with limiter.slot():
            sent.append(time.monotonic() - started)
            await asyncio.sleep(0.02)  # the answer takes a while: the window counts from it

    await asyncio.gather(*(request() for _ in range(6)))
    assert max(sent[:3]) < 0.25  # at once (well inside the window)
    assert min(sent[3:]) >= 0.32  # 0.3 s after the first answers came back


async def test_5xx_is_retried_with_backoff(bol: FakeBol) -> None:
    bol.fail_next(TOKEN_PATH, 500)
    bol.fail_next(INDICATOR_PATH, 503, times=2)
    bol.fail_next(RETAILER_PATH, 502)
    async with api_for(bol) as api:
        client = api.client("cid", SECRET)
        body = await client.performance_indicator("FULFILMENT", WEEK)
        await client.retailer_current()
    assert body["performanceIndicators"][0]["details"]["score"]["denominator"] == 150
    assert len(bol.calls_to(TOKEN_PATH)) == 2
    assert len(bol.calls_to(INDICATOR_PATH)) == 3


async def test_retries_are_bounded(bol: FakeBol) -> None:
    bol.fail_next(INDICATOR_PATH, 503, times=FAST.attempts)
    async with api_for(bol) as api:
        with pytest.raises(BolUnavailable, match="after 4 attempts"):
            await api.client("cid", SECRET).performance_indicator("FULFILMENT", WEEK)
    assert len(bol.calls_to(INDICATOR_PATH)) == FAST.attempts


async def test_connection_errors_are_retried_then_reported() -> None:
    async with FakeBol() as gone:
        url = gone.url  # a port nobody listens on once the fake stops
    async with BolApi(url, url, pacing=FAST, limiters=Limiters()) as api:
        with pytest.raises(BolUnavailable, match="ConnectError"):
            await api.client("cid", SECRET).token()


def test_retry_after_reads_seconds_and_dates() -> None:
    def answer(value: str | None) -> httpx.Response:
        return httpx.Response(429, headers={} if value is None else {"Retry-After": value})

    assert retry_after(answer("7")) == 7.0
    assert retry_after(answer(None)) is None
    assert retry_after(answer("soon")) is None
    assert retry_after(answer("Wed, 21 Oct 2015 07:28:00 GMT")) == 0.0  # in the past


async def test_the_secret_is_never_shown_or_logged(
    bol: FakeBol, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    client_id = "client-ID-value-0815-abc"  # stored sealed like the secret: never shown either
    bol.add_client(client_id, SECRET)
    basic = base64.b64encode(f"{client_id}:{SECRET}".encode()).decode()
    bol.fail_next(INDICATOR_PATH, 503)
    bol.fail_next(TOKEN_PATH, 503)
    async with api_for(bol) as api:
        good, bad = api.client(client_id, SECRET), api.client(client_id, SECRET + "x")
        await good.performance_indicators(WEEK)
        with pytest.raises(BadCredentials) as refused:
            await bad.token()
        shown = [repr(good), str(good), repr(bad), repr(api), str(refused.value)]
    assert "secret=<hidden>" in repr(good)
    for text in [*shown, caplog.text]:
        assert SECRET not in text
        assert basic not in text
        assert "client-ID-value" not in text
    assert "client …-abc" in caplog.text  # the log names the client by its last four
    assert str(refused.value) == "bol.com refused the credentials of client …-abc (HTTP 401)"


async def test_check_credentials_for_connect(bol: FakeBol, tmp_path: Path) -> None:
    config = make_config(tmp_path, BOL_API_URL=bol.url, BOL_LOGIN_URL=bol.url)
    check = check_credentials(config, pacing=FAST)
    assert await check("cid", SECRET) is None
    assert await check("cid", "wrong") == "bad_credentials"
    assert await check("", "") == "bad_credentials"
    bol.fail_next(TOKEN_PATH, 503, times=FAST.attempts)
    assert await check("cid", SECRET) == "unreachable"
