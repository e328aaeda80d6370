"""How a send fails, the same for every platform: each platform's ``Sender`` raises one of
these, so the worker decides retries one way for Telegram, Slack and the console."""

from __future__ import annotations

from typing import Any, Protocol


class SendError(Exception):
    """A message did not go out."""


class RetryLater(SendError):
    """The platform asked us to wait exactly ``seconds`` (HTTP 429)."""

    def __init__(self, seconds: float, detail: str = "rate limited") -> None:
        super().__init__(f"{detail}: retry after {seconds:g}s")
        self.seconds = seconds


class Transient(SendError):
    """A 5xx, a timeout or a broken connection: try again with backoff."""


class Unreachable(SendError):
    """The destination is gone (blocked the bot, channel not found): stop sending to it."""


class Refused(SendError):
    """The platform refused this message for good (a bad request)."""


class Moved(SendError):
    """The chat lives at a new address now (a Telegram group became a supergroup)."""

    def __init__(self, new_address: str) -> None:
        super().__init__(f"moved to {new_address}")
        self.new_address = new_address


class Sender(Protocol):
    platform: str

    async def send(self, address: str, body: dict[str, Any]) -> str | None:
        """Send ``body`` to ``address``; returns the platform's message id."""
