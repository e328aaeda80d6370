"""The bol.com Retailer API v10: a token per client, the eight weekly indicators, the shop.

One ``BolApi`` holds the HTTP connections (``httpx.AsyncClient``) and hands out a
``BolClient`` per seller's API credentials. Every client keeps within bol.com's limit of
about 20 performance requests a minute, spread evenly; a 429 is waited out for exactly its
``Retry-After``; 5xx, timeouts and connection errors are retried with backoff and jitter.
The client secret is never logged and never shown by ``repr``.
"""

from __future__ import annotations

import asyncio
import logging
import math
import random
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from contextlib import asynccontextmanager, nullcontext
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self, TypeVar

import httpx

from bot.metrics import POLL_ERRORS, POLL_REQUESTS, RATE_LIMITED
from norms import IsoWeek
from norms.model import V10_INDICATORS

if TYPE_CHECKING:
    from bot.config import Config

log = logging.getLogger(__name__)

MEDIA_TYPE = "application/vnd.retailer.v10+json"
TOKEN_PATH = "/token"
INDICATOR_PATH = "/retailer/insights/performance/indicator"
RETAILER_PATH = "/retailer/retailers/current"
INDICATOR_NAMES: tuple[str, ...] = tuple(i.value for i in V10_INDICATORS)

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
    "unexpected": "an unexpected error",
}


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


@dataclass(frozen=True, slots=True)
class RequestBudget:
    """How hard a client may push bol.com; tests and the benchmark shrink the window."""

    requests: int = 20  # performance requests per window, per client
    window_s: float = 60.0
    margin: float = 0.05  # spacing slack, so network jitter never crowds the window
    attempts: int = 4  # tries of one request on 5xx, timeouts and connection errors
    backoff_s: float = 1.0  # first backoff; doubles per attempt, with jitter
    max_backoff_s: float = 30.0
    max_throttled: int = 5  # 429s waited out for one request before giving up
    timeout_s: float = 30.0
    connections: int = 16  # HTTP requests in flight at once, all clients together
    sellers: int = 1000  # sellers polled at once (waiting for a slot costs no connection)
    token_margin_s: float = 30.0  # renew a token this long before it expires

    @property
    def interval_s(self) -> float:
        """The gap between two performance requests of one client."""
        return self.window_s / self.requests * (1 + self.margin)


class ClientLimiter:
    """One client's performance requests: evenly spaced, never more than ``requests`` in any
    window, and none while a 429's Retry-After runs.

    The window counts each request from when its answer came back: bol.com saw it no
    later than that, so network delay can never crowd bol.com's own window.
    """

    def __init__(self, requests: int, window_s: float, interval_s: float) -> None:
        self.requests = requests
        self.window_s = window_s
        self.interval_s = interval_s
        self._last_start = -math.inf
        self._blocked_until = -math.inf
        self._answered: deque[float] = deque()
        self._in_flight = 0
        self._turn = asyncio.Lock()  # FIFO: callers go in the order they came
        self._freed = asyncio.Event()

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """Wait for this client's turn, then hold one request's place in the window."""
        async with self._turn:
            await self._wait_for_room()
            self._in_flight += 1
            self._last_start = time.monotonic()
        try:
            yield
        finally:
            self._in_flight -= 1
            self._answered.append(time.monotonic())
            self._freed.set()

    async def _wait_for_room(self) -> None:
        while True:
            now = time.monotonic()
            while self._answered and self._answered[0] <= now - self.window_s:
                self._answered.popleft()
            if self._in_flight + len(self._answered) >= self.requests:
                if self._answered:
                    await asyncio.sleep(self._answered[0] + self.window_s - now)
                else:  # the whole window is in flight: wait for an answer
                    self._freed.clear()
                    await self._freed.wait()
                continue
            start = max(self._last_start + self.interval_s, self._blocked_until)
            if start <= now:
                return
            await asyncio.sleep(start - now)

    def block(self, seconds: float) -> None:
        """No request before ``seconds`` from now (a 429's Retry-After)."""
        self._blocked_until = max(self._blocked_until, time.monotonic() + seconds)


class Limiters:
    """One limiter per client for the whole process: bol.com counts per client, not per poll."""

    def __init__(self) -> None:
        self._by_client: dict[tuple[str, str], tuple[ClientLimiter, object]] = {}

    def for_client(self, api_url: str, client_id: str, pacing: RequestBudget) -> ClientLimiter:
        loop = asyncio.get_running_loop()  # asyncio locks serve one event loop
        found = self._by_client.get((api_url, client_id))
        if found is not None:
            limiter, its_loop = found
            if its_loop is loop and limiter.interval_s == pacing.interval_s:
                return limiter
        limiter = ClientLimiter(pacing.requests, pacing.window_s, pacing.interval_s)
        self._by_client[(api_url, client_id)] = (limiter, loop)
        return limiter


