"""What a command hears and says: who is talking, and the reply.

A reply is channel-neutral: a message kind with its data (rendered by ``messages`` for
the channel's format and the chat's language), optionally a picture, or a choice of
sellers to ask about.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bot.store import Chat
from messages import LANGUAGES, Language, SellerRef


@dataclass(frozen=True, slots=True)
class ChatContext:
    """Who is talking: the chat (destination) and the user in it."""

    chat: Chat
    user_id: str | None
    is_admin: bool = False

    @property
    def actor(self) -> str:
        return f"{self.chat.platform}:{self.user_id or self.chat.address}"


@dataclass(frozen=True, slots=True)
class Reply:
    kind: str
    data: dict[str, Any] = field(default_factory=dict)
    image: bytes | None = None
    # Ask which seller: the command to run again with the chosen seller's id.
    choices: tuple[SellerRef, ...] = ()
    command: str | None = None
    # The message that prompted this reply held a secret: delete it from the chat.
    delete_prompt: bool = False


def lang(language: str) -> Language:
    """The chat's language, or Dutch for one we no longer speak."""
    return language if language in LANGUAGES else "nl"
