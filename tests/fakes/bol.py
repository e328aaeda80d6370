"""A fake bol.com Retailer API: the token endpoint, v10's two endpoints ``poll`` used, and
v11's kpi-scores, performance-status and current/ratings.

async with FakeBol(clients={"cid": "secret"}) as bol:
    bol.set_indicator("cid", "FULFILMENT", 2026, 46, numerator=135, denominator=150, norm=0.93)
    # BOL_LOGIN_URL = BOL_API_URL = bol.url

v11 answers only clients with the scope ``retailer-info.read`` (``FakeBol(v11=True)`` gives
every client it, ``grant_v11``/``v10_only`` one client); the others get 403, as bol.com
answers them. Each v11 endpoint has its own request budget per client (``v11_limits`` per
``v11_window_s``), with the rate-limit headers on every answer and 429 + Retry-After past it.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import math
import secrets
import time
from collections import defaultdict, deque
from collections.abc import Callable
from http import HTTPStatus
from typing import Any

from aiohttp import web

from tests.fakes._server import FakeServer, count_recent
from tests.fakes.bol_v11 import (
    KPI_PATH,
    KPIS,
    RATINGS_PATH,
    STATUS_PATH,
    V11_LIMITS,
    V11_MEDIA_TYPE,
    V11_SCOPE,
    kpi_body,
    ratings_body,
    status_body,
)

JSON = dict[str, Any]

MEDIA_TYPE = "application/vnd.retailer.v10+json"
TOKEN_PATH = "/token"
INDICATOR_PATH = "/retailer/insights/performance/indicator"
RETAILER_PATH = "/retailer/retailers/current"
INDICATORS = (
    "CANCELLATIONS",
    "FULFILMENT",
    "PHONE_AVAILABILITY",
    "RESPONSE_TIME",
    "CASE_ITEM_RATIO",
    "TRACK_AND_TRACE",
    "RETURNS",
    "REVIEWS",
)
# bol.com's fixed norms (NORMS.md §2); CASE_ITEM_RATIO and RETURNS are personal: no default.
DEFAULT_NORMS: dict[str, tuple[str, float]] = {
    "CANCELLATIONS": ("<=", 0.02),
    "FULFILMENT": (">=", 0.93),
    "PHONE_AVAILABILITY": (">=", 0.90),
    "RESPONSE_TIME": (">=", 0.90),
    "TRACK_AND_TRACE": (">=", 1.0),
    "REVIEWS": (">=", 8.0),
}


class BolProblem(Exception):
    """Raised inside a handler; becomes an ``application/problem+json``-like body."""

    def __init__(
        self,
        status: int,
        title: str,
        detail: str = "",
        retry_after: float | None = None,
        headers: dict[str, str] | None = None,
    ):
        super().__init__(title)
        self.status = status
        self.title = title
        self.detail = detail or title
        self.retry_after = retry_after
        self.headers = dict(headers or {})

    def response(self, media_type: str = MEDIA_TYPE) -> web.Response:
        body = {
            "type": "https://api.bol.com/problems",
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
        }
        headers = dict(self.headers)
        if self.retry_after is not None:
            headers["Retry-After"] = str(self.retry_after)
        return web.json_response(body, status=self.status, headers=headers, content_type=media_type)


class FakeBol(FakeServer):
    """Token at ``POST {url}/token``, the API at ``{url}/retailer/...``: one root for both."""

    def __init__(
        self,
        clients: dict[str, str] | None = None,
        *,
        token_lifetime_s: float = 299,
        rate_limit: int = 20,
        window_s: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
        latency_s: float = 0.0,
        v11: bool = False,
        v11_limits: dict[str, int] | None = None,
        v11_window_s: float | None = None,
        rate_headers: bool = True,
    ) -> None:
        """``clients``: client id -> secret. ``rate_limit`` requests per ``window_s`` per client
        on the performance endpoint. ``clock`` drives token expiry and the rate windows.
        ``v11``: every client has the scope v11 needs. ``v11_limits``: requests per
        ``v11_window_s`` (default ``window_s``) per client and v11 endpoint; ``rate_headers``:
        whether v11's answers carry bol.com's rate-limit headers."""
        super().__init__()
        self.clients: dict[str, str] = dict(clients or {})
        self.v11 = v11
        self.v11_clients: set[str] = set(self.clients) if v11 else set()
        self.v11_limits = {**V11_LIMITS, **(v11_limits or {})}
        self.v11_window_s = window_s if v11_window_s is None else v11_window_s
        self.rate_headers = rate_headers
        self.token_lifetime_s = token_lifetime_s
        self.rate_limit = rate_limit
        self.window_s = window_s
        self.clock = clock
        self.latency_s = latency_s
        self.rejected_429 = 0
        self.tokens_issued = 0
        self._tokens: dict[str, tuple[str, float]] = {}  # token -> (client id, expires at)
        self._indicators: dict[tuple[str, str, int, int], JSON] = {}
        self._retailers: dict[str, JSON] = {}
        self._stamps: dict[str, deque[float]] = defaultdict(deque)
        self._failures: dict[str, deque[int]] = defaultdict(deque)
        self._kpis: dict[tuple[str, str, str], JSON] = {}
        self._statuses: dict[str, JSON] = {}
        self._ratings: dict[str, JSON] = {}
        self._raw: dict[tuple[str, str], tuple[str, str]] = {}
        self._v11_refusals: dict[str, int] = {}
        self._v11_stamps: dict[tuple[str, str], deque[float]] = defaultdict(deque)
        self.app.router.add_post(TOKEN_PATH, self._handle_token)
        self.app.router.add_get(INDICATOR_PATH, self._handle_indicator)
        # current/ratings before current: aiohttp matches routes in the order they were added
        self.app.router.add_get(RATINGS_PATH, self._handle_ratings)
        self.app.router.add_get(RETAILER_PATH, self._handle_retailer)
        self.app.router.add_get(KPI_PATH, self._handle_kpi)
        self.app.router.add_get(STATUS_PATH, self._handle_status)

    # ---- data -------------------------------------------------------------------------

    def add_client(self, client_id: str, secret: str, *, v11: bool | None = None) -> None:
        """A client bol.com knows; ``v11``: whether it has v11's scope (default: the fake's)."""
        self.clients[client_id] = secret
        if self.v11 if v11 is None else v11:
            self.v11_clients.add(client_id)
        else:
            self.v11_clients.discard(client_id)

    def grant_v11(self, client_id: str) -> None:
        """The client gets the scope ``retailer-info.read``."""
        self.v11_clients.add(client_id)

    def v10_only(self, client_id: str) -> None:
        """The client loses the scope v11 needs: its v11 calls answer 403."""
        self.v11_clients.discard(client_id)

    def refuse_v11(self, client_id: str, status: int) -> None:
        """The client's v11 calls answer ``status`` (404: no such endpoint here, 406: no
        such version), whatever its scope."""
        self._v11_refusals[client_id] = status

    def set_indicator(
        self,
        client_id: str,
        name: str,
        year: int,
        week: int,
        *,
        numerator: int | None = None,
        denominator: int | None = None,
        value: float | None = None,
        norm: float | None = None,
        condition: str | None = None,
        conforms: bool | None = None,
        type: str | None = None,
    ) -> JSON:
        """Set one week of an indicator for a client; returns the body the API will answer.

        ``value`` defaults to numerator / denominator; ``norm``/``condition`` to bol's fixed
        norm (none for the personal ones); ``conforms`` is computed from the norm.
        """
        if name not in INDICATORS:
            raise ValueError(f"unknown indicator {name}")
        if value is None and numerator is not None and denominator:
            value = round(numerator / denominator, 4)
        default = DEFAULT_NORMS.get(name)
        if norm is None and default is not None:
            norm = default[1]
        if condition is None:
            condition = default[0] if default else "<="
        details: JSON = {"period": {"week": week, "year": year}}
        score: JSON = {}
        if numerator is not None:
            score["numerator"] = numerator
        if denominator is not None:
            score["denominator"] = denominator
        if value is not None:
            score["value"] = value
            if norm is not None:
                meets = value >= norm if condition == ">=" else value <= norm
                score["conforms"] = meets if conforms is None else conforms
                score["distanceToNorm"] = round(abs(value - norm), 4)
        if score:
            details["score"] = score
        if norm is not None:
            details["norm"] = {"condition": condition, "value": norm}
        body = {
            "performanceIndicators": [
                {
                    "name": name,
                    "type": type or ("AVERAGE" if name == "REVIEWS" else "PERCENTAGE"),
                    "details": details,
                }
            ]
        }
        self._indicators[(client_id, name, year, week)] = body
        return body

    def set_retailer(
        self,
        client_id: str,
        *,
        rating: float | None = None,
        product_information: float | None = None,
        delivery_time: float | None = None,
        shipping: float | None = None,
        service: float | None = None,
        reviews: int = 0,
        positive: int | None = None,
        neutral: int = 0,
        negative: int = 0,
        top_retailer: bool = False,
        rating_method: str = "THREE_MONTHS",
        display_name: str | None = None,
        retailer_id: str | None = None,
    ) -> JSON:
        """Set the body of retailers/current for a client (no ``retailerRating`` if unrated)."""
        body: JSON = {
            "retailerId": retailer_id or f"{1_000_000 + len(self._retailers)}",
            "displayName": display_name or f"Shop {client_id}",
            "companyName": display_name or f"Shop {client_id} B.V.",
            "vatNumber": "NL000000000B01",
            "kvkNumber": "00000000",
            "registrationDate": "2020-01-01",
            "topRetailer": top_retailer,
            "ratingMethod": rating_method,
        }
        if rating is not None:
            aspects = {
                "productInformationRating": product_information,
                "deliveryTimeRating": delivery_time,
                "shippingRating": shipping,
                "serviceRating": service,
            }
            body["retailerRating"] = {
                "retailerRating": rating,
                **{k: v for k, v in aspects.items() if v is not None},
            }
        pos = reviews - neutral - negative if positive is None else positive
        body["retailerReview"] = {
            "totalReviewCount": reviews,
            "approvalPercentage": round(100 * pos / reviews) if reviews else 0,
            "positiveReviewCount": pos,
            "neutralReviewCount": neutral,
            "negativeReviewCount": negative,
        }
        self._retailers[client_id] = body
        return body

    def set_kpi(self, client_id: str, kpi: str, week: str, **figures: Any) -> JSON:
        """One KPI of one week (``2026-46``) for a client, as ``bol_v11.kpi_body`` builds it;
        returns the body the API will answer (change it to answer something else)."""
        body = kpi_body(kpi, week, **figures)
        self._kpis[(client_id, kpi, week)] = body
        return body

    def set_performance_status(
        self, client_id: str, body: JSON | None = None, **parts: Any
    ) -> JSON:
        """The performance status of a client: ``body`` as given, else ``bol_v11.status_body``
        of ``parts``; returns the body the API will answer."""
        body = status_body(**parts) if body is None else body
        self._statuses[client_id] = body
        return body

    def set_ratings(self, client_id: str, **figures: Any) -> JSON:
        """The current/ratings body of a client, as ``bol_v11.ratings_body`` builds it."""
        body = ratings_body(**figures)
        self._ratings[client_id] = body
        return body

    def answer_raw(
        self, client_id: str, path: str, text: str, content_type: str = V11_MEDIA_TYPE
    ) -> None:
        """Every answer to ``path`` for the client is ``text`` as ``content_type`` (200)."""
        self._raw[(client_id, path)] = (text, content_type)

    # ---- failures ---------------------------------------------------------------------

    def fail_next(self, path: str, status: int = 503, *, times: int = 1) -> None:
        """The next ``times`` requests to ``path`` (e.g. ``"/token"``) answer ``status``."""
        self._failures[path].extend([status] * times)

    def expire_tokens(self) -> None:
        """Every token issued so far is expired from now on."""
        self._tokens = {t: (cid, -math.inf) for t, (cid, _) in self._tokens.items()}

    # ---- HTTP -------------------------------------------------------------------------

    async def _handle_token(self, request: web.Request) -> web.Response:
        client_id, secret = _basic_auth(request)
        self._record(TOKEN_PATH, {**request.query, "client_id": client_id})
        await self._delay()
        if (failure := self._pop_failure(TOKEN_PATH)) is not None:
            return self._problem(failure)
        if request.query.get("grant_type") != "client_credentials":
            return web.json_response({"error": "unsupported_grant_type"}, status=400)
        if client_id is None or self.clients.get(client_id) != secret:
            return web.json_response(
                {"error": "invalid_client", "error_description": "Bad client credentials"},
                status=401,
            )
        token = secrets.token_urlsafe(24)
        self._tokens[token] = (client_id, self.clock() + self.token_lifetime_s)
        self.tokens_issued += 1
        scope = f"RETAILER {V11_SCOPE}" if client_id in self.v11_clients else "RETAILER"
        return web.json_response(
            {
                "access_token": token,
                "token_type": "Bearer",
                "expires_in": math.ceil(self.token_lifetime_s),
                "scope": scope,
            }
        )

    async def _handle_indicator(self, request: web.Request) -> web.Response:
        try:
            client_id = await self._authorise(request, INDICATOR_PATH)
            self._check_rate(client_id)
            name = request.query.get("name", "")
            try:
                year, week = int(request.query["year"]), int(request.query["week"])
            except (KeyError, ValueError):
                raise BolProblem(400, "Bad Request", "year and week are required") from None
            if name not in INDICATORS:
                raise BolProblem(400, "Bad Request", f"unknown indicator name {name!r}")
        except BolProblem as problem:
            return self._problem(problem)
        body = self._indicators.get((client_id, name, year, week))
        if body is None:
            body = self._no_score(name, year, week)
        return web.json_response(body, content_type=MEDIA_TYPE)

    async def _handle_retailer(self, request: web.Request) -> web.Response:
        try:
            client_id = await self._authorise(request, RETAILER_PATH)
        except BolProblem as problem:
            return self._problem(problem)
        body = self._retailers.get(client_id) or self.set_retailer(client_id)
        return web.json_response(body, content_type=MEDIA_TYPE)

    # ---- v11 --------------------------------------------------------------------------

    async def _handle_kpi(self, request: web.Request) -> web.Response:
        try:
            client_id = await self._authorise_v11(request, KPI_PATH)
            kpi, week = request.query.get("kpi", ""), request.query.get("week", "")
            if kpi not in KPIS:
                raise BolProblem(400, "Bad Request", f"unknown kpi {kpi!r}")
            year, _, number = week.partition("-")
            if not (len(year) == 4 and year.isdigit() and number.isdigit() and len(number) == 2):
                raise BolProblem(400, "Bad Request", "week must be YYYY-WW")
        except BolProblem as problem:
            return self._problem(problem, V11_MEDIA_TYPE)
        body = self._kpis.get((client_id, kpi, week)) or kpi_body(kpi, week)
        return self._v11_answer(client_id, KPI_PATH, body)

    async def _handle_status(self, request: web.Request) -> web.Response:
        try:
            client_id = await self._authorise_v11(request, STATUS_PATH)
        except BolProblem as problem:
            return self._problem(problem, V11_MEDIA_TYPE)
        body = self._statuses.get(client_id) or status_body(strikes={})
        return self._v11_answer(client_id, STATUS_PATH, body)

    async def _handle_ratings(self, request: web.Request) -> web.Response:
        try:
            client_id = await self._authorise_v11(request, RATINGS_PATH)
        except BolProblem as problem:
            return self._problem(problem, V11_MEDIA_TYPE)
        body = self._ratings.get(client_id) or ratings_body()
        return self._v11_answer(client_id, RATINGS_PATH, body)

    async def _authorise_v11(self, request: web.Request, path: str) -> str:
        """As ``_authorise`` (the v11 media type), then the scope and the endpoint's budget."""
        client_id = await self._authorise(request, path, V11_MEDIA_TYPE)
        refused = self._v11_refusals.get(client_id)
        if refused is not None:
            raise BolProblem(refused, HTTPStatus(refused).phrase)
        if client_id not in self.v11_clients:
            raise BolProblem(
                403, "Forbidden", f"The client lacks the scope {V11_SCOPE} this endpoint needs"
            )
        stamps = self._v11_stamps[(client_id, path)]
        now, limit = self.clock(), self.v11_limits[path]
        if count_recent(stamps, now, self.v11_window_s) >= limit:
            wait = stamps[0] + self.v11_window_s - now
            # Whole seconds, as bol.com sends them, in a real window; a test's shrunk window
            # gets the fraction it needs.
            retry = (
                max(1, math.ceil(wait)) if self.v11_window_s >= 60 else round(max(wait, 0.001), 3)
            )
            raise BolProblem(
                429,
                "Too Many Requests",
                "Rate limit exceeded",
                retry,
                self._rate_headers(client_id, path),
            )
        stamps.append(now)
        return client_id

    def _v11_answer(self, client_id: str, path: str, body: JSON) -> web.Response:
        headers = self._rate_headers(client_id, path)
        raw = self._raw.get((client_id, path))
        if raw is not None:
            text, content_type = raw
            return web.Response(text=text, headers=headers, content_type=content_type)
        return web.json_response(body, headers=headers, content_type=V11_MEDIA_TYPE)

    def _rate_headers(self, client_id: str, path: str) -> dict[str, str]:
        """bol.com's rate-limit headers: the budget, what is left of it, and the seconds
        until it is whole again."""
        if not self.rate_headers:
            return {}
        stamps = self._v11_stamps[(client_id, path)]
        now, limit = self.clock(), self.v11_limits[path]
        used = count_recent(stamps, now, self.v11_window_s)
        reset = stamps[0] + self.v11_window_s - now if stamps else 0.0
        return {
            "x-ratelimit-limit": str(limit),
            "x-ratelimit-remaining": str(max(0, limit - used)),
            "x-ratelimit-reset": f"{max(reset, 0.0):.3f}",
        }

    async def _authorise(
        self, request: web.Request, path: str, media_type: str = MEDIA_TYPE
    ) -> str:
        """Record the call and check failure injection, token and Accept; the client id."""
        token = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        client_id, expires_at = self._tokens.get(token, ("", -math.inf))
        self._record(path, {**request.query, "client_id": client_id or None})
        await self._delay()
        if (failure := self._pop_failure(path)) is not None:
            raise failure
        if not client_id:
            raise BolProblem(401, "Unauthorized", "Invalid or missing access token")
        if self.clock() >= expires_at:
            raise BolProblem(401, "Unauthorized", "Access token expired")
        if media_type not in request.headers.get("Accept", ""):
            raise BolProblem(406, "Not Acceptable", f"Accept must be {media_type}")
        return client_id

    def _check_rate(self, client_id: str) -> None:
        stamps = self._stamps[client_id]
        now = self.clock()
        if count_recent(stamps, now, self.window_s) >= self.rate_limit:
            retry = max(1, math.ceil(stamps[0] + self.window_s - now))
            raise BolProblem(429, "Too Many Requests", "Rate limit exceeded", retry)
        stamps.append(now)

    def _problem(self, problem: BolProblem, media_type: str = MEDIA_TYPE) -> web.Response:
        if problem.status == 429:
            self.rejected_429 += 1
        return problem.response(media_type)

    def _pop_failure(self, path: str) -> BolProblem | None:
        if not self._failures[path]:
            return None
        status = self._failures[path].popleft()
        return BolProblem(status, HTTPStatus(status).phrase)

    async def _delay(self) -> None:
        if self.latency_s:
            await asyncio.sleep(self.latency_s)

    @staticmethod
    def _no_score(name: str, year: int, week: int) -> JSON:
        # A week without measurements: bol.com omits the score element.
        details: JSON = {"period": {"week": week, "year": year}}
        if name in DEFAULT_NORMS:
            condition, value = DEFAULT_NORMS[name]
            details["norm"] = {"condition": condition, "value": value}
        kind = "AVERAGE" if name == "REVIEWS" else "PERCENTAGE"
        return {"performanceIndicators": [{"name": name, "type": kind, "details": details}]}


def _basic_auth(request: web.Request) -> tuple[str | None, str | None]:
    """(client id, secret) from an HTTP Basic header, or (None, None)."""
    header = request.headers.get("Authorization", "")
    if not header.startswith("Basic "):
        return None, None
    try:
        decoded = base64.b64decode(header.removeprefix("Basic "), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None, None
    client_id, _, secret = decoded.partition(":")
    return client_id, secret
