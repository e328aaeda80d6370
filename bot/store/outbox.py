"""The outbox: every planned message as a row, planned once per dedup key, sent once.

States: ``pending`` → ``sending`` → ``sent``; a failed attempt goes to ``failed`` with a
next attempt time, and ``dead`` when it can never go (blocked chat, too many attempts).
A claim names its claimer (``claimed_by``, a process of ``bot.store.leases``) and numbers
the claim (``claim``); a row left in ``sending`` by a process that stopped renewing goes
back to ``pending``, for this or another process to send: at most the messages in flight
at a crash can go twice. What a claimer records about its claim (a retry, a hold, a
release) is *fenced*: written only while the claim is still the row's, so a claimer that
froze and woke up after another took the message over changes nothing. That a message
went out is a fact and is always recorded.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.metrics import MESSAGES_PLANNED
from bot.store.engine.base import Database, Row, Tx
from bot.store.jobs import RETENTION, latest_in, mark_in
from bot.store.records import parse_stamp, stamp


@dataclass(frozen=True, slots=True)
class OutboxItem:
    id: int
    chat_id: int
    platform: str
    address: str
    seller_id: str | None
    week: str | None
    kind: str
    sections: tuple[str, ...]
    urgent: bool
    body: dict[str, Any]
    attempts: int
    # The claim this item was handed out under: its number and its claimer.
    claim: int = 0
    claimed_by: str | None = None


# Why a message that is not sent yet waits (``outbox.waiting_for``); quiet hours are not
# stored: they are judged when sending, with the configuration of that moment.
RETRY = "retry"
RATE_LIMIT = "retry after 429"
PLATFORM_DOWN = "platform down"
EARLIER_MESSAGE = "an earlier message"
# Kinds that go before digests and notices when the queue is long: the week's alerts and
# the corrections of alerts already sent.
FIRST_KINDS = frozenset({"alerts", "correction"})
# Only while its claim is the row's (see the module's docstring).
_FENCED = " AND state = 'sending' AND claim = ? AND COALESCE(claimed_by, '') = ?"


def _fence(item: OutboxItem) -> tuple[int, str]:
    return item.claim, item.claimed_by or ""


@dataclass(frozen=True, slots=True)
class SentRecord:
    """One message for the audit: what we told whom, and when."""

    id: int
    seller_id: str | None
    week: str | None
    kind: str
    sections: tuple[str, ...]
    platform: str
    address: str
    state: str
    created_at: datetime
    sent_at: datetime | None
    template: str
    policy: str
    text: str
    last_error: str | None
    urgent: bool = False
    next_attempt_at: datetime | None = None
    waiting_for: str | None = None


@dataclass(frozen=True, slots=True)
class PlannedMessage:
    dedup_key: str
    chat_id: int
    seller_id: str | None
    week: str | None
    kind: str
    sections: tuple[str, ...]
    urgent: bool
    body: dict[str, Any]
    template: str
    policy: str = ""
    withdraws: tuple[str, ...] = ()


class Outbox:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def plan(self, messages: list[PlannedMessage], now: datetime) -> int:
        """Insert what is not planned yet (by dedup key); returns how many were new."""
        if not messages:
            return 0
        async with self.db.transaction() as tx:
            return await plan_many(tx, messages, now)

    async def planned_keys(self, keys: list[str]) -> set[str]:
        """Which of these dedup keys are planned already."""
        if not keys:
            return set()
        rows = await self.db.fetchall(
            f"SELECT dedup_key FROM outbox WHERE dedup_key IN ({','.join('?' * len(keys))})",
            keys,
        )
        return {r[0] for r in rows}

    async def planned_sections(
        self, seller_ids: list[str], week: str
    ) -> dict[str, dict[int, set[str]]]:
        """Sections already planned per seller and chat for these sellers' week (withdrawn
        ones excluded), in one query."""
        out: dict[str, dict[int, set[str]]] = {}
        if not seller_ids:
            return out
        rows = await self.db.fetchall(
            "SELECT seller_id, chat_id, section FROM sent_sections "
            f"WHERE seller_id IN ({','.join('?' * len(seller_ids))}) AND week = ? "
            "AND withdrawn = 0",
            [*seller_ids, week],
        )
        for r in rows:
            out.setdefault(r[0], {}).setdefault(r[1], set()).add(r[2])
        return out

    async def told_sections(
        self, seller_ids: list[str], sections: list[str]
    ) -> dict[str, dict[int, set[str]]]:
        """Which of ``sections`` were planned per seller and chat in any week (withdrawn
        ones excluded): news told once, whichever week told it."""
        out: dict[str, dict[int, set[str]]] = {}
        wanted = sorted(set(sections))
        if not seller_ids or not wanted:
            return out
        marks = ",".join("?" * len(seller_ids))
        for start in range(0, len(wanted), _KEYS_PER_QUERY):
            part = wanted[start : start + _KEYS_PER_QUERY]
            rows = await self.db.fetchall(
                "SELECT seller_id, chat_id, section FROM sent_sections "
                f"WHERE seller_id IN ({marks}) AND section IN ({','.join('?' * len(part))}) "
                "AND withdrawn = 0",
                [*seller_ids, *part],
            )
            for r in rows:
                out.setdefault(r[0], {}).setdefault(r[1], set()).add(r[2])
        return out

    async def corrections(self, seller_ids: list[str], week: str) -> dict[str, dict[int, int]]:
        """How many corrections each chat was sent per seller for these sellers' week."""
        out: dict[str, dict[int, int]] = {}
        if not seller_ids:
            return out
        rows = await self.db.fetchall(
            "SELECT seller_id, chat_id, COUNT(*) AS n FROM outbox WHERE kind = 'correction' "
            f"AND seller_id IN ({','.join('?' * len(seller_ids))}) AND week = ? "
            "GROUP BY seller_id, chat_id",
            [*seller_ids, week],
        )
        for r in rows:
            out.setdefault(r[0], {})[r[1]] = r[2]
        return out

    async def claim_due(
        self,
        now: datetime,
        limit: int = 100,
        platforms: list[str] | None = None,
        *,
        by: str | None = None,
        hushed: list[str] | None = None,
    ) -> list[OutboxItem]:
        """Move due messages to ``sending`` for the process ``by`` and return them: urgent
        ones first, then alerts and corrections, then the rest, each oldest first. A chat's
        own messages keep the order planned (urgent ones first): its earlier due messages
        are claimed along, and one behind an earlier message that is not due yet waits for
        it. Of the platforms in ``hushed`` (quiet hours now) only urgent messages are due."""
        only = ""
        params: list[object] = [stamp(now)]
        if platforms is not None:
            only = f"AND c.platform IN ({','.join('?' * len(platforms))})"
            params += platforms
        if hushed:
            only += f" AND (o.urgent = 1 OR c.platform NOT IN ({','.join('?' * len(hushed))}))"
            params += hushed
        # Row locks make the claim atomic: another instance claiming at once skips these
        # rows rather than waiting for them, and never takes the same message.
        async with self.db.transaction(serial=False) as tx:
            picked = await tx.fetchall(
                # In the order of the index of unsent messages: as many rows read as taken.
                f"SELECT {_CLAIMED} FROM outbox o{tx.dialect.read_by('outbox_claim')} "
                "JOIN chats c ON c.id = o.chat_id "
                f"WHERE o.state IN ('pending', 'failed') AND o.next_attempt_at <= ? {only} "
                "ORDER BY o.precedence, o.next_attempt_at, o.id "
                f"LIMIT ?{tx.dialect.skip_locked}",
                (*params, limit),
            )
            rows, held = await _in_chat_order(tx, picked, stamp(now), set(hushed or ()))
            await tx.executemany(
                "UPDATE outbox SET next_attempt_at = ?, waiting_for = ? WHERE id = ?",
                [(until, EARLIER_MESSAGE, item_id) for item_id, until in held],
            )
            await tx.executemany(
                "UPDATE outbox SET state = 'sending', attempts = attempts + 1, claimed_at = ?, "
                "claimed_by = ?, claim = claim + 1 WHERE id = ?",
                [(stamp(now), by, r["id"]) for r in rows],
            )
        return [
            OutboxItem(
                id=r["id"],
                chat_id=r["chat_id"],
                platform=r["platform"],
                address=r["address"],
                seller_id=r["seller_id"],
                week=r["week"],
                kind=r["kind"],
                sections=tuple(s for s in r["sections"].split(",") if s),
                urgent=bool(r["urgent"]),
                body=json.loads(r["body"]),
                attempts=r["attempts"] + 1,
                claim=r["claim"] + 1,
                claimed_by=by,
            )
            for r in rows
        ]

    async def mark_sent(self, item_id: int, now: datetime, remote_id: str | None) -> None:
        """The message went out: a fact, recorded whoever holds its claim now."""
        await self.db.execute(
            "UPDATE outbox SET state = 'sent', sent_at = ?, remote_id = ?, last_error = NULL, "
            "waiting_for = NULL WHERE id = ?",
            (stamp(now), remote_id, item_id),
        )

    async def retry_at(
        self,
        item: OutboxItem,
        at: datetime,
        error: str,
        *,
        count: bool = True,
        reason: str = RETRY,
    ) -> bool:
        """Try again at ``at``, waiting for ``reason``; a wait that was not the message's
        fault does not count. False when the claim is no longer this item's."""
        changed = await self.db.execute(
            "UPDATE outbox SET state = 'failed', next_attempt_at = ?, last_error = ?, "
            "waiting_for = ?, attempts = attempts - ? WHERE id = ?" + _FENCED,
            (stamp(at), error, reason, 0 if count else 1, item.id, *_fence(item)),
        )
        return changed > 0

    async def hold_until(self, item: OutboxItem, at: datetime, reason: str | None = None) -> bool:
        """Back to pending until ``at`` (waiting for ``reason``), the attempt not counted.
        False when the claim is no longer this item's."""
        changed = await self.db.execute(
            "UPDATE outbox SET state = 'pending', next_attempt_at = ?, waiting_for = ?, "
            "attempts = attempts - 1, claimed_by = NULL WHERE id = ?" + _FENCED,
            (stamp(at), reason, item.id, *_fence(item)),
        )
        return changed > 0

    async def release(self, items: list[OutboxItem]) -> int:
        """Claims given back unsent (a stop, a lapsed lease): pending again at once for
        any process, the attempt not counted; those another process took meanwhile stay
        its own. Returns how many went back."""
        released = 0
        async with self.db.transaction(serial=False) as tx:
            for item in items:
                released += await tx.execute(
                    "UPDATE outbox SET state = 'pending', attempts = attempts - 1, "
                    "claimed_by = NULL WHERE id = ?" + _FENCED,
                    (item.id, *_fence(item)),
                )
        return released

    async def mark_dead(self, item: OutboxItem, error: str) -> bool:
        """The message can never go. False when the claim is no longer this item's."""
        changed = await self.db.execute(
            "UPDATE outbox SET state = 'dead', last_error = ?, waiting_for = NULL "
            "WHERE id = ?" + _FENCED,
            (error, item.id, *_fence(item)),
        )
        return changed > 0

    async def kill_pending_for_chat(self, chat_id: int, error: str) -> None:
        await self.db.execute(
            "UPDATE outbox SET state = 'dead', last_error = ?, waiting_for = NULL "
            "WHERE chat_id = ? AND state IN ('pending', 'failed', 'sending')",
            (error, chat_id),
        )

    async def recover_inflight(
        self, older_than: datetime | None = None, *, alive_within_s: float | None = None
    ) -> int:
        """Messages left in ``sending`` go back to ``pending``: those whose claimer has not
        renewed its life for ``alive_within_s`` seconds (it died), and those claimed before
        ``older_than`` (a claim lost by a process that lives on). With neither given: all
        of them (no other process can be sending)."""
        sql = "UPDATE outbox SET state = 'pending', claimed_by = NULL WHERE state = 'sending'"
        params: list[object] = []
        lost: list[str] = []
        if alive_within_s is not None:
            lost.append(
                "claimed_by IS NULL OR claimed_by NOT IN (SELECT id FROM instances "
                f"WHERE seen_at >= {self.db.dialect.clock} - ?)"
            )
            params.append(float(alive_within_s))
        if older_than is not None:
            lost.append("claimed_at < ?")
            params.append(stamp(older_than))
        if lost:
            sql += f" AND ({' OR '.join(lost)})"
        return await self.db.execute(sql, params)

    async def next_attempt(self, item_id: int) -> datetime | None:
        row = await self.db.fetchone("SELECT next_attempt_at FROM outbox WHERE id = ?", (item_id,))
        return parse_stamp(row["next_attempt_at"]) if row else None

    async def update_body(self, item_id: int, body: dict[str, Any]) -> None:
        await self.db.execute(
            "UPDATE outbox SET body = ? WHERE id = ?",
            (json.dumps(body, ensure_ascii=False), item_id),
        )

    async def counts(self) -> dict[str, int]:
        rows = await self.db.fetchall("SELECT state, COUNT(*) AS n FROM outbox GROUP BY state")
        return {r["state"]: r["n"] for r in rows}

    async def state_counts(self) -> list[tuple[str, str, int]]:
        """Messages per platform and state: ``(platform, state, count)``, for ``/metrics``."""
        rows = await self.db.fetchall(
            "SELECT c.platform, o.state, COUNT(*) AS n FROM outbox o "
            "JOIN chats c ON c.id = o.chat_id GROUP BY c.platform, o.state "
            "ORDER BY c.platform, o.state"
        )
        return [(r[0], r[1], int(r[2])) for r in rows]

    async def prune_sent(self, sent_before: datetime, through_week: str, now: datetime) -> int:
        """Delete the messages sent before ``sent_before`` about a week up to
        ``through_week`` (retention), in one transaction that also records that week: from
        then on nothing is planned about it or an earlier one (``plan_many``), so that a
        recheck never plans again what was sent and deleted. Messages about no week
        (operators' notices, some of which are told once for good) and every message not
        sent (owed work, dead ones an operator may requeue) are kept. Returns how many were
        deleted."""
        async with self.db.transaction() as tx:
            await mark_in(tx, RETENTION, through_week, now)
            return await tx.execute(
                "DELETE FROM outbox WHERE state = 'sent' AND sent_at < ? "
                "AND week IS NOT NULL AND week <= ?",
                (stamp(sent_before), through_week),
            )

    async def pruned_through(self) -> str | None:
        """The latest week whose sent messages retention may have deleted (None: none)."""
        async with self.db.reading() as tx:
            return await latest_in(tx, RETENTION)

    async def requeue(self, item_id: int, now: datetime) -> SentRecord:
        """A dead message goes again: pending, due now, its attempts counted afresh, and
        its chat active again (an operator who requeues has fixed what stopped it).
        Raises ``NotDead`` (nothing changed) when it is not a dead message."""
        async with self.db.transaction() as tx:
            row = await tx.fetchone("SELECT state, chat_id FROM outbox WHERE id = ?", (item_id,))
            if row is None or row["state"] != "dead":
                raise NotDead(None if row is None else row["state"])
            await tx.execute(
                "UPDATE outbox SET state = 'pending', attempts = 0, next_attempt_at = ?, "
                "last_error = NULL, waiting_for = NULL, claimed_by = NULL, claimed_at = NULL "
                "WHERE id = ?",
                (stamp(now), item_id),
            )
            await tx.execute(
                "UPDATE chats SET active = 1, inactive_reason = NULL WHERE id = ?",
                (row["chat_id"],),
            )
        [record] = await self.history(item_id=item_id)
        return record

    async def unsent(self) -> list[tuple[str, bool, str, datetime, str | None]]:
        """Every message not sent yet: its platform, urgency, state, next attempt and
        what it waits for (``bot.outbox.worker.waiting`` says when it is due, and why)."""
        rows = await self.db.fetchall(
            "SELECT c.platform, o.urgent, o.state, o.next_attempt_at, o.waiting_for "
            "FROM outbox o JOIN chats c ON c.id = o.chat_id "
            "WHERE o.state IN ('pending', 'failed', 'sending')"
        )
        return [(r[0], bool(r[1]), r[2], parse_stamp(r[3]), r[4]) for r in rows]

    async def waiting_for(self, platform: str) -> int:
        """How many messages to ``platform``'s chats still wait to go out."""
        row = await self.db.fetchone(
            "SELECT COUNT(*) AS n FROM outbox o JOIN chats c ON c.id = o.chat_id "
            "WHERE c.platform = ? AND o.state IN ('pending', 'failed')",
            (platform,),
        )
        return int(row["n"]) if row is not None else 0

    async def history(
        self, seller_id: str | None = None, week: str | None = None, *, item_id: int | None = None
    ) -> list[SentRecord]:
        where: list[str] = ["1 = 1"]
        params: list[object] = []
        if item_id is not None:
            where.append("o.id = ?")
            params.append(item_id)
        if seller_id is not None:
            where.append("o.seller_id = ?")
            params.append(seller_id)
        if week is not None:
            where.append("o.week = ?")
            params.append(week)
        rows = await self.db.fetchall(
            "SELECT o.id, o.seller_id, o.week, o.kind, o.sections, c.platform, c.address, "
            "o.state, o.created_at, o.sent_at, o.template, o.policy, o.body, o.last_error, "
            "o.urgent, o.next_attempt_at, o.waiting_for "
            "FROM outbox o JOIN chats c ON c.id = o.chat_id "
            f"WHERE {' AND '.join(where)} ORDER BY o.id",
            params,
        )
        return [
            SentRecord(
                id=r["id"],
                seller_id=r["seller_id"],
                week=r["week"],
                kind=r["kind"],
                sections=tuple(s for s in r["sections"].split(",") if s),
                platform=r["platform"],
                address=r["address"],
                state=r["state"],
                created_at=parse_stamp(r["created_at"]),
                sent_at=parse_stamp(r["sent_at"]) if r["sent_at"] else None,
                template=r["template"],
                policy=r["policy"],
                text=json.loads(r["body"])["text"],
                last_error=r["last_error"],
                urgent=bool(r["urgent"]),
                next_attempt_at=parse_stamp(r["next_attempt_at"]),
                waiting_for=r["waiting_for"],
            )
            for r in rows
        ]


