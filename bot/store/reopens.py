"""Reopens: the days a seller's shop opened again after a closure, told by an operator;
each owes a recheck from its week, in the same transaction."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import date, datetime

from bot.store.engine.base import Database
from bot.store.owed import RECHECK, owe_in
from bot.store.records import seller_filter, stamp
from norms import IsoWeek, Reopen


class Reopens:
    """The ``reopens`` table."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def add(self, seller_id: str, on: date, actor: str, now: datetime) -> None:
        """Store the reopen and the recheck it obliges, in one transaction."""
        async with self.db.transaction() as tx:
            await tx.execute(
                "INSERT INTO reopens (seller_id, on_date, actor, created_at) VALUES (?, ?, ?, ?)",
                (seller_id, on.isoformat(), actor, stamp(now)),
            )
            await owe_in(tx, RECHECK, IsoWeek.of(on), [seller_id], "reopen", now)

    async def of(self, seller_ids: Sequence[str] | None) -> dict[str, list[Reopen]]:
        """The reopens of these sellers (all when None), each seller's in the order told."""
        where, params = seller_filter(seller_ids)
        out: dict[str, list[Reopen]] = defaultdict(list)
        for r in await self.db.fetchall(
            f"SELECT seller_id, on_date FROM reopens WHERE 1 = 1 {where} ORDER BY id", params
        ):
            out[r[0]].append(Reopen(date.fromisoformat(r[1])))
        return out
