"""``/connect``: a seller's bol.com API credentials, asked for in a private chat and kept
only encrypted; the chat then deletes the message with the secret."""

from __future__ import annotations

from typing import Any

from bot.channels.platforms import CONSOLE, TELEGRAM
from bot.commands.reply import ChatContext, Reply
from bot.commands.shared import Shared
from bot.notices.check import seller_ref

# The conversation states: waiting for the client id, then for the secret.
CONNECT_ID = "connect_id"
CONNECT_SECRET = "connect_secret"


async def connect(service: Shared, ctx: ChatContext, args: list[str]) -> list[Reply]:
    if ctx.chat.platform == CONSOLE.name:
        # The operator's own terminal: the command line stores credentials directly.
        return [Reply("connect_failed", {"reason": CONSOLE.name})]
    if ctx.chat.platform != TELEGRAM.name or ctx.chat.address.startswith("-"):
        # A secret typed in a group is read by everyone in it: private chats only.
        return [Reply("connect_failed", {"reason": "private_only"})]
    seller, _, problem = await service.resolve(ctx, "connect", args)
    if problem is not None:
        return [problem]
    assert seller is not None
    if service.config.secret_key is None or service.check_credentials is None:
        return [Reply("connect_failed", {"reason": "not_configured"})]
    await service.store.chats.set_conversation(
        ctx.chat.id,
        CONNECT_ID,
        {
            "seller_id": seller.id,
            "user_id": ctx.user_id,
            "started": service.clock().isoformat(),
        },
        service.clock(),
    )
    return [Reply("connect_prompt_id")]


async def continue_connect(
    service: Shared, ctx: ChatContext, state: str, data: dict[str, Any], text: str
) -> list[Reply]:
    """The answer to ``/connect``'s question: the client id, then the secret."""
    # Deferred: the encryption library is loaded only when credentials are typed.
    from bot.bol.credentials import SecretBox

    now = service.clock()
    if state == CONNECT_ID:
        if service.config.secret_key is None:
            return [Reply("connect_failed", {"reason": "not_configured"})]
        # Even between the two questions the client id is kept only sealed.
        data["client_id"] = SecretBox(service.config.secret_key).seal(text.strip()).decode()
        await service.store.chats.set_conversation(ctx.chat.id, CONNECT_SECRET, data, now)
        return [Reply("connect_prompt_secret")]
    # The secret: check it, keep it only encrypted, and have the chat delete it.
    await service.store.chats.set_conversation(ctx.chat.id, None, {}, now)
    seller = await service.store.sellers.get(str(data.get("seller_id")))
    if seller is None or service.check_credentials is None or service.config.secret_key is None:
        return [Reply("connect_failed", {"reason": "not_configured"}, delete_prompt=True)]
    box = SecretBox(service.config.secret_key)
    client_id, secret = box.open(str(data.get("client_id", "")).encode()), text.strip()
    problem = await service.check_credentials(client_id, secret)
    if problem is not None:
        return [Reply("connect_failed", {"reason": problem}, delete_prompt=True)]
    await service.store.sellers.set_credentials(
        seller.id, box.seal(client_id), box.seal(secret), now
    )
    return [Reply("connect_ok", {"seller": seller_ref(seller)}, delete_prompt=True)]
