"""A fake bol.com Retailer API v10 (token endpoint and the two endpoints ``poll`` uses).

async with FakeBol(clients={"cid": "secret"}) as bol:
    bol.set_indicator("cid", "FULFILMENT", 2026, 46, numerator=135, denominator=150, norm=0.93)
    # BOL_LOGIN_URL = BOL_API_URL = bol.url
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

    def __init__(self, status: int, title: str, detail: str = "", retry_after: int | None = None):
        super().__init__(title)
        self.status = status
        self.title = title
        self.detail = detail or title
        self.retry_after = retry_after

    def response(self) -> web.Response:
        body = {
            "type": "https://api.bol.com/problems",
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
        }
        headers = {"Retry-After": str(self.retry_after)} if self.retry_after is not None else None
        return web.json_response(body, status=self.status, headers=headers, content_type=MEDIA_TYPE)


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
    ) -> None:
        """``clients``: client id -> secret. ``rate_limit`` requests per ``window_s`` per client
        on the performance endpoint. ``clock`` drives token expiry and the rate window."""
        super().__init__()
        self.clients: dict[str, str] = dict(clients or {})
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
        self.app.router.add_post(TOKEN_PATH, self._handle_token)
        self.app.router.add_get(INDICATOR_PATH, self._handle_indicator)
        self.app.router.add_get(RETAILER_PATH, self._handle_retailer)

    # ---- data -------------------------------------------------------------------------

    def add_client(self, client_id: str, secret: str) -> None:
        self.clients[client_id] = secret

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
        return web.json_response(
            {
                "access_token": token,
                "token_type": "Bearer",
                "expires_in": math.ceil(self.token_lifetime_s),
                "scope": "RETAILER",
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

    async def _authorise(self, request: web.Request, path: str) -> str:
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
        if MEDIA_TYPE not in request.headers.get("Accept", ""):
            raise BolProblem(406, "Not Acceptable", f"Accept must be {MEDIA_TYPE}")
        return client_id

    def _check_rate(self, client_id: str) -> None:
        stamps = self._stamps[client_id]
        now = self.clock()
        if count_recent(stamps, now, self.window_s) >= self.rate_limit:
            retry = max(1, math.ceil(stamps[0] + self.window_s - now))
            raise BolProblem(429, "Too Many Requests", "Rate limit exceeded", retry)
        stamps.append(now)

    def _problem(self, problem: BolProblem) -> web.Response:
        if problem.status == 429:
            self.rejected_429 += 1
        return problem.response()

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
