"""The small public types of the messages package: formats, languages, what a render returns."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from norms import IsoWeek

Format = Literal["telegram", "slack", "text"]
Language = Literal["nl", "en", "fr"]
LANGUAGES: tuple[Language, ...] = ("nl", "en", "fr")
FORMATS: tuple[Format, ...] = ("telegram", "slack", "text")


@dataclass(frozen=True)
class SellerRef:
    """A seller as messages name it: the id for commands, the name for people."""

    id: str
    name: str


CauseKind = Literal["figures", "exemption", "exemption_removed", "plan", "reopen"]


@dataclass(frozen=True)
class Cause:
    """Why a week's verdict changed after it was told, as a correction names it: new
    figures from ``week`` on (from ``source``: ``bol.com`` or ``upload``, where known), an
    exemption for ``week`` declared or removed, a plan status or a reopen in ``week``."""

    kind: CauseKind
    week: IsoWeek
    source: str | None = None


@dataclass(frozen=True)
class Rendered:
    """One message, ready for a channel.

    ``text`` is Telegram HTML (with ``parse_mode="HTML"``), Slack mrkdwn (the fallback
    text beside ``blocks``) or plain text, depending on the format it was rendered for.
    """

    text: str
    blocks: list[dict[str, Any]] | None = None
    parse_mode: str | None = None