SHARED_LIMITERS = Limiters()


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
    ) -> None:
        """``clock`` drives token expiry; ``limiters`` default to the process-wide ones."""
        self.api_url = api_url.rstrip("/")
        self.login_url = login_url.rstrip("/")
        self.pacing = pacing or RequestBudget()
        self.limiters = limiters if limiters is not None else SHARED_LIMITERS
        self.clock = clock
        self._rng = rng or random.Random()
        self._in_flight = asyncio.Semaphore(self.pacing.connections)
        self._http = httpx.AsyncClient(
            timeout=httpx.Timeout(self.pacing.timeout_s),
            limits=httpx.Limits(
                max_connections=self.pacing.connections,
                max_keepalive_connections=self.pacing.connections,
            ),
        )

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
        limiter = self.limiters.for_client(self.api_url, client_id, self.pacing)
        return BolClient(self, client_id, secret, limiter, seller=seller)

    async def aclose(self) -> None:
        await self._http.aclose()

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
        url: str,
        *,
        client: str,
        params: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
        auth: httpx.Auth | None = None,
        limiter: ClientLimiter | None = None,
    ) -> httpx.Response:
        """One request, retried: 5xx/timeouts/connection errors back off, 429 waits.

        Returns any other answer (2xx or 4xx) for the caller to judge. ``client`` names
        whose request it is in logs and errors (never the client id itself).
        """
        failures = throttled = 0
        while True:
            POLL_REQUESTS.inc()
            try:
                async with limiter.slot() if limiter else nullcontext(), self._in_flight:
                    response = await self._http.request(
                        method, url, params=params, headers=headers, auth=auth
                    )
            except httpx.TransportError as exc:  # timeouts, refused or dropped connections
                problem = type(exc).__name__
            else:
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

    def _backoff(self, attempt: int) -> float:
        """Exponential backoff with jitter: between half and all of base * 2^(attempt-1)."""
        ceiling = min(self.pacing.max_backoff_s, self.pacing.backoff_s * 2.0 ** (attempt - 1))
        return ceiling * (0.5 + self._rng.random() / 2)


def client_name(client_id: str) -> str:
    """A client id as logs may show it: its last four characters only."""
    return f"client …{client_id[-4:]}" if len(client_id) > 4 else "client …"


class BolClient:
    """One seller's API credentials: a cached token and the calls ``poll`` makes."""

    __slots__ = (
        "_api",
        "_expires_at",
        "_limiter",
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
        limiter: ClientLimiter,
        *,
        seller: str | None = None,
    ) -> None:
        self._api = api
        self.client_id = client_id
        # The client id is stored sealed like the secret: logs and errors name the seller,
        # or only the id's last four characters.
        self.name = f"the client of seller {seller}" if seller else client_name(client_id)
        self._secret = secret
        self._limiter = limiter
        self._token: str | None = None
        self._expires_at = 0.0
        self._refused: BadCredentials | None = None
        self._token_lock = asyncio.Lock()

    def __repr__(self) -> str:
        return f"BolClient({self.name}, secret=<hidden>)"

    async def token(self) -> str:
        """A valid access token: the cached one until shortly before it expires, else new."""
        async with self._token_lock:
            if self._refused is not None:
                raise self._refused  # once refused, never ask again with the same secret
            if self._token is not None and self._api.clock() < self._expires_at:
                return self._token
            response = await self._api.send(
                "POST",
                f"{self._api.login_url}{TOKEN_PATH}",
                client=self.name,
                params={"grant_type": "client_credentials"},
                headers={"Accept": "application/json"},
                auth=httpx.BasicAuth(self.client_id, self._secret),
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

    async def _get(self, path: str, params: dict[str, str], *, paced: bool) -> JSON:
        renewed = False
        while True:
            token = await self.token()
            response = await self._api.send(
                "GET",
                f"{self._api.api_url}{path}",
                client=self.name,
                params=params,
                headers={"Accept": MEDIA_TYPE, "Authorization": f"Bearer {token}"},
                limiter=self._limiter if paced else None,
            )
            if response.status_code == 401 and not renewed:
                # Expired or revoked early: renew once, then believe the answer.
                async with self._token_lock:
                    if self._token == token:
                        self._token = None
                renewed = True
                continue
            return _json(response, path)

    async def performance_indicator(self, name: str, week: IsoWeek) -> JSON:
        """The v10 body of one indicator of one week: ``{"performanceIndicators": [...]}``."""
        params = {"name": name, "year": str(week.year), "week": str(week.week)}
        return await self._get(INDICATOR_PATH, params, paced=True)

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
        return await self._get(RETAILER_PATH, {}, paced=False)


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


def retry_after(response: httpx.Response) -> float | None:
    """``Retry-After`` in seconds (a number or an HTTP date); None when absent or unreadable."""
    value = response.headers.get("Retry-After", "").strip()
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max(0.0, (moment - datetime.now(UTC)).total_seconds())


def _oauth_error(response: httpx.Response) -> str | None:
    try:
        body = response.json()
    except ValueError:
        return None
    error = body.get("error") if isinstance(body, dict) else None
    return error if isinstance(error, str) else None


def _json(response: httpx.Response, what: str) -> JSON:
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
