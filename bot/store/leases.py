"""Processes sharing one database: who is alive, and who holds which lease.

A running process (an *instance*) renews its row in ``instances``; one that stops renewing
for a lease period is taken for dead, and what it held passes to another: its leases
expire, its outbox claims go back to pending. Every time is the database's own clock
(``Dialect.clock``), so machines whose clocks disagree still agree on who holds what.
"""

from __future__ import annotations

from datetime import datetime

from bot.store.engine.base import Database
from bot.store.records import stamp


class Leases:
    def __init__(self, db: Database) -> None:
        self.db = db

    @property
    def _now(self) -> str:
        return self.db.dialect.clock

    async def register(self, instance: str, started: datetime, place: str, pid: int) -> None:
        """The instance is alive (and renews by ``renew``); ``place`` names its process
        namespace, ``pid`` its process there."""
        await self.db.execute(
            "INSERT INTO instances (id, place, pid, started_at, seen_at) "
            f"VALUES (?, ?, ?, ?, {self._now}) "
            "ON CONFLICT (id) DO UPDATE SET seen_at = excluded.seen_at",
            (instance, place, pid, stamp(started)),
        )

    async def neighbours(self, place: str, instance: str) -> dict[str, int]:
        """The other instances registered in ``place``, with their pids."""
        rows = await self.db.fetchall(
            "SELECT id, pid FROM instances WHERE place = ? AND id != ?", (place, instance)
        )
        return {r["id"]: int(r["pid"]) for r in rows}

    async def forget(self, instances: list[str]) -> None:
        """These instances are known to be dead: what they claimed may be taken at once."""
        if instances:
            marks = ",".join("?" * len(instances))
            async with self.db.transaction(serial=False) as tx:
                await tx.execute(f"DELETE FROM leases WHERE holder IN ({marks})", instances)
                await tx.execute(f"DELETE FROM instances WHERE id IN ({marks})", instances)

    async def renew(self, instance: str, names: list[str], period_s: float) -> set[str]:
        """Mark the instance alive and take or keep each lease of ``names`` that is free,
        expired, or its own, for ``period_s`` more; returns the ones it holds now."""
        held: set[str] = set()
        # Row locks order concurrent takers: no lease has two holders at once.
        async with self.db.transaction(serial=False) as tx:
            await tx.execute(
                f"UPDATE instances SET seen_at = {self._now} WHERE id = ?", (instance,)
            )
            for name in names:
                row = await tx.fetchone(
                    "INSERT INTO leases (name, holder, expires_at) "
                    f"VALUES (?, ?, {self._now} + ?) ON CONFLICT (name) DO UPDATE SET "
                    "holder = excluded.holder, expires_at = excluded.expires_at "
                    f"WHERE leases.holder = excluded.holder OR leases.expires_at < {self._now} "
                    "RETURNING holder",
                    (name, instance, float(period_s)),
                )
                if row is not None:
                    held.add(name)
        return held

    async def release(self, instance: str) -> None:
        """The instance stops: its leases are free at once, and it is no longer alive."""
        async with self.db.transaction(serial=False) as tx:
            await tx.execute("DELETE FROM leases WHERE holder = ?", (instance,))
            await tx.execute("DELETE FROM instances WHERE id = ?", (instance,))

    async def alive(self, period_s: float) -> list[str]:
        """The instances that renewed within the last ``period_s`` seconds."""
        rows = await self.db.fetchall(
            f"SELECT id FROM instances WHERE seen_at >= {self._now} - ? ORDER BY id",
            (float(period_s),),
        )
        return [r["id"] for r in rows]

    async def holders(self) -> dict[str, str]:
        """Each lease that has not expired, and its holder."""
        rows = await self.db.fetchall(
            f"SELECT name, holder FROM leases WHERE expires_at >= {self._now} ORDER BY name"
        )
        return {r["name"]: r["holder"] for r in rows}

    async def first_sight(self, signature: str, until: float) -> bool:
        """Remember a signed request until ``until`` (Unix seconds); False if any process
        saw it before (a replay)."""
        async with self.db.transaction(serial=False) as tx:
            await tx.execute(f"DELETE FROM seen_requests WHERE expires_at < {self._now}")
            row = await tx.fetchone(
                "INSERT INTO seen_requests (signature, expires_at) VALUES (?, ?) "
                "ON CONFLICT (signature) DO NOTHING RETURNING signature",
                (signature, float(until)),
            )
        return row is not None

    async def forget_dead(self, period_s: float) -> int:
        """Drop instances silent for ten lease periods (their claims went back long ago)."""
        return await self.db.execute(
            f"DELETE FROM instances WHERE seen_at < {self._now} - ?", (10 * float(period_s),)
        )
