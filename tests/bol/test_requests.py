"""What bol.com receives: the requests the client builds once and reuses carry exactly the
headers and URLs httpx's own client would send for them."""

from __future__ import annotations

import json

import httpx

from bot.bol.api import (
    INDICATOR_PATH,
    KPI_PATH,
    MEDIA_TYPE,
    TOKEN_PATH,
    V11_MEDIA_TYPE,
    BolApi,
    Limiters,
    RequestBudget,
)
from norms import IsoWeek

ROOT = "https://api.bol.example"
LOGIN = "https://login.bol.example"
WEEK = IsoWeek(2026, 46)


def answer(request: httpx.Request) -> httpx.Response:
    if request.url.path == TOKEN_PATH:
        body = {"access_token": "tok-1", "expires_in": 299}
        return httpx.Response(200, json=body)
    if request.url.path == KPI_PATH:
        kpi, week = request.url.params["kpi"], request.url.params["week"]
        body = {"kpi": kpi, "period": {"id": week}, "score": None}
        return httpx.Response(
            200, content=json.dumps(body), headers={"Content-Type": V11_MEDIA_TYPE}
        )
    body = {"performanceIndicators": []}
    return httpx.Response(200, content=json.dumps(body), headers={"Content-Type": MEDIA_TYPE})


def as_sent(request: httpx.Request) -> tuple[str, str, list[tuple[str, str]]]:
    headers = sorted((k.lower(), v) for k, v in request.headers.multi_items())
    return request.method, str(request.url), headers


def httpx_would_send(
    method: str, url: str, params: dict[str, str], headers: dict[str, str], auth: httpx.Auth
) -> tuple[str, str, list[tuple[str, str]]]:
    """The request httpx's own client builds for these (its default headers, Host, the
    Content-Length of a POST) after ``auth``."""
    with httpx.Client() as client:
        request = client.build_request(method, url, params=params, headers=headers)
    return as_sent(next(auth.sync_auth_flow(request)))


async def test_the_headers_and_urls_sent_are_httpx_s_own() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return answer(request)

    pacing = RequestBudget(requests=1000, window_s=1.0, kpi_requests=1000)
    async with BolApi(
        ROOT, LOGIN, pacing=pacing, limiters=Limiters(), transport=httpx.MockTransport(handler)
    ) as api:
        client = api.client("cid-0001", "s3cret")
        await client.performance_indicator("FULFILMENT", WEEK)
        await client.performance_indicator("REVIEWS", WEEK)
        await client.kpi_score("HANDOVER", WEEK)
        other = api.client("cid-0002", "an:other")
        await other.performance_indicator("FULFILMENT", WEEK)

    bearer = httpx.Auth()
    assert [as_sent(r) for r in seen] == [
        httpx_would_send(
            "POST",
            f"{LOGIN}{TOKEN_PATH}",
            {"grant_type": "client_credentials"},
            {"Accept": "application/json"},
            httpx.BasicAuth("cid-0001", "s3cret"),
        ),
        httpx_would_send(
            "GET",
            f"{ROOT}{INDICATOR_PATH}",
            {"name": "FULFILMENT", "year": "2026", "week": "46"},
            {"Accept": MEDIA_TYPE, "Authorization": "Bearer tok-1"},
            bearer,
        ),
        httpx_would_send(
            "GET",
            f"{ROOT}{INDICATOR_PATH}",
            {"name": "REVIEWS", "year": "2026", "week": "46"},
            {"Accept": MEDIA_TYPE, "Authorization": "Bearer tok-1"},
            bearer,
        ),
        httpx_would_send(
            "GET",
            f"{ROOT}{KPI_PATH}",
            {"kpi": "HANDOVER", "week": "2026-46"},
            {"Accept": V11_MEDIA_TYPE, "Authorization": "Bearer tok-1"},
            bearer,
        ),
        httpx_would_send(
            "POST",
            f"{LOGIN}{TOKEN_PATH}",
            {"grant_type": "client_credentials"},
            {"Accept": "application/json"},
            httpx.BasicAuth("cid-0002", "an:other"),
        ),
        httpx_would_send(
            "GET",
            f"{ROOT}{INDICATOR_PATH}",
            {"name": "FULFILMENT", "year": "2026", "week": "46"},
            {"Accept": MEDIA_TYPE, "Authorization": "Bearer tok-1"},
            bearer,
        ),
    ]
