"""``/sellers``: the shops this chat follows."""

from __future__ import annotations

from bot.commands.reply import ChatContext, Reply
from bot.commands.shared import Shared
from bot.notices.check import seller_ref


async def sellers(service: Shared, ctx: ChatContext, args: list[str]) -> list[Reply]:
    shown = await service.visible_sellers(ctx)
    return [Reply("sellers", {"sellers": [seller_ref(s) for s in shown]})]
