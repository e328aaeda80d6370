"""Delivery through Telegram: outbox messages out, Bot API failures mapped to the delivery
worker's error kinds (429 waits, blocked chats are unreachable, 5xx and timeouts retried)."""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

from telegram import Bot, LinkPreviewOptions
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)
from telegram.request import HTTPXRequest

from bot.config import Config
from bot.outbox.errors import Moved, Refused, RetryLater, Transient, Unreachable
from bot.runtime.health import Health, describe
from messages import split_telegram

# Without it PTB warns on every RetryAfter (ENGINEERING.md); the app must not depend on
# the operator remembering to export it.
os.environ.setdefault("PTB_TIMEDELTA", "true")

PLATFORM = "telegram"
NO_PREVIEW = LinkPreviewOptions(is_disabled=True)
_UNREACHABLE_400 = ("chat not found", "peer_id_invalid", "user not found", "chat_write_forbidden")


def retry_seconds(exc: RetryAfter) -> float:
    wait = exc.retry_after
    return wait.total_seconds() if isinstance(wait, timedelta) else float(wait)


def chat_id_of(address: str) -> int | str:
    return int(address) if re.fullmatch(r"-?\d+", address) else address


def http_request(
    health: Health | None = None, gate: Callable[[], bool] | None = None, **overrides: Any
) -> HTTPXRequest:
    """PTB's HTTP client with timeouts that suit a bot answering people; with ``health``,
    every request tells it whether Telegram could be reached; with ``gate``, a request is
    made only while ``gate()`` (the polling lease is provably this instance's)."""
    timeouts: dict[str, Any] = {
        "connect_timeout": 5.0,
        "read_timeout": 15.0,
        "write_timeout": 15.0,
        "media_write_timeout": 30.0,
        "pool_timeout": 5.0,
    }
    if health is not None or gate is not None:
        return WatchedRequest(health, gate, **(timeouts | overrides))
    return HTTPXRequest(**(timeouts | overrides))


class NotOurs(NetworkError):
    """A request held back: what it needs (the polling lease) may no longer be ours."""


def is_outage(exc: BaseException) -> bool:
    """Telegram could not be reached or answered with a 5xx or 429 (not: a bad token or a
    bad request, which are ours to fix)."""
    if isinstance(exc, RetryAfter):
        return True
    return isinstance(exc, NetworkError) and not isinstance(exc, BadRequest)


def refused_setting(exc: BaseException) -> str | None:
    """The setting whose credential Telegram refused (it does not know the token)."""
    return "TELEGRAM_BOT_TOKEN" if isinstance(exc, InvalidToken) else None


class WatchedRequest(HTTPXRequest):
    """Every Bot API call is a sign of life: an answer marks Telegram up, a connection
    that fails marks it down (a timeout may be our own pool: it says nothing)."""

    def __init__(
        self, health: Health | None, gate: Callable[[], bool] | None = None, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.health = health
        self.gate = gate

    async def do_request(self, *args: Any, **kwargs: Any) -> tuple[int, bytes]:
        if self.gate is not None and not self.gate():
            # A process that woke from a freeze asks nothing more of Telegram under a
            # lease that may have passed to another instance (which polls meanwhile).
            raise NotOurs("polling lease not held")
        try:
            code, payload = await super().do_request(*args, **kwargs)
        except TimedOut:
            raise
        except NetworkError as exc:
            if self.health is not None:
                self.health.down(PLATFORM, describe(exc))
            raise
        if code < 500 and self.health is not None:
            self.health.up(PLATFORM)
        return code, payload


class TelegramSender:
    """Sends outbox messages; Bot API failures become the delivery worker's error kinds."""

    platform = PLATFORM

    def __init__(
        self, bot: Bot, part_interval_s: float = 1.0, *, paid_broadcast: bool = False
    ) -> None:
        self.bot = bot
        # A long text goes out in parts, paced like messages to one chat.
        self.part_interval_s = part_interval_s
        # TELEGRAM_PAID_BROADCAST=on: each message may go beyond the free limit, billed
        # (None: the parameter is not sent at all).
        self.paid_broadcast = True if paid_broadcast else None

    async def send(self, address: str, body: dict[str, Any]) -> str | None:
        """Send ``body``; a long text in parts, noting in ``body["sent_parts"]`` how many went
        out, so that a retry after a failure continues instead of repeating them."""
        chat_id = chat_id_of(address)
        parse_mode = body.get("parse_mode")
        chunks = split_telegram(str(body.get("text") or ""))
        if not chunks:
            raise Refused("empty message")
        done = int(body.get("sent_parts", 0))
        first: str | None = body.get("first_message_id")
        try:
            for index in range(done, len(chunks)):
                if index > done:
                    await asyncio.sleep(self.part_interval_s)
                message = await self.bot.send_message(
                    chat_id,
                    chunks[index],
                    parse_mode=parse_mode,
                    link_preview_options=NO_PREVIEW,
                    allow_paid_broadcast=self.paid_broadcast,
                )
                first = first or str(message.message_id)
                if len(chunks) > 1:
                    body["sent_parts"] = index + 1
                    body["first_message_id"] = first
        except RetryAfter as exc:
            raise RetryLater(retry_seconds(exc)) from exc
        except Forbidden as exc:
            raise Unreachable(exc.message) from exc
        except ChatMigrated as exc:
            raise Moved(str(exc.new_chat_id)) from exc
        except BadRequest as exc:  # a NetworkError subclass: before the next clause
            if any(marker in exc.message.lower() for marker in _UNREACHABLE_400):
                raise Unreachable(exc.message) from exc
            raise Refused(exc.message) from exc
        except (NetworkError, TelegramError) as exc:  # TimedOut, 5xx, connection errors
            raise Transient(f"{type(exc).__name__}: {exc.message}") from exc
        return first


@asynccontextmanager
async def telegram_sender(
    config: Config, health: Health | None = None
) -> AsyncIterator[TelegramSender]:
    """A ready Bot for ``normwacht deliver``; shut down on exit. With ``health``, its
    requests tell whether Telegram answers."""
    assert config.telegram_token, "TELEGRAM_BOT_TOKEN is not set"
    root = config.telegram_api_url.rstrip("/")
    bot = Bot(
        config.telegram_token,
        base_url=f"{root}/bot",
        base_file_url=f"{root}/file/bot",
        request=http_request(health),
    )
    async with bot:
        yield TelegramSender(bot, paid_broadcast=config.telegram_paid_broadcast)
