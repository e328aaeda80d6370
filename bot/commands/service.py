"""Every chat command, answered in one place. Channels translate updates in and ``Reply``s
out; the commands themselves live in their families' modules, declared in ``registry``.
"""

from __future__ import annotations

import shlex
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

from bot.commands.connect import continue_connect
from bot.commands.exempt import EXEMPT_CONFIRM
from bot.commands.plan import PLAN_DONE
from bot.commands.registry import find
from bot.commands.reply import ChatContext, Reply
from bot.commands.shared import CredentialCheck, Shared
from bot.imports import ImportFile, ImportRejected, import_files
from bot.ingest.rows import Issue, too_big
from bot.notices.check import seller_ref
from bot.store import Chat
from messages import LANGUAGES

T = TypeVar("T")

MAX_UPLOAD_BYTES = 20 * 1024 * 1024
# How long a chat's message waits for a database that went away, before the chat is
# asked to try again.
CHAT_PATIENCE_S = 30.0
MAX_LISTED_ISSUES = 15


class Service(Shared):
    """A chat's messages in, ``Reply``s out: the command each message starts, who may run
    it, and the conversation (``/connect``'s questions, an exemption's yes) under way."""

    async def patiently(self, answer: Callable[[], Awaitable[T]]) -> T:
        """Answer a chat's message; while the database is briefly away, once it is back
        (for up to ``CHAT_PATIENCE_S``; then the outage's error is raised, for the channel
        to say "try again in a minute")."""
        return await self.store.db.patiently(answer, limit_s=CHAT_PATIENCE_S)

    async def chat_for(
        self, platform: str, address: str, title: str = "", *, language: str | None = None
    ) -> Chat:
        """The chat, created on first contact in ``language`` (the user's, when the platform
        tells it and we speak it) or else the configured default."""
        first = language if language in LANGUAGES else self.config.language
        return await self.store.chats.get_or_create(
            platform, address, language=first, now=self.clock(), title=title
        )

    async def handle(self, ctx: ChatContext, text: str) -> list[Reply]:
        """Answer one message of a chat."""
        text = text.strip()
        pending = await self.store.chats.conversation(ctx.chat.id)
        # A confirmation is judged when it is pressed: a stranger's press must not cancel it.
        if (
            pending is not None
            and pending[0] != EXEMPT_CONFIRM
            and not self.still_open(ctx, pending[1])
        ):
            await self.store.chats.set_conversation(ctx.chat.id, None, {}, self.clock())
            pending = None
        if pending is not None and not text.startswith("/") and pending[0] != EXEMPT_CONFIRM:
            return await continue_connect(self, ctx, pending[0], pending[1], text)
        if not text.startswith("/"):
            return [Reply("help", {"admin": ctx.is_admin})]
        try:
            words = shlex.split(text)
        except ValueError:
            words = text.split()
        command = find(words[0][1:].split("@", 1)[0], ctx.chat.platform)
        args = words[1:]
        if command is not None and command.admin and not ctx.is_admin:
            return [Reply("not_admin")]
        if command is None or command.handler is None:
            return [Reply("unknown_command", {"command": words[0]})]
        confirming = command.name == "exempt" and pending is not None
        if pending is not None and not (confirming and pending[0] == EXEMPT_CONFIRM):
            # A new command abandons a half-finished /connect or an unconfirmed exemption.
            await self.store.chats.set_conversation(ctx.chat.id, None, {}, self.clock())
        restricted = not command.open_to_unlinked and not ctx.is_admin
        if restricted and not await self.store.chats.sellers_of(ctx.chat.id):
            return [Reply("who_are_you")]
        return await command.handler(self, ctx, args)

    async def handle_upload(self, ctx: ChatContext, path: Path, filename: str) -> list[Reply]:
        """Import a document sent to the chat, for the chat's own sellers only."""
        sellers = await self.visible_sellers(ctx)
        if not sellers:
            return [Reply("who_are_you")]
        if path.stat().st_size > MAX_UPLOAD_BYTES:
            return [self.upload_too_big(filename, path.stat().st_size)]
        now = self.clock()
        try:
            result = await import_files(
                self.store,
                [ImportFile(path, filename)],
                policy=self.config.policy,
                today=self.today(now),
                now=now,
                allowed_sellers=None if ctx.is_admin else {s.id for s in sellers},
                language=ctx.chat.language,
                timezone=self.config.timezone,
            )
        except ImportRejected as exc:
            # Each issue names where and why; the template says it in the chat's language.
            listed = exc.issues[:MAX_LISTED_ISSUES]
            return [
                Reply(
                    "upload_rejected",
                    {"file": filename, "issues": listed, "more": exc.total - len(listed)},
                )
            ]
        await self.complete_owed_work(now)
        named = {s.id: s for s in await self.store.sellers.some(sorted(result.sellers))}
        return [
            Reply(
                "upload_ok",
                {
                    "file": filename,
                    "rows": result.measurements + result.ratings,
                    "statuses": result.statuses,
                    "weeks": sorted({w for _, w in result.weeks}),
                    "sellers": [seller_ref(named[s]) for s in sorted(named)],
                },
            )
        ]

    def upload_too_big(self, filename: str, size: int) -> Reply:
        issue = Issue(filename, 0, 0, too_big(size, MAX_UPLOAD_BYTES))
        return Reply("upload_rejected", {"file": filename, "issues": [issue], "more": 0})


__all__ = [
    "MAX_UPLOAD_BYTES",
    "PLAN_DONE",
    "ChatContext",
    "CredentialCheck",
    "Reply",
    "Service",
]
