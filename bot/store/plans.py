"""Plan events: a seller's improvement plan submitted to bol.com, or approved, on a day
an operator tells; each owes a recheck from its week, in the same transaction."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import date, datetime

from bot.store.engine.base import Database
from bot.store.owed import RECHECK, owe_in
from bot.store.records import seller_filter, stamp
from norms import IsoWeek, PlanEvent


class PlanEvents:
    """The ``plan_events`` table."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def add(self, seller_id: str, on: date, status: str, actor: str, now: datetime) -> None:
        """Store the plan status and the recheck it obliges, in one transaction."""
        async with self.db.transaction() as tx:
            await tx.execute(
                "INSERT INTO plan_events (seller_id, on_date, status, actor, created_at) "
                "VALUES (?, ?, ?, ?, ?)",
                (seller_id, on.isoformat(), status, actor, stamp(now)),
            )
            await owe_in(tx, RECHECK, IsoWeek.of(on), [seller_id], "plan", now)

    async def of(self, seller_ids: Sequence[str] | None) -> dict[str, list[PlanEvent]]:
        """The plan events of these sellers (all when None), each seller's in the order told."""
        where, params = seller_filter(seller_ids)
        out: dict[str, list[PlanEvent]] = defaultdict(list)
        for r in await self.db.fetchall(
            f"SELECT seller_id, on_date, status FROM plan_events WHERE 1 = 1 {where} ORDER BY id",
            params,
        ):
            out[r[0]].append(PlanEvent(date.fromisoformat(r[1]), r[2]))
        return out
