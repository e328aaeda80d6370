"""Messages for the operators (``NORMWACHT_ADMINS``): data missing, destinations lost,
chats guessing link codes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.channels.platforms import chat_platforms
from bot.config import Config
from bot.notices.notice import Key, notice
from bot.store import Chat, PlannedMessage, Store


async def admin_chats(store: Store, config: Config, now: datetime) -> list[Chat]:
    """A destination per admin on a configured platform (a private chat or a Slack DM)."""
    enabled = {p.name for p in chat_platforms(config) if p.admins}
    chats = []
    for admin in sorted(config.admins):
        platform, _, user_id = admin.partition(":")
        if platform in enabled:
            chats.append(
                await store.chats.get_or_create(
                    platform, user_id, language=config.language, now=now, title="admin"
                )
            )
    return chats


async def admin_messages(
    store: Store,
    config: Config,
    kind: str,
    data: dict[str, Any],
    *,
    key: str,
    now: datetime,
) -> list[PlannedMessage]:
    """One operator message per admin, planned once per ``key`` (to plan in a transaction)."""
    return [
        notice(chat, kind, data, key=Key.admin(key, chat.id))
        for chat in await admin_chats(store, config, now)
    ]


async def tell_admins(
    store: Store,
    config: Config,
    kind: str,
    data: dict[str, Any],
    *,
    key: str,
    now: datetime,
) -> int:
    """Plan one operator message per admin, once per ``key``."""
    messages = await admin_messages(store, config, kind, data, key=key, now=now)
    return await store.outbox.plan(messages, now)
