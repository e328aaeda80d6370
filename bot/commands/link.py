"""Linking a chat with a seller: ``/start CODE`` redeems a link code, an operator's
``/linkcode SELLER`` makes one."""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.commands.reply import ChatContext, Reply
from bot.commands.reports import status_now
from bot.commands.shared import Shared
from bot.notices.admins import admin_messages
from bot.notices.check import seller_ref
from bot.store import PlannedMessage
from bot.store.chats import LINK_CODE_TTL, WRONG_CODES_ALLOWED, WRONG_CODES_WINDOW, LinkWait


async def start(service: Shared, ctx: ChatContext, args: list[str]) -> list[Reply]:
    if not args:
        if await service.store.chats.sellers_of(ctx.chat.id):
            return [Reply("help", {"admin": ctx.is_admin})]
        return [Reply("who_are_you")]
    now = service.clock()
    outcome = await service.store.chats.redeem_link_code(
        args[0], ctx.chat.id, ctx.actor, now, when_guessing=await _guessing(service, ctx, now)
    )
    if isinstance(outcome, LinkWait):
        at = outcome.until.astimezone(service.config.timezone)
        if at.second or at.microsecond:  # up to the minute: "after 10:43" is never early
            at = at.replace(second=0, microsecond=0) + timedelta(minutes=1)
        return [Reply("link_wait", {"at": at.strftime("%H:%M")})]
    if outcome in ("unknown", "used", "expired"):
        # Whether a code existed, was used or expired is for operators only: a stranger
        # learns nothing about which codes were ever made.
        return [Reply("link_failed", {"reason": outcome if ctx.is_admin else "refused"})]
    seller = await service.store.sellers.get(outcome)
    assert seller is not None
    return [Reply("link_ok", {"seller": seller_ref(seller)}), *await status_now(service, seller)]


async def _guessing(service: Shared, ctx: ChatContext, now: datetime) -> list[PlannedMessage]:
    """The admins' notice about a chat that keeps sending codes that do not work."""
    data = {
        "destination": f"{ctx.chat.platform}:{ctx.chat.address}",
        "attempts": WRONG_CODES_ALLOWED,
        "minutes": WRONG_CODES_WINDOW.seconds // 60,
    }
    # Told once per chat, however often it comes back to guess.
    key = f"link_guessing:{ctx.chat.id}"
    return await admin_messages(
        service.store, service.config, "link_guessing", data, key=key, now=now
    )


async def linkcode(service: Shared, ctx: ChatContext, args: list[str]) -> list[Reply]:
    if not args:
        return [Reply("bad_argument", {"problem": "linkcode_seller"})]
    seller, _, problem = await service.resolve(ctx, "linkcode", args)
    if problem is not None:
        return [problem]
    assert seller is not None
    code = await service.store.chats.create_link_code(seller.id, service.clock())
    return [
        Reply(
            "link_code",
            {"seller": seller_ref(seller), "passcode": code, "days": LINK_CODE_TTL.days},
        )
    ]
