"""Slack HTTP requests checked before bolt reads them: signed, fresh, and seen only once.

bolt verifies signatures too, but only after decoding the body as UTF-8 and calling
``int()`` on the timestamp header, so a body that is not UTF-8 or a timestamp of ``abc``
ended in a 500 and a traceback, and it processes a signed request replayed within its
5 minutes again. Here the raw bytes are checked first; what passes goes on to bolt.
"""

from __future__ import annotations

import hashlib
import heapq
import hmac
import time
from collections.abc import Callable
from dataclasses import dataclass

# Slack's own window: a request older (or newer) than this is refused.
WINDOW_S = 300
# A timestamp is Unix seconds; twelve digits last until the year 33658.
_TIMESTAMP_DIGITS = 12


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why a request is refused, and the HTTP status that says so."""

    status: int
    reason: str


class SignedRequests:
    """Checks each request's signature and age, and refuses one whose signature was seen.

    A signature is remembered until its timestamp leaves the window: after that the
    request is refused as stale anyway. ``now`` gives Unix seconds (injectable).
    """

    def __init__(
        self, secret: str, *, now: Callable[[], float] = time.time, window_s: int = WINDOW_S
    ) -> None:
        self._secret = secret.encode()
        self._now = now
        self._window_s = window_s
        self._seen: set[bytes] = set()
        self._expiry: list[tuple[int, bytes]] = []

    def expires(self, timestamp: str) -> int:
        """When a request of ``timestamp`` (checked by ``refusal``) leaves the window."""
        return int(timestamp) + self._window_s

    def refusal(self, timestamp: str | None, signature: str | None, body: bytes) -> Refusal | None:
        """Why the request must not be processed, or None (then it is remembered as seen)."""
        if not timestamp or not signature:
            return Refusal(401, "not signed")
        if not (timestamp.isascii() and timestamp.isdigit()) or len(timestamp) > _TIMESTAMP_DIGITS:
            return Refusal(401, "the timestamp is not Unix seconds")
        sent = int(timestamp)
        now = self._now()
        self._forget_expired(now)
        if abs(now - sent) > self._window_s:
            return Refusal(401, "the timestamp is outside the 5 minutes a request is valid")
        expected = (
            "v0="
            + hmac.new(
                self._secret, b"v0:" + timestamp.encode() + b":" + body, hashlib.sha256
            ).hexdigest()
        )
        given = signature.encode("utf-8", "surrogateescape")
        if not hmac.compare_digest(expected.encode(), given):
            return Refusal(401, "the signature does not match")
        if given in self._seen:
            return Refusal(401, "the request was seen before (a replay)")
        try:
            body.decode("utf-8")
        except UnicodeDecodeError:
            return Refusal(400, "the body is not UTF-8")
        self._seen.add(given)
        heapq.heappush(self._expiry, (sent + self._window_s, given))
        return None

    @property
    def remembered(self) -> int:
        """How many signatures are remembered (those still inside the window)."""
        return len(self._seen)

    def _forget_expired(self, now: float) -> None:
        while self._expiry and self._expiry[0][0] < now:
            _, signature = heapq.heappop(self._expiry)
            self._seen.discard(signature)
