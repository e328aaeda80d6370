"""The store: one database (SQLite or PostgreSQL), and a repository per kind of record."""

from __future__ import annotations

from pathlib import Path

from bot.store.chats import Chats
from bot.store.data import WeeklyData
from bot.store.engine.base import Database, DatabaseBusy
from bot.store.engine.open import open_database
from bot.store.exemptions import ExemptionExists, Exemptions
from bot.store.histories import Histories
from bot.store.jobs import Jobs
from bot.store.measurements import Measurements
from bot.store.outbox import Outbox, OutboxItem, PlannedMessage, SentRecord
from bot.store.owed import Owed, OwedWork
from bot.store.plans import PlanEvents
from bot.store.records import Chat, Seller, stamp
from bot.store.reopens import Reopens
from bot.store.sellers import SellerExists, Sellers
from bot.store.states import SellerStates
from bot.store.verdicts import BolStatuses


class Store:
    """The repositories over one open database."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.sellers = Sellers(db)
        self.measurements = Measurements(db)
        self.exemptions = Exemptions(db)
        self.plans = PlanEvents(db)
        self.reopens = Reopens(db)
        self.histories = Histories(db)
        self.bol_statuses = BolStatuses(db)
        # The names older call sites use, over the same repositories.
        self.data = WeeklyData(
            self.measurements, self.exemptions, self.plans, self.reopens, self.histories
        )
        self.chats = Chats(db)
        self.outbox = Outbox(db)
        self.owed = OwedWork(db)
        self.states = SellerStates(db)
        self.jobs = Jobs(db)
        # One weekly check at a time, in this process and in every other one on the same
        # database (a scheduled check and an upload's recheck must not both plan the same
        # alert).
        self.check_lock = db.lock("check")
        # One process at a time does the owed work (see ``bot.notices.owed_work``).
        self.owed_lock = db.lock("owed")

    @classmethod
    async def open(cls, target: Path | str, *, busy_wait_s: float | None = None) -> Store:
        """Open the store at ``target`` (a SQLite file, or a PostgreSQL URL); a writer waits
        up to ``busy_wait_s`` for another process's write lock (None: as long as it takes)."""
        return cls(await open_database(target, busy_wait_s=busy_wait_s))

    async def close(self) -> None:
        await self.db.close()


__all__ = [
    "BolStatuses",
    "Chat",
    "Chats",
    "Database",
    "DatabaseBusy",
    "ExemptionExists",
    "Exemptions",
    "Histories",
    "Jobs",
    "Measurements",
    "Outbox",
    "OutboxItem",
    "Owed",
    "OwedWork",
    "PlanEvents",
    "PlannedMessage",
    "Reopens",
    "Seller",
    "SellerExists",
    "SellerStates",
    "Sellers",
    "SentRecord",
    "Store",
    "WeeklyData",
    "stamp",
]
