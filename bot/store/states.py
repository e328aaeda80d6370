"""The fold's state per seller and week: a derived cache, never a source of truth.

A check of week W reads the state after W−1 and folds one week; without a state (a new
database, or triggers dropped it after a change to earlier data) it folds from the
latest state before, or from the seller's first week. Dropping the whole table at any
time only costs a slower next check. The triggers of schema migration 3 drop the states
from the week an import, exemption or reopen touches on, and bump an epoch, so that a
fold begun before a change is never stored after it. On SQLite (migration 10) those of
measurements and shop ratings act only on weeks that a stored state or a fold under way
reaches: a fold raises the reach before it reads (``epoch(reach=...)``).
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import norms
from bot.store.engine.base import Database
from norms import IsoWeek, PlanEvent, Policy
from norms.carry import SellerCarry
from norms.goldlabel import GoldCondition, GoldLabel
from norms.track import TrackWeek, plan_status

# States are keyed by this and by the code that derives them (``_code_version``), so
# states of older code are not read after an upgrade; they are dropped as they age out.
STATE_FORMAT = 2

# Weeks of states kept per seller behind the newest: a correction within bol.com's 30
# weeks refolds from the week it touches, an older one from the seller's first week.
KEEP_WEEKS = 30


@dataclass(frozen=True, slots=True)
class WeekAlerts:
    """What a reported week said: its alert sections (keyed as the outbox claims them)
    and whether its data was missing. Stored with the week's state, dropped with it."""

    sections: dict[str, str]
    missing: bool


class StoredWeek(NamedTuple):
    """What ``SellerStates.failing_weeks`` reads of one stored week: whether it failed,
    the strikes its track counts after it (a strikes policy's), the seller's first week."""

    failing: bool
    strikes: tuple[IsoWeek, ...]
    first_week: IsoWeek


def week_key(week: IsoWeek) -> int:
    """The week as the ``year * 100 + week`` the triggers compare."""
    return week.year * 100 + week.week


def policy_key(policy: Policy) -> str:
    """States are valid for one policy with all its thresholds, folded by this code."""
    text = f"{STATE_FORMAT}:{_code_version()}:{policy!r}"
    return f"{policy.name}:{hashlib.sha256(text.encode()).hexdigest()[:16]}"


@functools.cache
def _code_version() -> str:
    """A digest of the code that a state and its alerts derive from: the domain rules,
    the module that evaluates from states and this one. Any change to them is a new cache."""
    digest = hashlib.sha256()
    sources = sorted(Path(norms.__file__).parent.rglob("*.py"))
    sources += [Path(__file__), Path(__file__).parent.parent / "notices" / "reports.py"]
    for path in sources:
        digest.update(path.read_bytes())
    return digest.hexdigest()


def _week(text: str | None) -> IsoWeek | None:
    return IsoWeek.parse(text) if text is not None else None


def _text(week: IsoWeek | None) -> str | None:
    return str(week) if week is not None else None


def encode(carry: SellerCarry) -> str:
    """The carry as compact JSON, with a reported week's gold label (the plan status is
    not kept: plan events are read anew)."""
    t = carry.track
    return json.dumps(
        [
            str(carry.first_week),
            str(t.week),
            t.state,
            t.step,
            t.compliant_weeks,
            t.weeks_to_end,
            t.failing,
            t.message,
            t.ended,
            _text(t.expired_strike),
            _text(t.plan_since),
            _text(t.opened),
            [str(s) for s in t.strikes],
            list(carry.consecutive),
            carry.reviews,
            carry.rating_sum,
            _gold(carry.gold),
        ],
        separators=(",", ":"),
    )


def _gold(gold: GoldLabel | None) -> list[object] | None:
    if gold is None:
        return None
    return [
        str(gold.week),
        gold.eligible,
        gold.no_data,
        gold.top_retailer,
        [
            [c.name, c.value, c.threshold, c.met, c.gap, c.strict, list(c.below)]
            for c in gold.conditions
        ],
    ]


def _gold_of(value: list[Any] | None) -> GoldLabel | None:
    if value is None:
        return None
    week, eligible, no_data, top_retailer, conditions = value
    return GoldLabel(
        week=IsoWeek.parse(week),
        eligible=eligible,
        conditions=tuple(
            GoldCondition(name, v, threshold, met, gap, strict, tuple(below))
            for name, v, threshold, met, gap, strict, below in conditions
        ),
        no_data=no_data,
        top_retailer=top_retailer,
    )