_CLAIMED = (
    "o.id, o.chat_id, c.platform, c.address, o.seller_id, o.week, o.kind, o.sections, "
    "o.urgent, o.body, o.attempts, o.claim, o.next_attempt_at"
)


async def _in_chat_order(
    tx: Tx, picked: list[Row], due: str, hushed: set[str]
) -> tuple[list[Row], list[tuple[int, str]]]:
    """The messages to claim for ``picked``, each chat's in its order (urgent ones first,
    then as planned), chats in the order picked: a picked message that is not urgent comes
    with its chat's earlier unsent messages that are due, or, behind one that is not due
    yet, waits for it (returned with when that one is due). An urgent one waits for none."""
    if not picked:
        return [], []
    last: dict[int, int] = {}  # per chat, the last picked message that keeps the order
    for r in picked:
        if not r["urgent"]:
            last[r["chat_id"]] = max(last.get(r["chat_id"], 0), r["id"])
    unsent = []
    if last:
        # Not past the last one picked: the chats' later messages are left, unlocked, to
        # whoever claims at the same time.
        unsent = await tx.fetchall(
            f"SELECT {_CLAIMED} FROM outbox o{tx.dialect.read_by('outbox_unsent_by_chat')} "
            "JOIN chats c ON c.id = o.chat_id WHERE o.state IN ('pending', 'failed') "
            f"AND o.chat_id IN ({','.join('?' * len(last))}) AND o.id <= ? "
            f"ORDER BY o.chat_id, o.id{tx.dialect.skip_locked}",
            [*last, max(last.values())],
        )
    chats: dict[int, dict[int, Row]] = {}
    for r in picked:
        chats.setdefault(r["chat_id"], {})[r["id"]] = r
    for r in unsent:
        if r["id"] <= last[r["chat_id"]]:
            chats[r["chat_id"]][r["id"]] = r
    picked_ids = {r["id"] for r in picked}
    claimed: list[Row] = []
    held: list[tuple[int, str]] = []
    for rows in chats.values():
        ready: list[Row] = []
        blocked: str | None = None  # when the first message that must go before is due
        for r in sorted(rows.values(), key=lambda r: r["id"]):
            urgent = bool(r["urgent"])
            if r["next_attempt_at"] <= due and (urgent or r["platform"] not in hushed):
                if urgent or blocked is None:
                    ready.append(r)
                elif r["id"] in picked_ids and blocked > due:
                    held.append((r["id"], blocked))
            elif blocked is None:
                blocked = r["next_attempt_at"]
        claimed += sorted(ready, key=lambda r: (not r["urgent"], r["id"]))
    return claimed, held


