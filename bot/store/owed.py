"""Owed work: what a change obliges the bot to do, kept as data until it is done.

A change that can alter what must be said (an import, an exemption, a plan status, a
reopen, a weekly check begun) writes its obligation in its own transaction: "recheck
seller S from week W", "check week W". Whoever finishes the work deletes the rows; a
crash in between leaves them for the next process, and since planning is idempotent
(dedup keys), doing the work again plans nothing twice.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from bot.store.engine.base import Database, Tx
from bot.store.records import stamp
from norms import IsoWeek

CHECK, RECHECK = "check", "recheck"
_OWED_COLUMNS = "task, seller_id, week, reason, change, created_at"


@dataclass(frozen=True, slots=True)
class Owed:
    """One row of owed work; ``seller_id`` None means every seller. ``week`` is where the
    work resumes (it advances as rechecks are done); ``since`` the week the change touched
    first, and ``reason`` what the change was (``import:<source>``, ``exemption``, ...)."""

    id: int
    task: str
    seller_id: str | None
    week: IsoWeek
    reason: str
    change: int
    since: IsoWeek | None = None


def _stored_reason(reason: str, week: IsoWeek) -> str:
    """The reason as stored: with the week the change touched, which ``week`` forgets
    once the work advances (a correction still names it after a crash)."""
    return f"{reason}@{week}"


def _read_reason(stored: str, week: IsoWeek) -> tuple[str, IsoWeek]:
    """The reason and the week the change touched (rows written before the week was
    kept with the reason: their ``week``)."""
    reason, at, since = stored.rpartition("@")
    if at:
        try:
            return reason, IsoWeek.parse(since)
        except ValueError:
            pass
    return stored, week


async def owe_in(
    tx: Tx,
    task: str,
    week: IsoWeek,
    seller_ids: Iterable[str] | None,
    reason: str,
    now: datetime,
) -> int:
    """Record, inside the caller's transaction, that ``task`` is owed from ``week`` for
    ``seller_ids`` (None: all sellers); returns the change's number."""
    change, when = await _next_change(tx), stamp(now)
    who: Iterable[str | None] = [None] if seller_ids is None else seller_ids
    await tx.insert_rows(
        "owed_work",
        [(task, s, str(week), _stored_reason(reason, week), change, when) for s in who],
        _OWED_COLUMNS,
    )
    return change


async def owe_rechecks_in(tx: Tx, earliest: dict[str, IsoWeek], reason: str, now: datetime) -> None:
    """Record a recheck per seller from its own earliest changed week, as one change."""
    change, when = await _next_change(tx), stamp(now)
    await tx.insert_rows(
        "owed_work",
        [
            (RECHECK, s, str(w), _stored_reason(reason, w), change, when)
            for s, w in sorted(earliest.items())
        ],
        _OWED_COLUMNS,
    )


async def _next_change(tx: Tx) -> int:
    """The id the change's first row gets: unique among the rows still owed, and larger
    than all of them, so changes are done in the order they were made."""
    row = await tx.fetchone("SELECT COALESCE(MAX(id), 0) + 1 FROM owed_work")
    return int(row[0]) if row else 1


class OwedWork:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def owe(
        self,
        task: str,
        week: IsoWeek,
        seller_ids: Iterable[str] | None,
        reason: str,
        now: datetime,
    ) -> int:
        """Record owed work in a transaction of its own; returns the change's number."""
        async with self.db.transaction() as tx:
            return await owe_in(tx, task, week, seller_ids, reason, now)

    async def pending(self) -> list[list[Owed]]:
        """The work still owed, one list per change, oldest change first."""
        rows = await self.db.fetchall(
            "SELECT id, task, seller_id, week, reason, change FROM owed_work ORDER BY change, id"
        )
        changes: dict[int, list[Owed]] = {}
        for r in rows:
            week = IsoWeek.parse(r["week"])
            reason, since = _read_reason(r["reason"], week)
            changes.setdefault(r["change"], []).append(
                Owed(r["id"], r["task"], r["seller_id"], week, reason, r["change"], since)
            )
        return list(changes.values())

    async def any(self) -> bool:
        return await self.db.fetchone("SELECT 1 FROM owed_work LIMIT 1") is not None

    async def advance(self, change: int, week: IsoWeek) -> None:
        """The change's rechecks are done up to the week before ``week``."""
        await self.db.execute(
            "UPDATE owed_work SET week = ? WHERE change = ? AND week < ?",
            (str(week), change, str(week)),
        )

    async def clear(self, change: int) -> None:
        """The change's work is done."""
        await self.db.execute("DELETE FROM owed_work WHERE change = ?", (change,))
