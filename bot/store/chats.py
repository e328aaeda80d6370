"""Chats (destinations), the sellers they follow, one-time link codes, chat settings."""

from __future__ import annotations

import json
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from bot.store.engine.base import Database, Row
from bot.store.outbox import PlannedMessage, plan_in
from bot.store.records import Chat, Seller, parse_stamp, stamp

_CHAT_COLUMNS = (
    "id, platform, address, title, language, muted, digest_day, digest_hour, active, "
    "inactive_reason"
)
# Unambiguous characters only: codes are typed by hand.
_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
LINK_CODE_TTL = timedelta(days=7)

LinkFailure = Literal["unknown", "used", "expired"]
# A chat may send this many link codes that do not work in the window, then it waits
# until the oldest of them leaves the window: 32^10 codes are not found by guessing then.
WRONG_CODES_ALLOWED = 5
WRONG_CODES_WINDOW = timedelta(minutes=10)


@dataclass(frozen=True, slots=True)
class LinkWait:
    """The chat sent too many codes that did not work; it may try again from ``until``."""

    until: datetime


def _chat(row: Row) -> Chat:
    return Chat(
        id=row["id"],
        platform=row["platform"],
        address=row["address"],
        title=row["title"],
        language=row["language"],
        muted=bool(row["muted"]),
        digest_day=row["digest_day"],
        digest_hour=row["digest_hour"],
        active=bool(row["active"]),
        inactive_reason=row["inactive_reason"],
    )


