"""How hard a client may push bol.com: a request budget per client and endpoint, spread
evenly, and what bol.com's answers say about it (Retry-After, the rate-limit headers).

bol.com counts per client and per endpoint: v10's performance indicators (about 20 a
minute), and v11's kpi-scores (about 20), performance-status (about 10) and ratings (about
120). The process keeps one limiter per client and endpoint (``Limiters``), and remembers
which clients bol.com does not grant Retailer API v11, so that they are not asked again
at every call.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections import deque
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import httpx

log = logging.getLogger(__name__)

# The endpoints bol.com budgets apart, as ``RequestBudget`` names them.
PERFORMANCE = "performance"  # v10 insights/performance/indicator
KPI_SCORES = "kpi-scores"  # v11
PERFORMANCE_STATUS = "performance-status"  # v11
RATINGS = "ratings"  # v11 retailers/current/ratings
ENDPOINTS = (PERFORMANCE, KPI_SCORES, PERFORMANCE_STATUS, RATINGS)

# How long the process believes that bol.com does not grant a client v11: a day, so that
# a seller who grants it later is polled with v11 from the next day on (or a restart).
V11_REFUSAL_S = 24 * 3600.0


@dataclass(frozen=True, slots=True)
class RequestBudget:
    """How hard a client may push bol.com; tests and the benchmark shrink the window (all
    endpoints share it, so a uniform scale keeps bol.com's ratios)."""

    requests: int = 20  # v10 performance requests per window, per client
    window_s: float = 60.0
    kpi_requests: int = 20  # v11 kpi-scores requests per window, per client
    status_requests: int = 10  # v11 performance-status requests per window, per client
    ratings_requests: int = 120  # v11 ratings requests per window, per client
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
        return self.interval_for(PERFORMANCE)

    def limit(self, endpoint: str) -> int:
        """Requests per window that ``endpoint`` allows one client."""
        return {
            PERFORMANCE: self.requests,
            KPI_SCORES: self.kpi_requests,
            PERFORMANCE_STATUS: self.status_requests,
            RATINGS: self.ratings_requests,
        }[endpoint]

    def interval_for(self, endpoint: str) -> float:
        """The gap between two requests of one client to ``endpoint``."""
        return self.window_s / self.limit(endpoint) * (1 + self.margin)


class ClientLimiter:
    """One client's requests to one endpoint: evenly spaced, never more than ``requests``
    in any window, and none while a 429's Retry-After (or a spent budget) runs.

    The window counts each request from when its answer came back: bol.com saw it no
    later than that, so network delay can never crowd bol.com's own window.
    """

    def __init__(self, requests: int, window_s: float, interval_s: float) -> None:
        self.requests = requests
        self.window_s = window_s
        self.interval_s = interval_s
        self.configured = (requests, window_s, interval_s)  # before any header said less
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

    def idle(self, now: float) -> bool:
        """Whether a new limiter would do just as this one: nothing in flight or waiting,
        no request in the window or the spacing, no block, and no budget bol.com lowered."""
        return (
            self._in_flight == 0
            and not self._turn.locked()
            and (not self._answered or self._answered[-1] <= now - self.window_s)
            and self._last_start + self.interval_s <= now
            and self._blocked_until <= now
            and (self.requests, self.window_s, self.interval_s) == self.configured
        )

    def block(self, seconds: float) -> None:
        """No request before ``seconds`` from now (a 429's Retry-After)."""
        self._blocked_until = max(self._blocked_until, time.monotonic() + seconds)

    @property
    def blocked_s(self) -> float:
        """How long from now no request may go (a Retry-After, a spent budget)."""
        return max(0.0, self._blocked_until - time.monotonic())

    def observe(self, headers: Mapping[str, str]) -> None:
        """What bol.com's rate-limit headers say: a smaller budget than ours is taken on
        (bol.com changes its limits), and a spent one waits until it is replenished."""
        limit = _number(headers.get("x-ratelimit-limit"))
        if limit is not None and 1 <= limit < self.requests:
            log.info("bol.com allows %d requests a window here, not %d", limit, self.requests)
            self.interval_s = self.interval_s * self.requests / int(limit)
            self.requests = int(limit)
        remaining = _number(headers.get("x-ratelimit-remaining"))
        reset = _number(headers.get("x-ratelimit-reset"))
        # A reset of more than a day is not a wait in seconds (a time stamp): not ours to read.
        if remaining is not None and remaining <= 0 and reset is not None and reset <= 86400:
            self.block(reset)


def _number(text: str | None) -> float | None:
    if text is None:
        return None
    try:
        number = float(text.strip())
    except ValueError:
        return None
    return number if math.isfinite(number) and number >= 0 else None


class Limiters:
    """What the process knows of each client: one limiter per client and endpoint (bol.com
    counts per client, not per poll), and the clients bol.com did not grant v11."""

    # Idle limiters are forgotten when the registry has doubled since they were last
    # swept (and holds this many): a poll of 50,000 sellers keeps about those polled at
    # once, not one per client and endpoint ever polled (hundreds of megabytes).
    SWEEP_FROM = 1024

    def __init__(self) -> None:
        self._by_client: dict[tuple[str, str, str], tuple[ClientLimiter, object]] = {}
        self._v11_refused: dict[tuple[str, str], tuple[int, float]] = {}
        self._sweep_at = self.SWEEP_FROM

    def for_client(
        self, api_url: str, client_id: str, pacing: RequestBudget, endpoint: str = PERFORMANCE
    ) -> ClientLimiter:
        loop = asyncio.get_running_loop()  # asyncio locks serve one event loop
        key = (api_url, client_id, endpoint)
        interval = pacing.interval_for(endpoint)
        found = self._by_client.get(key)
        if found is not None:
            limiter, its_loop = found
            if its_loop is loop and limiter.configured == (
                pacing.limit(endpoint),
                pacing.window_s,
                interval,
            ):
                return limiter
        if len(self._by_client) >= self._sweep_at:
            self._forget_idle()
        limiter = ClientLimiter(pacing.limit(endpoint), pacing.window_s, interval)
        self._by_client[key] = (limiter, loop)
        return limiter

    @property
    def kept(self) -> int:
        """How many limiters are kept (a registry with none is still one: never falsy)."""
        return len(self._by_client)

    def _forget_idle(self) -> None:
        """Drop the limiters a new one would replace as they are (``ClientLimiter.idle``).
        A client still polling holds its own: only a second poll of the same client
        started meanwhile would pace apart from it, and bol.com's 429 paces that."""
        now = time.monotonic()
        self._by_client = {
            key: found for key, found in self._by_client.items() if not found[0].idle(now)
        }
        self._sweep_at = max(self.SWEEP_FROM, 2 * len(self._by_client))

    def v11_refused(self, api_url: str, client_id: str) -> int | None:
        """The HTTP status with which bol.com refused this client v11, while it is believed
        (``V11_REFUSAL_S``); None: ask v11."""
        found = self._v11_refused.get((api_url, client_id))
        if found is None:
            return None
        status, at = found
        if time.monotonic() - at > V11_REFUSAL_S:
            del self._v11_refused[(api_url, client_id)]
            return None
        return status

    def refuse_v11(self, api_url: str, client_id: str, status: int) -> None:
        self._v11_refused[(api_url, client_id)] = (status, time.monotonic())


SHARED_LIMITERS = Limiters()


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
