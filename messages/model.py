"""The small public types of the messages package: formats, languages, what a render returns."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

Format = Literal["telegram", "slack", "text"]
Language = Literal["nl", "en", "fr"]
LANGUAGES: tuple[Language, ...] = ("nl", "en", "fr")
FORMATS: tuple[Format, ...] = ("telegram", "slack", "text")


@dataclass(frozen=True)
class SellerRef:
    """A seller as messages name it: the id for commands, the name for people."""

    id: str
    name: str


@dataclass(frozen=True)
class Rendered:
    """One message, ready for a channel.

    ``text`` is Telegram HTML (with ``parse_mode="HTML"``), Slack mrkdwn (the fallback
    text beside ``blocks``) or plain text, depending on the format it was rendered for.
    """

    text: str
    blocks: list[dict[str, Any]] | None = None
    parse_mode: str | None = None
