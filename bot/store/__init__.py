"""The SQLite store: one connection, and a repository per kind of record."""

from __future__ import annotations

import asyncio
from pathlib import Path

from bot.store.chats import Chats
from bot.store.data import WeeklyData
from bot.store.db import Database
from bot.store.outbox import Outbox, OutboxItem, PlannedMessage, SentRecord
from bot.store.records import Chat, Seller, stamp
from bot.store.sellers import SellerExists, Sellers


class Store:
    """The repositories over one open database."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.sellers = Sellers(db)
        self.data = WeeklyData(db)
        self.chats = Chats(db)
        self.outbox = Outbox(db)
        # One weekly check at a time in this process (a scheduled check and an upload's
        # recheck must not both plan the same alert).
        self.check_lock = asyncio.Lock()

    @classmethod
    async def open(cls, path: Path | str) -> Store:
        return cls(await Database.open(path))

    async def close(self) -> None:
        await self.db.close()


__all__ = [
    "Chat",
    "Chats",
    "Database",
    "Outbox",
    "OutboxItem",
    "PlannedMessage",
    "Seller",
    "SellerExists",
    "Sellers",
    "SentRecord",
    "Store",
    "WeeklyData",
    "stamp",
]
