"""Turning what the service decided into outbox rows: rendered once per destination."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.store import Chat
from messages import LANGUAGES, Format, render

PLATFORM_FORMAT: dict[str, Format] = {"telegram": "telegram", "slack": "slack", "console": "text"}


def body_for(chat: Chat, kind: str, data: Mapping[str, Any]) -> dict[str, Any]:
    """Render ``kind`` for the chat's platform and language, as stored in the outbox."""
    rendered = render(
        kind,
        data,
        fmt=PLATFORM_FORMAT.get(chat.platform, "text"),
        lang=chat.language if chat.language in LANGUAGES else "nl",
    )
    return {"text": rendered.text, "blocks": rendered.blocks, "parse_mode": rendered.parse_mode}