async def plan_many(tx: Tx, messages: list[PlannedMessage], now: datetime) -> int:
    """Plan messages inside an open transaction, a statement per step rather than per
    message; returns how many were new (by dedup key: the first of a key wins)."""
    keys = list(dict.fromkeys(m.dedup_key for m in messages))
    known: set[str] = set()
    for start in range(0, len(keys), _KEYS_PER_QUERY):
        part = keys[start : start + _KEYS_PER_QUERY]
        rows = await tx.fetchall(
            f"SELECT dedup_key FROM outbox WHERE dedup_key IN ({','.join('?' * len(part))})",
            part,
        )
        known.update(r[0] for r in rows)
    new: list[PlannedMessage] = []
    for m in messages:
        if m.dedup_key not in known:
            known.add(m.dedup_key)  # the first of a key in the list wins, as one by one
            new.append(m)
    horizon = await latest_in(tx, RETENTION)
    if horizon is not None:
        # Retention deleted what was sent about these weeks: planning them again would
        # tell it twice.
        new = [m for m in new if m.week is None or m.week > horizon]
    if not new:
        return 0
    for m in new:
        MESSAGES_PLANNED.labels(m.kind).inc()
    when = stamp(now)
    await tx.insert_rows(
        "outbox",
        [
            (
                m.dedup_key,
                m.chat_id,
                m.seller_id,
                m.week,
                m.kind,
                ",".join(m.sections),
                int(m.urgent),
                precedence(m),
                json.dumps(m.body, ensure_ascii=False),
                m.template,
                m.policy,
                when,
                when,
            )
            for m in new
        ],
        "dedup_key, chat_id, seller_id, week, kind, sections, urgent, precedence, body, "
        "template, policy, next_attempt_at, created_at",
    )
    tracked = [m for m in new if m.seller_id is not None and m.week is not None]
    if not tracked:
        return len(new)
    ids: dict[str, int] = {}
    tracked_keys = [m.dedup_key for m in tracked]
    for start in range(0, len(tracked_keys), _KEYS_PER_QUERY):
        part = tracked_keys[start : start + _KEYS_PER_QUERY]
        rows = await tx.fetchall(
            f"SELECT dedup_key, id FROM outbox WHERE dedup_key IN ({','.join('?' * len(part))})",
            part,
        )
        ids.update((r[0], r[1]) for r in rows)
    # What a message claims and what a correction takes back never overlap (a correction
    # withdraws sections no longer current, an alert claims current ones), so one
    # statement for each keeps the effect of planning message by message.
    sections: list[tuple[object, ...]] = []
    withdrawn: list[tuple[object, ...]] = []
    for m in tracked:
        sections += [(m.seller_id, m.week, s, m.chat_id, ids[m.dedup_key], 0) for s in m.sections]
        withdrawn += [(m.seller_id, m.week, m.chat_id, s) for s in m.withdraws]
    # A section claimed again (after a correction withdrew it) counts again, for this message.
    await tx.upsert_rows(
        "sent_sections",
        "seller_id, week, section, chat_id, outbox_id, withdrawn",
        "seller_id, week, section, chat_id",
        sections,
    )
    await tx.executemany(
        "UPDATE sent_sections SET withdrawn = 1 "
        "WHERE seller_id = ? AND week = ? AND chat_id = ? AND section = ?",
        withdrawn,
    )
    return len(new)


def precedence(m: PlannedMessage) -> int:
    """Where a message stands in a long queue: urgent ones first, then alerts and
    corrections (``FIRST_KINDS``), then digests and notices."""
    if m.urgent:
        return 0
    return 1 if m.kind in FIRST_KINDS else 2


class NotDead(Exception):
    """Only a dead message can be requeued; ``state`` is the message's (None: no such)."""

    def __init__(self, state: str | None) -> None:
        super().__init__(state or "no such message")
        self.state = state


# Bound parameters per ``IN (...)`` list, well below SQLite's limit of 32,766.
_KEYS_PER_QUERY = 5000


async def plan_in(tx: Tx, m: PlannedMessage, now: datetime) -> int:
    """Plan one message inside an open transaction; 1 if it was new, else 0."""
    return await plan_many(tx, [m], now)
