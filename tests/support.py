"""Test helpers shared across packages: a platform-neutral conversation with the bot."""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.commands.service import ChatContext, Reply, Service
from bot.store import Chat
from messages import LANGUAGES, render


@dataclass
class Conversation:
    """Drives the service layer the way every channel does (push a message, read replies)."""

    service: Service
    chat: Chat
    user_id: str = "1001"
    admin: bool = False
    replies: list[Reply] = field(default_factory=list)

    async def push(self, text: str) -> list[Reply]:
        fresh = await self.service.store.chats.get(self.chat.id)
        assert fresh is not None
        self.chat = fresh
        replies = await self.service.handle(ChatContext(self.chat, self.user_id, self.admin), text)
        self.replies += replies
        return replies

    async def text(self, message: str) -> str:
        """The plain-text rendering of the replies to ``message``."""
        replies = await self.push(message)
        fresh = await self.service.store.chats.get(self.chat.id)
        assert fresh is not None
        lang = fresh.language if fresh.language in LANGUAGES else "nl"
        return "\n\n".join(render(r.kind, r.data, fmt="text", lang=lang).text for r in replies)
