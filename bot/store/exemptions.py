"""Exemptions: weeks in which norms do not count (for some sellers, or for all), each
recorded with who declared it and when; adding or removing one owes the recheck it
obliges, in the same transaction."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.store.engine.base import Database
from bot.store.owed import RECHECK, owe_in
from bot.store.records import ExemptionRecord, parse_stamp, stamp
from norms import Exemption, Indicator, IsoWeek


class Exemptions:
    """The ``exemptions`` table."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def add(self, exemption: Exemption, actor: str, now: datetime) -> int:
        """Store the exemption and, in the same transaction, the recheck it obliges; raises
        ``ExemptionExists`` when one of the same week, norms and sellers is recorded."""
        year, week, indicators, sellers = scope = _scope(exemption)
        async with self.db.transaction() as tx:
            same = await tx.fetchone(_SAME_EXEMPTION, scope)
            if same is not None:
                raise ExemptionExists(_exemption_record(same))
            row = await tx.fetchone(
                "INSERT INTO exemptions "
                "(year, week, reason, indicators, sellers, actor, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
                (year, week, exemption.reason, indicators, sellers, actor, stamp(now)),
            )
            exemption_id = int(row["id"]) if row else 0
            await owe_in(
                tx, RECHECK, exemption.week, sorted(exemption.sellers) or None, "exemption", now
            )
        return exemption_id

    async def same(self, exemption: Exemption) -> ExemptionRecord | None:
        """The recorded exemption of the same week, norms and sellers, if there is one."""
        row = await self.db.fetchone(_SAME_EXEMPTION, _scope(exemption))
        return None if row is None else _exemption_record(row)

    async def all(self) -> list[Exemption]:
        """Every exemption, by week."""
        return [record.exemption for record in await self.records()]

    async def records(self) -> list[ExemptionRecord]:
        """Every exemption with its id, who declared it and when, by week."""
        rows = await self.db.fetchall(
            "SELECT id, year, week, reason, indicators, sellers, actor, created_at "
            "FROM exemptions ORDER BY year, week, id"
        )
        return [_exemption_record(r) for r in rows]

    async def remove(self, exemption_id: int, now: datetime) -> ExemptionRecord | None:
        """Delete an exemption and, in the same transaction, owe the recheck it obliges;
        returns what was removed, None when there is no such id."""
        async with self.db.transaction() as tx:
            row = await tx.fetchone(
                "SELECT id, year, week, reason, indicators, sellers, actor, created_at "
                "FROM exemptions WHERE id = ?",
                (exemption_id,),
            )
            if row is None:
                return None
            await tx.execute("DELETE FROM exemptions WHERE id = ?", (exemption_id,))
            record = _exemption_record(row)
            sellers = sorted(record.exemption.sellers) or None
            await owe_in(tx, RECHECK, record.exemption.week, sellers, "exemption removed", now)
        return record


class ExemptionExists(ValueError):
    """An exemption of the same week, norms and sellers is recorded already: ``existing``."""

    def __init__(self, existing: ExemptionRecord) -> None:
        super().__init__(f"exemption #{existing.id} covers the same week, norms and sellers")
        self.existing = existing


_SAME_EXEMPTION = (
    "SELECT id, year, week, reason, indicators, sellers, actor, created_at FROM exemptions "
    "WHERE year = ? AND week = ? AND indicators = ? AND sellers = ? ORDER BY id LIMIT 1"
)


def _scope(exemption: Exemption) -> tuple[int, int, str, str]:
    """What makes two exemptions the same, as stored: the week, the norms, the sellers."""
    return (
        exemption.week.year,
        exemption.week.week,
        ",".join(sorted(i.value for i in exemption.indicators)),
        ",".join(sorted(exemption.sellers)),
    )


def _exemption_record(r: Any) -> ExemptionRecord:
    return ExemptionRecord(
        id=r["id"],
        exemption=Exemption(
            week=IsoWeek(r["year"], r["week"]),
            reason=r["reason"],
            indicators=frozenset(Indicator(i) for i in r["indicators"].split(",") if i),
            sellers=frozenset(s for s in r["sellers"].split(",") if s),
        ),
        actor=r["actor"],
        created_at=parse_stamp(r["created_at"]),
    )