class Chats:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def get_or_create(
        self, platform: str, address: str, *, language: str, now: datetime, title: str = ""
    ) -> Chat:
        """The chat's row, created on first contact (a read only, after that)."""
        chat = await self.find(platform, address)
        if chat is not None:
            return chat
        async with self.db.transaction() as tx:
            await tx.execute(
                "INSERT INTO chats (platform, address, title, language, created_at) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT (platform, address) DO NOTHING",
                (platform, address, title, language, stamp(now)),
            )
        chat = await self.find(platform, address)
        assert chat is not None
        return chat

    async def find(self, platform: str, address: str) -> Chat | None:
        row = await self.db.fetchone(
            f"SELECT {_CHAT_COLUMNS} FROM chats WHERE platform = ? AND address = ?",
            (platform, address),
        )
        return _chat(row) if row else None

    async def get(self, chat_id: int) -> Chat | None:
        row = await self.db.fetchone(f"SELECT {_CHAT_COLUMNS} FROM chats WHERE id = ?", (chat_id,))
        return _chat(row) if row else None

    async def all(self, *, active_only: bool = True) -> list[Chat]:
        where = "WHERE active = 1" if active_only else ""
        rows = await self.db.fetchall(f"SELECT {_CHAT_COLUMNS} FROM chats {where} ORDER BY id")
        return [_chat(r) for r in rows]

    async def link(self, chat_id: int, seller_id: str, by: str, now: datetime) -> None:
        await self.db.execute(
            "INSERT INTO chat_sellers (chat_id, seller_id, linked_at, linked_by) "
            "VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
            (chat_id, seller_id, stamp(now), by),
        )

    async def first_linked(self) -> dict[int, datetime]:
        """When each chat began following a seller (its earliest link still in place)."""
        rows = await self.db.fetchall(
            "SELECT chat_id, MIN(linked_at) AS first FROM chat_sellers GROUP BY chat_id"
        )
        return {r["chat_id"]: parse_stamp(r["first"]) for r in rows}

    async def unlink(self, chat_id: int, seller_id: str) -> bool:
        removed = await self.db.execute(
            "DELETE FROM chat_sellers WHERE chat_id = ? AND seller_id = ?", (chat_id, seller_id)
        )
        return removed > 0

    async def sellers_of(self, chat_id: int) -> list[Seller]:
        rows = await self.db.fetchall(
            "SELECT s.id, s.name, s.language FROM chat_sellers cs "
            "JOIN sellers s ON s.id = cs.seller_id WHERE cs.chat_id = ? ORDER BY s.id",
            (chat_id,),
        )
        return [Seller(r["id"], r["name"], r["language"]) for r in rows]

    async def destinations(self, seller_ids: list[str] | None = None) -> dict[str, list[Chat]]:
        """Active chats per seller."""
        rows = await self.db.fetchall(
            f"SELECT cs.seller_id, {', '.join('c.' + c.strip() for c in _CHAT_COLUMNS.split(','))} "
            "FROM chat_sellers cs JOIN chats c ON c.id = cs.chat_id WHERE c.active = 1 "
            "ORDER BY cs.seller_id, c.id"
        )
        wanted = None if seller_ids is None else set(seller_ids)
        out: dict[str, list[Chat]] = {}
        for r in rows:
            if wanted is None or r["seller_id"] in wanted:
                out.setdefault(r["seller_id"], []).append(_chat(r))
        return out

    async def set_language(self, chat_id: int, language: str) -> None:
        await self.db.execute("UPDATE chats SET language = ? WHERE id = ?", (language, chat_id))

    async def set_muted(self, chat_id: int, muted: bool) -> None:
        await self.db.execute("UPDATE chats SET muted = ? WHERE id = ?", (int(muted), chat_id))

    async def set_digest_time(self, chat_id: int, day: int, hour: int) -> None:
        await self.db.execute(
            "UPDATE chats SET digest_day = ?, digest_hour = ? WHERE id = ?", (day, hour, chat_id)
        )

    async def deactivate(self, chat_id: int, reason: str) -> bool:
        """Mark a destination unreachable; ``True`` if it was active (tell admins once)."""
        changed = await self.db.execute(
            "UPDATE chats SET active = 0, inactive_reason = ? WHERE id = ? AND active = 1",
            (reason, chat_id),
        )
        return changed > 0

    async def move(self, chat_id: int, new_address: str) -> None:
        """The chat lives at ``new_address`` now (a Telegram group became a supergroup).
        If the new address is known already, its row takes over the links and messages."""
        async with self.db.transaction() as tx:
            other = await tx.fetchone(
                "SELECT id FROM chats WHERE platform = "
                "(SELECT platform FROM chats WHERE id = ?) AND address = ?",
                (chat_id, new_address),
            )
            if other is None:
                await tx.execute(
                    "UPDATE chats SET address = ? WHERE id = ?", (new_address, chat_id)
                )
                return
            target = other["id"]
            await tx.execute(
                "INSERT INTO chat_sellers (chat_id, seller_id, linked_at, linked_by) "
                "SELECT ?, seller_id, linked_at, linked_by FROM chat_sellers WHERE chat_id = ? "
                "ON CONFLICT DO NOTHING",
                (target, chat_id),
            )
            await tx.execute(
                "UPDATE outbox SET chat_id = ? WHERE chat_id = ? "
                "AND state IN ('pending', 'failed', 'sending')",
                (target, chat_id),
            )
            await tx.execute(
                "UPDATE chats SET active = 0, inactive_reason = ? WHERE id = ?",
                (f"moved to {new_address}", chat_id),
            )

    async def reactivate(self, chat_id: int) -> None:
        await self.db.execute(
            "UPDATE chats SET active = 1, inactive_reason = NULL WHERE id = ?", (chat_id,)
        )

    async def create_link_code(
        self, seller_id: str, now: datetime, ttl: timedelta = LINK_CODE_TTL
    ) -> str:
        code = "".join(secrets.choice(_CODE_ALPHABET) for _ in range(10))
        await self.db.execute(
            "INSERT INTO link_codes (code, seller_id, created_at, expires_at) VALUES (?, ?, ?, ?)",
            (code, seller_id, stamp(now), stamp(now + ttl)),
        )
        return code

    async def redeem_link_code(
        self,
        code: str,
        chat_id: int,
        by: str,
        now: datetime,
        *,
        when_guessing: Sequence[PlannedMessage] = (),
    ) -> str | LinkFailure | LinkWait:
        """Link the chat to the code's seller; returns the seller id, why it failed, or
        until when the chat must wait after too many codes that did not work.

        The failure that makes the chat wait plans ``when_guessing`` (the admins' notice)
        in the same transaction; their dedup keys say how often that is told.
        """
        code = code.strip().upper()
        async with self.db.transaction() as tx:
            since = now - WRONG_CODES_WINDOW
            attempts = await tx.fetchall(
                "SELECT at FROM link_attempts WHERE chat_id = ? AND at > ? ORDER BY at",
                (chat_id, stamp(since)),
            )
            wrong = [parse_stamp(r["at"]) for r in attempts]
            if len(wrong) >= WRONG_CODES_ALLOWED:
                # Not even looked up: a right code among the guesses must not tell either.
                return LinkWait(wrong[-WRONG_CODES_ALLOWED] + WRONG_CODES_WINDOW)
            row = await tx.fetchone(
                "SELECT seller_id, expires_at, used_at FROM link_codes WHERE code = ?", (code,)
            )
            failure: LinkFailure | None = None
            if row is None:
                failure = "unknown"
            elif row["used_at"] is not None:
                failure = "used"
            elif parse_stamp(row["expires_at"]) <= now:
                failure = "expired"
            if failure is not None:
                # Only the window counts: the table holds ten minutes of wrong codes, no more.
                await tx.execute("DELETE FROM link_attempts WHERE at <= ?", (stamp(since),))
                await tx.execute(
                    "INSERT INTO link_attempts (chat_id, at) VALUES (?, ?)", (chat_id, stamp(now))
                )
                wrong.append(now)
                if len(wrong) >= WRONG_CODES_ALLOWED:
                    for message in when_guessing:
                        await plan_in(tx, message, now)
                    return LinkWait(wrong[-WRONG_CODES_ALLOWED] + WRONG_CODES_WINDOW)
                return failure
            assert row is not None  # no failure: the code exists
            await tx.execute(
                "UPDATE link_codes SET used_at = ?, used_by_chat = ? WHERE code = ?",
                (stamp(now), chat_id, code),
            )
            await tx.execute(
                "INSERT INTO chat_sellers (chat_id, seller_id, linked_at, linked_by) "
                "VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
                (chat_id, row["seller_id"], stamp(now), by),
            )
            seller_id: str = row["seller_id"]
            return seller_id

    async def conversation(self, chat_id: int) -> tuple[str, dict[str, Any]] | None:
        """A multi-step exchange in progress (``/connect`` asks for id, then secret)."""
        row = await self.db.fetchone(
            "SELECT state, data FROM conversations WHERE chat_id = ?", (chat_id,)
        )
        return (row["state"], json.loads(row["data"])) if row else None

    async def set_conversation(
        self, chat_id: int, state: str | None, data: dict[str, Any], now: datetime
    ) -> None:
        if state is None:
            await self.db.execute("DELETE FROM conversations WHERE chat_id = ?", (chat_id,))
            return
        await self.db.execute(
            "INSERT INTO conversations (chat_id, state, data, updated_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (chat_id) DO UPDATE SET state = excluded.state, data = excluded.data, "
            "updated_at = excluded.updated_at",
            (chat_id, state, json.dumps(data), stamp(now)),
        )
