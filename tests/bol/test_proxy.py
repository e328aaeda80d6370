"""bol.com behind a proxy: the environment's proxy settings are honoured as httpx's own
client honours them; without one the keep-alive pool speaks to bol.com directly."""

from __future__ import annotations

import httpx
import pytest

from bot.bol.api import BolApi, proxy_for
from bot.bol.transport import KeepAlivePool

API = "https://api.bol.com"
LOGIN = "https://login.bol.com"
PROXY_VARIABLES = ("HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY", "NO_PROXY")


@pytest.fixture(autouse=True)
def no_proxies(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)


def test_without_a_proxy_bol_com_is_asked_directly() -> None:
    assert proxy_for(API, LOGIN) is None


@pytest.mark.parametrize("variable", ["HTTPS_PROXY", "https_proxy", "ALL_PROXY"])
def test_the_environments_proxy_for_https_is_used(
    monkeypatch: pytest.MonkeyPatch, variable: str
) -> None:
    monkeypatch.setenv(variable, "http://proxy.example:3128")
    assert proxy_for(API, LOGIN) == "http://proxy.example:3128"
    # A proxy for plain HTTP only does not carry bol.com's HTTPS.
    monkeypatch.delenv(variable)
    monkeypatch.setenv("HTTP_PROXY", "http://proxy.example:3128")
    assert proxy_for(API, LOGIN) is None


def test_no_proxy_exempts_bol_com(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    monkeypatch.setenv("NO_PROXY", ".bol.com")
    assert proxy_for(API, LOGIN) is None
    monkeypatch.setenv("NO_PROXY", "api.bol.com")
    assert proxy_for(API, LOGIN) == "http://proxy.example:3128"  # the login is proxied


async def test_behind_a_proxy_httpxs_transport_carries_the_requests(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    api = BolApi(API, LOGIN)
    assert isinstance(api._pool, KeepAlivePool)
    await api.aclose()
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    api = BolApi(API, LOGIN)
    try:
        assert isinstance(api._pool, httpx.AsyncHTTPTransport)
        # httpcore's pool behind it goes through the proxy.
        assert type(api._pool._pool).__name__ == "AsyncHTTPProxy"
    finally:
        await api.aclose()
