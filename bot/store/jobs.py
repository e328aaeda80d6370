"""Jobs that ran: which scheduled job has run for which key (a week, a day), so that a
job run again (a restart, a second instance, a catch-up) does nothing twice.

A row is written once its job's work is committed, by the transaction of that work where
it has one (retention); the weekly check and the poll mark theirs after the fact, which
is safe because what they do is idempotent.
"""

from __future__ import annotations

from datetime import datetime

from bot.store.engine.base import Database, Tx
from bot.store.engine.dialect import upsert

# The jobs that record their runs, each keyed by the ISO week it ran for.
CHECK, POLL = "check", "poll"
# The weeks retention pruned (``Outbox.prune_sent``): the latest is the retention marker,
# before which nothing is planned again.
RETENTION = "retention"

_MARK = upsert("job_runs", "job, run_key, done_at", "job, run_key")


async def mark_in(tx: Tx, job: str, key: str, at: datetime) -> None:
    """Record, inside an open transaction, that ``job`` ran for ``key`` at ``at``."""
    await tx.execute(_MARK, (job, key, at.isoformat()))


async def latest_in(tx: Tx, job: str) -> str | None:
    """The greatest key ``job`` ran for (None: it never ran)."""
    row = await tx.fetchone("SELECT MAX(run_key) FROM job_runs WHERE job = ?", (job,))
    return None if row is None or row[0] is None else str(row[0])


class Jobs:
    """The ``job_runs`` table."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def done(self, job: str, key: str) -> bool:
        """Whether ``job`` has run for ``key``."""
        row = await self.db.fetchone(
            "SELECT 1 FROM job_runs WHERE job = ? AND run_key = ?", (job, key)
        )
        return row is not None

    async def mark(self, job: str, key: str, at: datetime) -> None:
        """Record that ``job`` ran for ``key`` at ``at`` (again: the later time counts)."""
        async with self.db.transaction() as tx:
            await mark_in(tx, job, key, at)

    async def keys(self, job: str) -> list[str]:
        """Every key ``job`` has run for, in order."""
        rows = await self.db.fetchall(
            "SELECT run_key FROM job_runs WHERE job = ? ORDER BY run_key", (job,)
        )
        return [str(r["run_key"]) for r in rows]

    async def latest(self, job: str) -> str | None:
        """The greatest key ``job`` ran for (None: it never ran)."""
        async with self.db.reading() as tx:
            return await latest_in(tx, job)
