"""The bol.com Retailer API: a token per client; v10's eight weekly indicators and the
shop; v11's KPI scores, performance status and ratings.

One ``BolApi`` holds the HTTP connections (``httpx.AsyncClient``) and hands out a
``BolClient`` per seller's API credentials. Every client keeps within bol.com's limits per
endpoint (``bot.bol.limits``), spread evenly; a 429 is waited out for exactly its
``Retry-After``, and the rate-limit headers are honoured; 5xx, timeouts and connection
errors are retried with backoff and jitter. A v11 call that bol.com answers 403, 404 or 406
raises ``V11Unavailable``: these credentials get v10. The client secret is never logged and
never shown by ``repr``.
"""

from __future__ import annotations

import asyncio
import base64
import functools
import logging
import random
import ssl
import time
from collections.abc import Awaitable, Callable, Coroutine
from contextlib import nullcontext
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self, TypeVar

import httpx

from bot.bol.limits import (
    ENDPOINTS,
    KPI_SCORES,
    PERFORMANCE,
    PERFORMANCE_STATUS,
    RATINGS,
    SHARED_LIMITERS,
    ClientLimiter,
    Limiters,
    RequestBudget,
    retry_after,
)
from bot.bol.transport import pool_for
from bot.metrics import POLL_ERRORS, POLL_REQUESTS, RATE_LIMITED
from norms import IsoWeek
from norms.model import INDICATORS, V10_INDICATORS, Indicator

if TYPE_CHECKING:
    from bot.config import Config

log = logging.getLogger(__name__)

MEDIA_TYPE = "application/vnd.retailer.v10+json"
V11_MEDIA_TYPE = "application/vnd.retailer.v11+json"
TOKEN_PATH = "/token"
TOKEN_PARAMS = (("grant_type", "client_credentials"),)
INDICATOR_PATH = "/retailer/insights/performance/indicator"
RETAILER_PATH = "/retailer/retailers/current"
KPI_PATH = "/retailer/retailers/kpi-scores"
STATUS_PATH = "/retailer/retailers/performance-status"
RATINGS_PATH = "/retailer/retailers/current/ratings"
INDICATOR_NAMES: tuple[str, ...] = tuple(i.value for i in V10_INDICATORS)
# v11's KPIs, one call each: v10's but PHONE_AVAILABILITY, and HANDOVER and ON_TIME.
KPI_NAMES: tuple[str, ...] = tuple(
    sorted(i.value for i in INDICATORS if i is not Indicator.PHONE_AVAILABILITY)
)
# What bol.com answers a v11 call of credentials it does not grant v11: no scope
# retailer-info.read (403), no such endpoint (404), no such version (406).
V11_REFUSALS = frozenset({403, 404, 406})

JSON = dict[str, Any]
CredentialCheck = Callable[[str, str], Awaitable[str | None]]
T = TypeVar("T")

# Why a seller could not be polled: a code for the message templates, and what it means.
REASONS = {
    "bad_credentials": "bol.com refused these credentials",
    "unreachable": "bol.com did not answer",
    "rate_limited": "bol.com kept answering 'too many requests'",
    "bol_error": "bol.com answered with an error",
    "cannot_decrypt": "the stored credentials cannot be decrypted with NORMWACHT_SECRET_KEY",
    "no_credentials": "no bol.com credentials are stored",
    "rejected": "the data bol.com sent did not pass the import checks",
    "v11_unavailable": "bol.com did not grant these credentials Retailer API v11",
    "unexpected": "an unexpected error",
}

# The limits are part of the client's surface (bot.bol.limits keeps them): re-exported.
__all__ = [
    "ENDPOINTS",
    "SHARED_LIMITERS",
    "ClientLimiter",
    "Limiters",
    "RequestBudget",
    "retry_after",
]


class BolError(Exception):
    """A request to bol.com that did not succeed; ``reason`` is a code of ``REASONS``."""

    reason = "bol_error"


class BadCredentials(BolError):
    """The token endpoint refused the client id and secret (HTTP 401)."""

    reason = "bad_credentials"


class BolUnavailable(BolError):
    """5xx, timeouts or connection errors on every attempt."""

    reason = "unreachable"


class RateLimited(BolError):
    """429 on every attempt, even after waiting ``Retry-After``."""

    reason = "rate_limited"


