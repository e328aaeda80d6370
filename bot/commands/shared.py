"""What every command family shares: the store, the report cache, and finding the seller
a command is about."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date, datetime, timedelta
from typing import Any

from bot.clock import Clock
from bot.commands.reply import ChatContext, Reply
from bot.commands.seller_names import matching
from bot.config import Config
from bot.notices.check import seller_ref
from bot.notices.owed_work import complete_owed_work
from bot.notices.reports import Reports
from bot.store import Seller, Store

# How long /connect waits for the client id and secret, and a broad exemption for its yes.
CONNECT_TTL = timedelta(minutes=10)
MAX_SELLERS_LOOKED_THROUGH = 100

# Checks bol.com credentials with a token request: None when good, else the reason.
CredentialCheck = Callable[[str, str], Awaitable[str | None]]


class Shared(Reports):
    """The store, configuration and clock of every command, the report cache, and the
    seller a command is about."""

    def __init__(
        self,
        store: Store,
        config: Config,
        clock: Clock,
        check_credentials: CredentialCheck | None = None,
    ) -> None:
        super().__init__(store, config, clock)
        self.check_credentials = check_credentials

    async def complete_owed_work(self, now: datetime) -> int:
        """Do the rechecks a change just recorded as owed (and any left from a crash)."""
        return await complete_owed_work(self.store, self.config, now=now)

    def today(self, now: datetime) -> date:
        return now.astimezone(self.config.timezone).date()

    async def visible_sellers(self, ctx: ChatContext) -> list[Seller]:
        """The chat's sellers; an operator's chat without any sees every seller."""
        linked = await self.store.chats.sellers_of(ctx.chat.id)
        if ctx.is_admin and not linked:
            return await self.store.sellers.all()
        return linked

    async def resolve(
        self, ctx: ChatContext, command: str, args: list[str]
    ) -> tuple[Seller | None, list[str], Reply | None]:
        """The seller a command is about: named in ``args`` or the chat's only one."""
        visible = await self.visible_sellers(ctx)
        named = args
        if named:
            searched = visible if not ctx.is_admin else await self.store.sellers.all()
            # Every word is the name: "/score Snel Koffie" is not "Snel" with a stray word.
            query = " ".join(named)
            found = matching(searched, query)
            if len(found) == 1:
                return found[0], args[len(named) :], None
            if found:
                return None, args, self.choose(command, found)
            return None, args, Reply("unknown_seller", {"query": query})
        if len(visible) == 1:
            return visible[0], args, None
        if not visible:
            return None, args, Reply("who_are_you")
        return None, args, self.choose(command, visible)

    async def sellers_of_choice(self, choice: Reply) -> list[Seller]:
        return await self.store.sellers.some([ref.id for ref in choice.choices])

    def choose(self, command: str, sellers: list[Seller]) -> Reply:
        """Ask which of ``sellers``: a button each runs ``command`` again for it."""
        refs = tuple(seller_ref(s) for s in sellers)
        return Reply(
            "choose_seller",
            {"command": command, "sellers": list(refs)},
            choices=refs,
            command=command,
        )

    def still_open(self, ctx: ChatContext, data: dict[str, Any]) -> bool:
        """A ``/connect`` exchange belongs to the user who began it, for a few minutes."""
        started = datetime.fromisoformat(str(data.get("started", "2000-01-01T00:00:00+00:00")))
        fresh = self.clock() - started < CONNECT_TTL
        return fresh and data.get("user_id") == ctx.user_id
