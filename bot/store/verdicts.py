"""bol.com's own verdict as it was fetched: one performance-status snapshot per seller and
poll (or upload), kept so that what changed is found once and trends can be shown.

A snapshot is kept as the body bol.com sent (``norms.bol.status_body``), beside the few
figures asked of many sellers at once. Nothing here is derived or invented: no snapshot,
no claim.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime

from bot.store.engine.base import Database, Row, Tx
from bot.store.records import parse_stamp, seller_filter, stamp
from norms import IsoWeek
from norms.bol import PerformanceStatus, status_body, status_from_body

_COLUMNS = (
    "seller_id, fetched_at, source, body, system, strike_count, points_left, quality_week, "
    "quality_score, imported_at"
)


def status_row(
    seller_id: str, status: PerformanceStatus, source: str, imported_at: str
) -> tuple[object, ...]:
    """A ``bol_statuses`` row; ``imported_at`` is ``stamp(now)``, made once per import."""
    quality = status.quality
    return (
        seller_id,
        stamp(status.fetched_at),
        source,
        json.dumps(status_body(status), ensure_ascii=False, sort_keys=True),
        status.system,
        None if status.strikes is None else status.strikes.count,
        status.points_left,
        None if quality is None else str(quality.week),
        None if quality is None else quality.score,
        imported_at,
    )


def _status(row: Row) -> PerformanceStatus:
    return status_from_body(json.loads(row["body"]), parse_stamp(row["fetched_at"]))


async def add_statuses_in(
    tx: Tx, snapshots: Sequence[tuple[str, PerformanceStatus]], source: str, now: datetime
) -> list[str]:
    """Keep these snapshots inside the caller's transaction (an import's); returns the
    sellers whose snapshot says something the one before it did not (a first snapshot
    does). The same seller and fetch time twice is kept once: the same body again (an
    upload repeated, a poll confirmed twice) changes nothing; another body for that fetch
    time is a correction of it and replaces it."""
    imported_at = stamp(now)
    changed: list[str] = []
    for seller_id, status in snapshots:
        row = status_row(seller_id, status, source, imported_at)
        before = await tx.fetchone(
            "SELECT fetched_at, body FROM bol_statuses WHERE seller_id = ? AND fetched_at <= ? "
            "ORDER BY fetched_at DESC LIMIT 1",
            (seller_id, row[1]),
        )
        same_body = before is not None and before["body"] == row[3]
        if before is not None and before["fetched_at"] == row[1]:
            if same_body:
                continue
            await tx.execute(
                "DELETE FROM bol_statuses WHERE seller_id = ? AND fetched_at = ?",
                (seller_id, row[1]),
            )
        await tx.execute(
            f"INSERT INTO bol_statuses ({_COLUMNS}) VALUES ({', '.join('?' * len(row))})", row
        )
        if not same_body:
            changed.append(seller_id)
    return changed


class BolStatuses:
    """The ``bol_statuses`` table."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def add(
        self, seller_id: str, status: PerformanceStatus, source: str, now: datetime
    ) -> bool:
        """Keep one snapshot in a transaction of its own; True when it brought news."""
        async with self.db.transaction() as tx:
            return bool(await add_statuses_in(tx, [(seller_id, status)], source, now))

    async def latest(
        self, seller_ids: Sequence[str] | None, *, at: datetime | None = None
    ) -> dict[str, PerformanceStatus]:
        """Each seller's newest snapshot (fetched no later than ``at``, when given); sellers
        without one are absent."""
        pairs = await self.latest_two(seller_ids, at=at)
        return {s: current for s, (current, _) in pairs.items()}

    async def latest_two(
        self, seller_ids: Sequence[str] | None, *, at: datetime | None = None
    ) -> dict[str, tuple[PerformanceStatus, PerformanceStatus | None]]:
        """Each seller's newest snapshot and the one before it (None for a first one),
        both fetched no later than ``at`` when given: what is new is found between them."""
        where, params = seller_filter(seller_ids)
        until = ""
        if at is not None:
            until, params = "AND fetched_at <= ?", [*params, stamp(at)]
        rows = await self.db.fetchall(
            "SELECT seller_id, fetched_at, body FROM ("
            "SELECT seller_id, fetched_at, body, ROW_NUMBER() OVER "
            "(PARTITION BY seller_id ORDER BY fetched_at DESC) AS n "
            f"FROM bol_statuses WHERE 1 = 1 {where} {until}) AS ranked "
            "WHERE n <= 2 ORDER BY seller_id, fetched_at DESC",
            params,
        )
        out: dict[str, tuple[PerformanceStatus, PerformanceStatus | None]] = {}
        for row in rows:
            status = _status(row)
            found = out.get(row["seller_id"])
            if found is None:
                out[row["seller_id"]] = (status, None)
            else:
                out[row["seller_id"]] = (found[0], status)
        return out

    async def history(self, seller_id: str, *, limit: int = 52) -> list[PerformanceStatus]:
        """The seller's last ``limit`` snapshots, oldest first."""
        rows = await self.db.fetchall(
            "SELECT fetched_at, body FROM bol_statuses WHERE seller_id = ? "
            "ORDER BY fetched_at DESC LIMIT ?",
            (seller_id, limit),
        )
        return [_status(r) for r in reversed(rows)]

    async def quality_scores(self, seller_id: str, *, weeks: int = 52) -> list[tuple[IsoWeek, int]]:
        """The seller's quality score per week (the newest snapshot of each week wins),
        the last ``weeks`` weeks that have one, oldest first: the trend a chart shows."""
        rows = await self.db.fetchall(
            "SELECT quality_week, quality_score FROM ("
            "SELECT quality_week, quality_score, ROW_NUMBER() OVER "
            "(PARTITION BY quality_week ORDER BY fetched_at DESC) AS n FROM bol_statuses "
            "WHERE seller_id = ? AND quality_week IS NOT NULL) AS ranked "
            "WHERE n = 1 ORDER BY quality_week DESC LIMIT ?",
            (seller_id, weeks),
        )
        return [(IsoWeek.parse(r[0]), int(r[1])) for r in reversed(rows)]