class V11Unavailable(BolError):
    """bol.com does not grant these credentials Retailer API v11 (HTTP ``status``: 403
    without the scope ``retailer-info.read``, 404 or 406): poll them with v10."""

    reason = "v11_unavailable"

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


class WrongAnswer(BolError):
    """bol.com answered another question than the one asked (another KPI or week)."""

    reason = "rejected"


class BolApi:
    """The HTTP side of the bol.com API: connections, retries, limits; ``async with`` it."""

    def __init__(
        self,
        api_url: str,
        login_url: str,
        *,
        pacing: RequestBudget | None = None,
        limiters: Limiters | None = None,
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        """``clock`` drives token expiry; ``limiters`` default to the process-wide ones;
        ``transport`` defaults to a keep-alive pool of ``pacing.connections``."""
        self.api_url = api_url.rstrip("/")
        self.login_url = login_url.rstrip("/")
        self.pacing = pacing or RequestBudget()
        self.limiters = limiters if limiters is not None else SHARED_LIMITERS
        self.clock = clock
        self._rng = rng or random.Random()
        self._in_flight = asyncio.Semaphore(self.pacing.connections)
        self._pool = transport or _transport(self.pacing.connections, self.api_url, self.login_url)
        self._timeouts = httpx.Timeout(self.pacing.timeout_s).as_dict()

    @classmethod
    def from_config(
        cls,
        config: Config,
        *,
        pacing: RequestBudget | None = None,
        limiters: Limiters | None = None,
    ) -> BolApi:
        return cls(config.bol_api_url, config.bol_login_url, pacing=pacing, limiters=limiters)

    def client(self, client_id: str, secret: str, *, seller: str | None = None) -> BolClient:
        """The API client of one set of credentials (``seller``: whose, for logs)."""
        limiters = {
            e: self.limiters.for_client(self.api_url, client_id, self.pacing, e) for e in ENDPOINTS
        }
        return BolClient(self, client_id, secret, limiters, seller=seller)

    async def aclose(self) -> None:
        await self._pool.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        return f"BolApi(api_url={self.api_url!r}, login_url={self.login_url!r})"

    async def send(
        self,
        method: str,
        url: httpx.URL,
        *,
        client: str,
        headers: httpx.Headers,
        limiter: ClientLimiter | None = None,
    ) -> httpx.Response:
        """One request, retried: 5xx/timeouts/connection errors back off, 429 waits.

        Returns any other answer (2xx or 4xx) for the caller to judge. ``client`` names
        whose request it is in logs and errors (never the client id itself). ``url`` and
        ``headers`` are whole (``bol_url``, ``request_headers``): nothing is added to them.
        """
        failures = throttled = 0
        while True:
            POLL_REQUESTS.inc()
            try:
                async with limiter.slot() if limiter else nullcontext(), self._in_flight:
                    response = await self._exchange(method, url, headers)
            except httpx.TransportError as exc:  # timeouts, refused or dropped connections
                problem = type(exc).__name__
            else:
                if limiter is not None:
                    limiter.observe(response.headers)
                if response.status_code == 429:
                    RATE_LIMITED.labels("bol").inc()
                    throttled += 1
                    if throttled > self.pacing.max_throttled:
                        raise RateLimited(f"bol.com answered 429 {throttled} times to {client}")
                    wait = retry_after(response)
                    if wait is None:
                        wait = self._backoff(throttled)
                    log.info("bol.com asks %s to wait %.1f s", client, wait)
                    if limiter is not None:
                        limiter.block(wait)
                    else:
                        await asyncio.sleep(wait)
                    continue
                if response.status_code < 500:
                    return response
                problem = f"HTTP {response.status_code}"
            POLL_ERRORS.labels(problem).inc()
            failures += 1
            if failures >= self.pacing.attempts:
                raise BolUnavailable(
                    f"bol.com did not answer {client} ({problem}) after {failures} attempts"
                )
            delay = self._backoff(failures)
            log.warning("bol.com: %s for %s; retry %d in %.1f s", problem, client, failures, delay)
            await asyncio.sleep(delay)

    async def _exchange(
        self, method: str, url: httpx.URL, headers: httpx.Headers
    ) -> httpx.Response:
        """One request through the pool, its answer read whole. Straight to the transport:
        bol.com's API needs none of a client's cookies, redirects or auth flows."""
        request = httpx.Request(
            method, url, headers=headers, stream=NO_BODY, extensions={"timeout": self._timeouts}
        )
        response = await self._pool.handle_async_request(request)
        await response.aread()
        return response

    def _backoff(self, attempt: int) -> float:
        """Exponential backoff with jitter: between half and all of base * 2^(attempt-1)."""
        ceiling = min(self.pacing.max_backoff_s, self.pacing.backoff_s * 2.0 ** (attempt - 1))
        return ceiling * (0.5 + self._rng.random() / 2)


def _transport(connections: int, *urls: str) -> httpx.AsyncBaseTransport:
    """Our keep-alive pool, with httpx's own transport for the URLs behind a proxy."""
    return pool_for(urls, connections=connections, ssl_context=_tls())


@functools.cache
def _tls() -> ssl.SSLContext:
    """The certificates bol.com is checked against, read once a process (reading them
    costs more than a whole poll's requests but one: tens of milliseconds)."""
    return httpx.create_ssl_context()


NO_BODY = httpx.ByteStream(b"")
# What httpx's own client sends with every request (the connection's Host aside).
COMMON_HEADERS = (
    (b"Accept-Encoding", b"gzip, deflate"),
    (b"Connection", b"keep-alive"),
    (b"User-Agent", f"python-httpx/{httpx.__version__}".encode("ascii")),
)


@functools.lru_cache(maxsize=1024)
def bol_url(root: str, path: str, params: tuple[tuple[str, str], ...] = ()) -> httpx.URL:
    """The URL of ``path`` under ``root`` with ``params``: every seller asks the same few
    URLs (eight indicators of a week, nine KPIs, ...), so each is parsed once a process."""
    return httpx.URL(f"{root}{path}", params=params or None)


def request_headers(url: httpx.URL, *pairs: tuple[str, str]) -> httpx.Headers:
    """Every header of a request to ``url`` (Host, httpx's usual ones and ``pairs``), built
    once and sent as they are: a client keeps them while its token lasts."""
    return httpx.Headers(
        [(b"Host", url.netloc), *COMMON_HEADERS, *((k.encode(), v.encode()) for k, v in pairs)]
    )


def client_name(client_id: str) -> str:
    """A client id as logs may show it: its last four characters only."""
    return f"client …{client_id[-4:]}" if len(client_id) > 4 else "client …"


class BolClient:
    """One seller's API credentials: a cached token and the calls ``poll`` makes."""

    __slots__ = (
        "_api",
        "_bearer",
        "_expires_at",
        "_limiters",
        "_refused",
        "_secret",
        "_token",
        "_token_lock",
        "client_id",
        "name",
    )

    def __init__(
        self,
        api: BolApi,
        client_id: str,
        secret: str,
        limiters: dict[str, ClientLimiter],
        *,
        seller: str | None = None,
    ) -> None:
        self._api = api
        self.client_id = client_id
        # The client id is stored sealed like the secret: logs and errors name the seller,
        # or only the id's last four characters.
        self.name = f"the client of seller {seller}" if seller else client_name(client_id)
        self._secret = secret
        self._limiters = limiters
        self._token: str | None = None
        # The headers of the API's requests with the token, per URL root and media type.
        self._bearer: dict[tuple[bytes, str], tuple[str, httpx.Headers]] = {}
        self._expires_at = 0.0
        self._refused: BadCredentials | None = None
        self._token_lock = asyncio.Lock()

    def __repr__(self) -> str:
        return f"BolClient({self.name}, secret=<hidden>)"

    async def token(self) -> str:
        """A valid access token: the cached one until shortly before it expires, else new."""
        token = self._token
        if token is not None and self._api.clock() < self._expires_at:
            return token  # every request asks: a valid token needs no lock (nothing awaits)
        async with self._token_lock:
            if self._refused is not None:
                raise self._refused  # once refused, never ask again with the same secret
            if self._token is not None and self._api.clock() < self._expires_at:
                return self._token
            url = bol_url(self._api.login_url, TOKEN_PATH, TOKEN_PARAMS)
            response = await self._api.send(
                "POST",
                url,
                client=self.name,
                headers=request_headers(
                    url,
                    ("Accept", "application/json"),
                    ("Content-Length", "0"),
                    ("Authorization", basic_auth(self.client_id, self._secret)),
                ),
            )
            status = response.status_code
            if status == 401 or (
                status in (400, 403)
                and _oauth_error(response) in ("invalid_client", "unauthorized_client")
            ):
                self._refused = BadCredentials(
                    f"bol.com refused the credentials of {self.name} (HTTP {status})"
                )
                raise self._refused
            body = _json(response, "the token endpoint")
            token, expires_in = body.get("access_token"), body.get("expires_in", 299)
            if not isinstance(token, str) or not isinstance(expires_in, int | float):
                raise BolError("the token endpoint answered without an access token")
            margin = min(self._api.pacing.token_margin_s, expires_in / 2)
            self._token, self._expires_at = token, self._api.clock() + expires_in - margin
            log.debug("bol.com token for %s, valid %s s", self.name, expires_in)
            return token

    async def _get(
        self,
        path: str,
        params: dict[str, str],
        *,
        endpoint: str | None,
        media_type: str = MEDIA_TYPE,
    ) -> JSON:
        """GET ``path``, paced by ``endpoint``'s limiter (None: unpaced)."""
        renewed = False
        url = bol_url(self._api.api_url, path, tuple(params.items()))
        while True:
            token = await self.token()
            response = await self._api.send(
                "GET",
                url,
                client=self.name,
                headers=self._headers(url, media_type, token),
                limiter=None if endpoint is None else self._limiters[endpoint],
            )
            if response.status_code == 401 and not renewed:
                # Expired or revoked early: renew once, then believe the answer.
                async with self._token_lock:
                    if self._token == token:
                        self._token = None
                renewed = True
                continue
            if media_type == V11_MEDIA_TYPE and response.status_code in V11_REFUSALS:
                status = response.status_code
                raise V11Unavailable(
                    f"bol.com did not grant {self.name} v11 ({path}: HTTP {status})", status
                )
            return _json(response, path, media_type)

    def _headers(self, url: httpx.URL, media_type: str, token: str) -> httpx.Headers:
        """The headers of an API request with ``token``: built once per token, URL root
        and media type, not at every request."""
        key = (url.netloc, media_type)
        found = self._bearer.get(key)
        if found is not None and found[0] == token:
            return found[1]
        headers = request_headers(url, ("Accept", media_type), ("Authorization", f"Bearer {token}"))
        self._bearer[key] = (token, headers)
        return headers

    # --- Retailer API v10 ------------------------------------------------------------------

    async def performance_indicator(self, name: str, week: IsoWeek) -> JSON:
        """The v10 body of one indicator of one week: ``{"performanceIndicators": [...]}``."""
        params = {"name": name, "year": str(week.year), "week": str(week.week)}
        return await self._get(INDICATOR_PATH, params, endpoint=PERFORMANCE)

    async def performance_indicators(self, week: IsoWeek) -> list[JSON]:
        """All eight indicators of ``week``: the items of the eight bodies, in one list."""
        bodies = await all_of([self.performance_indicator(n, week) for n in INDICATOR_NAMES])
        items: list[JSON] = []
        for body in bodies:
            found = body.get("performanceIndicators")
            if not isinstance(found, list):
                raise BolError("an indicator body without performanceIndicators")
            items += found
        return items

    async def retailer_current(self) -> JSON:
        """The v10 body of ``retailers/current``: rating, aspects, ``topRetailer``."""
        return await self._get(RETAILER_PATH, {}, endpoint=None)

    # --- Retailer API v11 ------------------------------------------------------------------

    async def kpi_score(self, kpi: str, week: IsoWeek) -> JSON:
        """The v11 body of one KPI of one week (``kpi-scores``: ``{"kpi", "score", "norm",
        "period", "excluded"}``); ``WrongAnswer`` when it is about another KPI or week."""
        asked = v11_week(week)
        body = await self._get(
            KPI_PATH, {"kpi": kpi, "week": asked}, endpoint=KPI_SCORES, media_type=V11_MEDIA_TYPE
        )
        # A body that does not say what it is about is the importer's to refuse; one that
        # says it is about something else than was asked cannot be filed under the question.
        said = body.get("kpi")
        period = body.get("period")
        week_said = period.get("id") if isinstance(period, dict) else None
        if (isinstance(said, str) and said != kpi) or (
            isinstance(week_said, str) and week_said != asked
        ):
            raise WrongAnswer(
                f"bol.com answered kpi-scores?kpi={kpi}&week={asked} with {said} {week_said}"
            )
        return body

    async def kpi_scores(self, week: IsoWeek) -> list[JSON]:
        """The nine KPIs of ``week``, one body each."""
        return await all_of([self.kpi_score(k, week) for k in KPI_NAMES])

    async def performance_status(self) -> JSON:
        """The v11 body of ``performance-status``: bol.com's own verdict as it stands now."""
        return await self._get(
            STATUS_PATH, {}, endpoint=PERFORMANCE_STATUS, media_type=V11_MEDIA_TYPE
        )

    async def ratings(self) -> JSON:
        """The v11 body of ``retailers/current/ratings``: rating, aspects, reviews, top."""
        return await self._get(RATINGS_PATH, {}, endpoint=RATINGS, media_type=V11_MEDIA_TYPE)

    # --- what the process knows of these credentials ----------------------------------------

    @property
    def v11_refused(self) -> int | None:
        """The HTTP status with which bol.com refused these credentials v11 lately; None:
        try v11."""
        return self._api.limiters.v11_refused(self._api.api_url, self.client_id)

    def refuse_v11(self, status: int) -> None:
        """Remember that bol.com refused these credentials v11 (for a day, in this process)."""
        self._api.limiters.refuse_v11(self._api.api_url, self.client_id, status)


def basic_auth(client_id: str, secret: str) -> str:
    """HTTP Basic credentials, as ``httpx.BasicAuth`` sends them."""
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode("ascii")


def v11_week(week: IsoWeek) -> str:
    """A week as v11 asks for it: ``2026-46``."""
    return f"{week.year}-{week.week:02d}"


async def all_of(coros: list[Coroutine[Any, Any, T]]) -> list[T]:
    """Run together; the first ``BolError`` cancels the rest and is raised as itself."""
    try:
        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(c) for c in coros]
    except ExceptionGroup as failed:
        first = _leaves(failed)[0]
        if isinstance(first, BolError):
            raise first from None
        raise
    return [t.result() for t in tasks]


