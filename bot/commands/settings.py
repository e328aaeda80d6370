"""How a chat is spoken to: ``/language``, ``/mute``, ``/unmute``, and ``/help``."""

from __future__ import annotations

from bot.commands.reply import ChatContext, Reply
from bot.commands.shared import Shared
from messages import LANGUAGES


async def help_(service: Shared, ctx: ChatContext, args: list[str]) -> list[Reply]:
    return [Reply("help", {"admin": ctx.is_admin})]


async def language(service: Shared, ctx: ChatContext, args: list[str]) -> list[Reply]:
    if not args:
        return [Reply("bad_argument", {"problem": "language_missing"})]
    if args[0].lower() not in LANGUAGES:
        given = " ".join(args)
        return [Reply("bad_argument", {"problem": "language", "given": given})]
    chosen = args[0].lower()
    await service.store.chats.set_language(ctx.chat.id, chosen)
    return [Reply("language_set", {"language": chosen})]


async def mute(service: Shared, ctx: ChatContext, args: list[str]) -> list[Reply]:
    await service.store.chats.set_muted(ctx.chat.id, True)
    return [Reply("muted")]


async def unmute(service: Shared, ctx: ChatContext, args: list[str]) -> list[Reply]:
    await service.store.chats.set_muted(ctx.chat.id, False)
    return [Reply("unmuted")]