def decode(text: str, plan_events: Sequence[PlanEvent]) -> SellerCarry:
    """The carry stored by ``encode``, its plan status from today's plan events."""
    (
        first,
        week,
        state,
        step,
        compliant,
        weeks_to_end,
        failing,
        message,
        ended,
        expired,
        plan_since,
        opened,
        strikes,
        consecutive,
        reviews,
        rating_sum,
        gold,
    ) = json.loads(text)
    since = _week(plan_since)
    track = TrackWeek(
        week=IsoWeek.parse(week),
        state=state,
        step=step,
        compliant_weeks=compliant,
        weeks_to_end=weeks_to_end,
        plan=plan_status(tuple(plan_events), since) if state == "open" else None,
        failing=failing,
        message=message,
        ended=ended,
        expired_strike=_week(expired),
        plan_since=since,
        opened=_week(opened),
        strikes=tuple(IsoWeek.parse(s) for s in strikes),
    )
    return SellerCarry(
        first_week=IsoWeek.parse(first),
        track=track,
        consecutive=tuple(consecutive),
        reviews=reviews,
        # JSON writes floats exactly (repr), so the sum goes on as if never stored.
        rating_sum=float(rating_sum),
        gold=_gold_of(gold),
    )


def _from_key(key: int) -> IsoWeek:
    return IsoWeek(key // 100, key % 100)


def _marks(values: Sequence[object]) -> str:
    return ",".join("?" * len(values))


_RAISE_REACH = "UPDATE seller_state_reach SET n = ? WHERE n < ?"


def _newest(compare: str, seller_ids: Sequence[str]) -> str:
    """Each seller's newest state key before (``<``) or up to (``<=``) a week; parameters:
    the policy key, the week key, the sellers."""
    return (
        "SELECT seller_id, policy, MAX(week_key) AS k FROM seller_states "
        f"WHERE policy = ? AND week_key {compare} ? AND seller_id IN ({_marks(seller_ids)}) "
        "GROUP BY seller_id, policy"
    )


class SellerStates:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def epoch(self, reach: IsoWeek | None = None) -> int:
        """How many changes to folded data there have been (the triggers count them).

        A fold that will store states up to ``reach`` says so first: SQLite's triggers
        count (and drop states for) only changes in weeks some state or fold reaches, so
        that an import of newer weeks costs nothing per row (migration 10). Raising the
        reach is a write, done only when it is lower; it is never lowered."""
        if reach is not None:
            key = week_key(reach)
            row = await self.db.fetchone("SELECT n FROM seller_state_reach")
            if row is None or int(row[0]) < key:
                async with self.db.transaction() as tx:
                    await tx.execute(_RAISE_REACH, [key, key])
        row = await self.db.fetchone("SELECT n FROM seller_state_epoch")
        return int(row["n"]) if row else 0

    async def latest_before(
        self, seller_ids: Sequence[str], policy: Policy, week: IsoWeek
    ) -> dict[str, tuple[IsoWeek, str]]:
        """The newest stored state before ``week`` per seller (its week, and the state
        encoded), where there is one."""
        if not seller_ids:
            return {}
        rows = await self.db.fetchall(
            "SELECT s.seller_id, s.week_key, s.state FROM seller_states AS s "
            f"JOIN ({_newest('<', seller_ids)}) AS n ON s.seller_id = n.seller_id "
            "AND s.policy = n.policy AND s.week_key = n.k",
            [policy_key(policy), week_key(week), *seller_ids],
        )
        return {r[0]: (_from_key(r[1]), r[2]) for r in rows}

    async def newest_weeks(
        self, seller_ids: Sequence[str], policy: Policy, week: IsoWeek
    ) -> dict[str, tuple[IsoWeek, bool]]:
        """The week of the newest stored state up to ``week`` per seller, and whether
        that week's alerts are stored with it."""
        if not seller_ids:
            return {}
        rows = await self.db.fetchall(
            "SELECT s.seller_id, s.week_key, s.alerts IS NOT NULL FROM seller_states AS s "
            f"JOIN ({_newest('<=', seller_ids)}) AS n ON s.seller_id = n.seller_id "
            "AND s.policy = n.policy AND s.week_key = n.k",
            [policy_key(policy), week_key(week), *seller_ids],
        )
        return {r[0]: (_from_key(r[1]), bool(r[2])) for r in rows}

    async def alerts_of(
        self, seller_ids: Sequence[str], policy: Policy, week: IsoWeek
    ) -> dict[str, WeekAlerts]:
        """The alert sections stored with ``week``'s state, per seller that has them."""
        if not seller_ids:
            return {}
        rows = await self.db.fetchall(
            "SELECT seller_id, alerts FROM seller_states WHERE policy = ? AND week_key = ? "
            f"AND alerts IS NOT NULL AND seller_id IN ({_marks(seller_ids)})",
            [policy_key(policy), week_key(week), *seller_ids],
        )
        out: dict[str, WeekAlerts] = {}
        for r in rows:
            sections, missing = json.loads(r[1])
            out[r[0]] = WeekAlerts(sections, missing)
        return out

    async def failing_weeks(
        self, seller_ids: Sequence[str], policy: Policy, first: IsoWeek, last: IsoWeek
    ) -> dict[str, dict[IsoWeek, StoredWeek]]:
        """Per seller and stored week ``first`` … ``last`` (a week without a stored state is
        absent): whether it failed, the strike weeks its track counts after it, and the
        seller's first week with data."""
        if not seller_ids:
            return {}
        rows = await self.db.fetchall(
            "SELECT seller_id, week_key, state FROM seller_states WHERE policy = ? "
            f"AND week_key >= ? AND week_key <= ? AND seller_id IN ({_marks(seller_ids)})",
            [policy_key(policy), week_key(first), week_key(last), *seller_ids],
        )
        out: dict[str, dict[IsoWeek, StoredWeek]] = {}
        for r in rows:
            # Only these of what ``encode`` wrote: this is read for many sellers at once.
            fields = json.loads(r[2])
            out.setdefault(r[0], {})[_from_key(r[1])] = StoredWeek(
                failing=bool(fields[6]),
                strikes=tuple(IsoWeek.parse(w) for w in fields[12]),
                first_week=IsoWeek.parse(fields[0]),
            )
        return out

    async def save(
        self,
        policy: Policy,
        states: Iterable[tuple[str, SellerCarry, WeekAlerts | None]],
        *,
        epoch: int,
        newest: IsoWeek,
    ) -> bool:
        """Store folded states (with the alerts of a reported week), unless folded data
        changed since ``epoch`` was read; drop these sellers' states more than
        ``KEEP_WEEKS`` behind ``newest`` or of another policy. ``True`` if stored."""
        key = policy_key(policy)
        rows = [
            (
                sid,
                key,
                week_key(c.week),
                encode(c),
                None if a is None else json.dumps([a.sections, a.missing], separators=(",", ":")),
            )
            for sid, c, a in states
        ]
        if not rows:
            return True
        async with self.db.transaction() as tx:
            row = await tx.fetchone("SELECT n FROM seller_state_epoch")
            if row is None or int(row[0]) != epoch:
                return False
            # Whatever is stored lies within the reach (a fold that did not say how far it
            # would go included): a later change to its weeks drops it.
            newest_key = max(week_key(newest), max(r[2] for r in rows))
            await tx.execute(_RAISE_REACH, [newest_key, newest_key])
            await tx.upsert_rows(
                "seller_states",
                "seller_id, policy, week_key, state, alerts",
                "seller_id, policy, week_key",
                rows,
            )
            sellers = sorted({r[0] for r in rows})
            # States of another policy (or of older code) are not read again.
            await tx.execute(
                f"DELETE FROM seller_states WHERE seller_id IN ({_marks(sellers)}) "
                "AND (week_key < ? OR policy != ?)",
                [*sellers, week_key(newest.shift(-KEEP_WEEKS)), key],
            )
        return True

    async def clear(self) -> None:
        """Forget every state (the next check folds from the first weeks again)."""
        await self.db.execute("DELETE FROM seller_states")


__all__ = [
    "KEEP_WEEKS",
    "SellerStates",
    "StoredWeek",
    "WeekAlerts",
    "decode",
    "encode",
    "policy_key",
    "week_key",
]