def _leaves(group: BaseExceptionGroup[BaseException]) -> list[BaseException]:
    out: list[BaseException] = []
    for exc in group.exceptions:
        out += _leaves(exc) if isinstance(exc, BaseExceptionGroup) else [exc]
    return out


def _oauth_error(response: httpx.Response) -> str | None:
    try:
        body = response.json()
    except ValueError:
        return None
    error = body.get("error") if isinstance(body, dict) else None
    return error if isinstance(error, str) else None


def _json(response: httpx.Response, what: str, media_type: str = MEDIA_TYPE) -> JSON:
    if not response.is_success:
        detail = ""
        try:
            body = response.json()
            if isinstance(body, dict):
                detail = str(body.get("detail") or body.get("title") or body.get("error") or "")
        except ValueError:
            pass
        raise BolError(
            f"bol.com answered HTTP {response.status_code} to {what}"
            + (f": {detail}" if detail else "")
        )
    sent = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
    if sent.startswith("application/vnd.retailer.") and sent != media_type:
        raise BolError(f"bol.com answered {what} in {sent}, not {media_type}")
    try:
        body = response.json()
    except ValueError:
        raise BolError(f"bol.com answered {what} with something that is not JSON") from None
    if not isinstance(body, dict):
        raise BolError(f"bol.com answered {what} with JSON that is not an object")
    return body


def check_credentials(config: Config, *, pacing: RequestBudget | None = None) -> CredentialCheck:
    """For ``/connect``: ``await check(client_id, secret)`` is None when bol.com issues a
    token, else a reason code of ``REASONS`` (``bad_credentials``, ``unreachable``, ...)."""
    quick = pacing or RequestBudget(attempts=2, timeout_s=10.0)

    async def check(client_id: str, secret: str) -> str | None:
        if not client_id.strip() or not secret:
            return BadCredentials.reason
        async with BolApi.from_config(config, pacing=quick) as api:
            try:
                await api.client(client_id.strip(), secret).token()
            except BolError as exc:
                return exc.reason
        return None

    return check
