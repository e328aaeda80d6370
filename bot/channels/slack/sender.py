"""Outbox delivery to Slack: chat.postMessage with Block Kit, and Slack's errors mapped to
the delivery worker's ``SendError`` kinds."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient

from bot.config import Config
from bot.outbox.errors import Refused, RetryLater, SendError, Transient, Unreachable
from bot.runtime.health import Health, describe
from messages import LANGUAGES
from messages.i18n import N_, translations

PLATFORM = "slack"
MAX_BLOCKS = 50
PLAN_BLOCK_ID = "normwacht_plan"
PLAN_ACTION_ID = "normwacht_plan_submitted"
PLAN_BUTTON = N_("Plan submitted")

# The destination is gone for good: the worker deactivates it.
UNREACHABLE_ERRORS = frozenset({"channel_not_found", "not_in_channel", "is_archived"})
# Slack's own trouble, reported with HTTP 200: worth another try later.
TRANSIENT_ERRORS = frozenset(
    {"internal_error", "fatal_error", "service_unavailable", "request_timeout"}
)


def web_client(config: Config) -> AsyncWebClient:
    """The Web API client at ``SLACK_API_URL``, retrying once on 429 after ``Retry-After``."""
    client = AsyncWebClient(token=config.slack_bot_token, base_url=config.slack_api_url)
    client.retry_handlers.append(AsyncRateLimitErrorRetryHandler(max_retry_count=1))
    return client


def api_error(exc: SlackApiError) -> str:
    """The ``error`` code of a failed Web API call."""
    response = exc.response
    error = response.get("error") if isinstance(response.data, dict) else None
    return str(error or f"http_{response.status_code}")


def send_error(exc: SlackApiError) -> SendError:
    """The delivery worker's view of a failed chat.postMessage."""
    error = api_error(exc)
    status = exc.response.status_code
    if status == 429 or error == "ratelimited":
        return RetryLater(retry_after(exc.response.headers), error)
    if error in UNREACHABLE_ERRORS:
        return Unreachable(error)
    if status >= 500 or error in TRANSIENT_ERRORS:
        return Transient(error)
    return Refused(error)


# Slack does not take the token: the operator must set another.
AUTH_ERRORS = frozenset(
    {
        "invalid_auth",
        "not_authed",
        "account_inactive",
        "token_revoked",
        "token_expired",
        "not_allowed_token_type",
    }
)


def refused_setting(exc: BaseException) -> str | None:
    """The setting whose token Slack refused: the app token when it was Socket Mode's
    apps.connections.open, else the bot token."""
    if not isinstance(exc, SlackApiError) or api_error(exc) not in AUTH_ERRORS:
        return None
    if str(exc.response.api_url).endswith("apps.connections.open"):
        return "SLACK_APP_TOKEN"
    return "SLACK_BOT_TOKEN"


def is_outage(exc: BaseException) -> bool:
    """Slack could not be reached, or answered with trouble of its own (5xx, 429); a bad
    token or a missing scope is ours to fix."""
    if isinstance(exc, TimeoutError | aiohttp.ClientError):
        return True
    return isinstance(exc, SlackApiError) and isinstance(send_error(exc), RetryLater | Transient)


def retry_after(headers: Mapping[str, Any] | None) -> float:
    """Seconds of the ``Retry-After`` header (1 when absent or unreadable)."""
    for name, value in (headers or {}).items():
        if name.lower() == "retry-after":
            raw = value[0] if isinstance(value, list | tuple) and value else value
            try:
                return max(0.0, float(raw))
            except (TypeError, ValueError):
                break
    return 1.0


def plan_button(seller_id: str, language: str) -> dict[str, Any]:
    """The actions block with the "Plan submitted" button for one seller."""
    return {
        "type": "actions",
        "block_id": PLAN_BLOCK_ID,
        "elements": [
            {
                "type": "button",
                "action_id": PLAN_ACTION_ID,
                "style": "primary",
                "text": {
                    "type": "plain_text",
                    "text": translations(language if language in LANGUAGES else "nl").gettext(
                        PLAN_BUTTON
                    ),
                },
                "value": seller_id,
            }
        ],
    }


def with_plan_button(
    blocks: list[dict[str, Any]], seller_id: str, language: str
) -> list[dict[str, Any]]:
    """``blocks`` with the plan button before the closing context line, within 50 blocks."""
    out = list(blocks)
    at = len(out) - 1 if out and out[-1].get("type") == "context" else len(out)
    while len(out) >= MAX_BLOCKS and at > 0:
        del out[at - 1]
        at -= 1
    out.insert(at, plan_button(seller_id, language))
    return out


def is_suspension(sections: list[str] | tuple[str, ...]) -> bool:
    """Section ids carry the track step (``suspension@3``): compare the alert only."""
    return any(s.split("@", 1)[0] == "suspension" for s in sections)


class SlackSender:
    """Posts outbox bodies (``text`` fallback plus ``blocks``) with chat.postMessage."""

    platform = PLATFORM

    def __init__(
        self, client: AsyncWebClient, *, language: str = "nl", health: Health | None = None
    ) -> None:
        self.client = client
        self.language = language
        # What a send shows about Slack's reachability, for the delivery worker and /healthz.
        self.health = health

    async def send(self, address: str, body: dict[str, Any]) -> str | None:
        blocks: list[dict[str, Any]] | None = body.get("blocks")
        plan = self._plan_for(body)
        if plan is not None:
            blocks = with_plan_button(blocks or [], *plan)
        try:
            response = await self.client.chat_postMessage(
                channel=address, text=body["text"], blocks=blocks
            )
        except SlackApiError as exc:
            raise send_error(exc) from exc
        except (TimeoutError, aiohttp.ClientError) as exc:
            if self.health is not None:
                self.health.down(PLATFORM, describe(exc))
            raise Transient(f"{type(exc).__name__}: {exc}") from exc
        if self.health is not None:
            self.health.up(PLATFORM)
        ts = response.get("ts")
        return str(ts) if ts is not None else None

    def _plan_for(self, body: dict[str, Any]) -> tuple[str, str] | None:
        """(seller id, language) when ``body`` is an alert with a suspension section."""
        meta = body.get("meta")
        if (
            isinstance(meta, dict)
            and meta.get("kind") == "alerts"
            and is_suspension(list(meta.get("sections") or ()))
        ):
            return str(meta["seller_id"]), str(meta.get("language") or self.language)
        return None
