"""Slack request checks on raw bytes: signature, age, replays, encoding; time injected."""

from __future__ import annotations

import hashlib
import hmac

from bot.channels.slack.signature import Refusal, SignedRequests

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
T0 = 1_790_000_000


class Clock:
    def __init__(self) -> None:
        self.now = float(T0)

    def __call__(self) -> float:
        return self.now


def sign(timestamp: int, body: bytes) -> str:
    mac = hmac.new(SECRET.encode(), f"v0:{timestamp}:".encode() + body, hashlib.sha256)
    return "v0=" + mac.hexdigest()


def test_a_signature_is_accepted_once_and_forgotten_when_it_would_be_stale() -> None:
    clock = Clock()
    signed = SignedRequests(SECRET, now=clock)
    body = b"command=%2Fnormwacht&text=score"
    signature = sign(T0, body)
    assert signed.refusal(str(T0), signature, body) is None
    clock.now += 299
    assert signed.refusal(str(T0), signature, body) == Refusal(
        401, "the request was seen before (a replay)"
    )
    clock.now += 2  # past the window: stale, and no longer remembered
    assert signed.refusal(str(T0), signature, body) == Refusal(
        401, "the timestamp is outside the 5 minutes a request is valid"
    )
    assert signed.remembered == 0
    fresh = int(clock.now)
    assert signed.refusal(str(fresh), sign(fresh, body), body) is None


def test_forged_malformed_and_undecodable_requests() -> None:
    signed = SignedRequests(SECRET, now=Clock())
    body = b"text=score"
    assert signed.refusal(None, None, body) == Refusal(401, "not signed")
    assert signed.refusal("abc", sign(T0, body), body) == Refusal(
        401, "the timestamp is not Unix seconds"
    )
    assert signed.refusal(str(T0), "v0=" + "0" * 64, body) == Refusal(
        401, "the signature does not match"
    )
    assert signed.refusal(str(T0), "v0=\udcff", body) == Refusal(
        401, "the signature does not match"
    )
    latin1 = b"text=caf\xe9"
    assert signed.refusal(str(T0), sign(T0, latin1), latin1) == Refusal(
        400, "the body is not UTF-8"
    )
