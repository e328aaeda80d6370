"""bol.com behind a proxy: the environment's proxy settings are honoured per URL as
httpx's own client honours them; without one the keep-alive pool speaks to bol.com
directly."""

from __future__ import annotations

import httpx
import pytest

from bot.bol.api import BolApi
from bot.bol.transport import KeepAlivePool, Proxied, proxy_for

API = "https://api.bol.com"
LOGIN = "https://login.bol.com"
PROXY_VARIABLES = ("HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY", "NO_PROXY")


@pytest.fixture(autouse=True)
def no_proxies(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)


def test_without_a_proxy_bol_com_is_asked_directly() -> None:
    assert proxy_for(API) is None
    assert proxy_for(LOGIN) is None


@pytest.mark.parametrize("variable", ["HTTPS_PROXY", "https_proxy", "ALL_PROXY"])
def test_the_environments_proxy_for_https_is_used(
    monkeypatch: pytest.MonkeyPatch, variable: str
) -> None:
    monkeypatch.setenv(variable, "http://proxy.example:3128")
    assert proxy_for(API) == "http://proxy.example:3128"
    # A proxy for plain HTTP only does not carry bol.com's HTTPS.
    monkeypatch.delenv(variable)
    monkeypatch.setenv("HTTP_PROXY", "http://proxy.example:3128")
    assert proxy_for(API) is None


def test_a_proxy_without_a_scheme_is_spoken_to_in_plain_http(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "proxy.example:3128")
    assert proxy_for(API) == "http://proxy.example:3128"


def test_no_proxy_exempts_each_host_it_names(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    monkeypatch.setenv("NO_PROXY", ".bol.com")
    assert proxy_for(API) is None
    assert proxy_for(LOGIN) is None
    monkeypatch.setenv("NO_PROXY", "api.bol.com")
    assert proxy_for(API) is None
    assert proxy_for(LOGIN) == "http://proxy.example:3128"


async def test_requests_go_through_the_proxy_only_where_one_is_named(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    api = BolApi(API, LOGIN)
    assert isinstance(api._pool, KeepAlivePool)
    await api.aclose()
    monkeypatch.setenv("HTTPS_PROXY", "proxy.example:3128")
    monkeypatch.setenv("NO_PROXY", "api.bol.com")
    api = BolApi(API, LOGIN)
    try:
        pool = api._pool
        assert isinstance(pool, Proxied)
        assert pool.transport_for(httpx.URL(f"{API}/retailer/insights")) is pool.direct
        assert isinstance(pool.direct, KeepAlivePool)
        login = pool.transport_for(httpx.URL(f"{LOGIN}/token?grant_type=client_credentials"))
        assert isinstance(login, httpx.AsyncHTTPTransport)
        # httpcore's pool behind it goes through the proxy.
        assert type(login._pool).__name__ == "AsyncHTTPProxy"
    finally:
        await api.aclose()
