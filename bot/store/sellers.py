"""Sellers and their encrypted bol.com credentials."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from datetime import datetime

from bot.store.engine.base import Database
from bot.store.records import Seller, stamp


class SellerExists(ValueError):
    """A seller with that id is already known."""


class Sellers:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def add(self, seller_id: str, name: str, language: str, now: datetime) -> Seller:
        async with self.db.transaction() as tx:
            if await tx.fetchone("SELECT 1 FROM sellers WHERE id = ?", (seller_id,)) is not None:
                raise SellerExists(seller_id)
            await tx.execute(
                "INSERT INTO sellers (id, name, language, created_at) VALUES (?, ?, ?, ?)",
                (seller_id, name, language, stamp(now)),
            )
        return Seller(seller_id, name, language)

    async def get(self, seller_id: str) -> Seller | None:
        row = await self.db.fetchone(
            "SELECT id, name, language FROM sellers WHERE id = ?", (seller_id,)
        )
        return Seller(row["id"], row["name"], row["language"]) if row else None

    async def all(self) -> list[Seller]:
        rows = await self.db.fetchall("SELECT id, name, language FROM sellers ORDER BY id")
        return [Seller(r["id"], r["name"], r["language"]) for r in rows]

    async def some(self, ids: Iterable[str]) -> list[Seller]:
        """The known sellers among ``ids``, in the order given."""
        wanted = list(dict.fromkeys(ids))
        found: dict[str, Seller] = {}
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            marks = ",".join("?" * len(chunk))
            rows = await self.db.fetchall(
                f"SELECT id, name, language FROM sellers WHERE id IN ({marks})", chunk
            )
            found.update({r["id"]: Seller(r["id"], r["name"], r["language"]) for r in rows})
        return [found[i] for i in wanted if i in found]

    async def set_credentials(
        self, seller_id: str, client_id_sealed: bytes, secret_sealed: bytes, now: datetime
    ) -> None:
        """Store bol.com credentials, both sealed (``bot.bol.credentials``); clears a refusal."""
        await self.db.execute(
            "INSERT INTO credentials (seller_id, client_id, secret_encrypted, updated_at) "
            "VALUES (?, ?, ?, ?) ON CONFLICT (seller_id) DO UPDATE SET "
            "client_id = excluded.client_id, secret_encrypted = excluded.secret_encrypted, "
            "updated_at = excluded.updated_at, failure = NULL, failure_reported_at = NULL",
            (seller_id, client_id_sealed.decode("ascii"), secret_sealed, stamp(now)),
        )

    async def credentials(self, seller_id: str) -> tuple[bytes, bytes] | None:
        """The sealed client id and secret."""
        row = await self.db.fetchone(
            "SELECT client_id, secret_encrypted FROM credentials WHERE seller_id = ?", (seller_id,)
        )
        if row is None:
            return None
        return row["client_id"].encode("ascii"), bytes(row["secret_encrypted"])

    async def connected(self, seller_id: str) -> bool:
        """Whether the seller's figures come from bol.com: credentials stored, not refused."""
        row = await self.db.fetchone(
            "SELECT 1 AS found FROM credentials WHERE seller_id = ? AND failure IS NULL",
            (seller_id,),
        )
        return row is not None

    async def reseal_credentials(self, reseal: Callable[[bytes], bytes]) -> int:
        """Seal every stored credential anew with ``reseal`` (key rotation), and the client
        id a ``/connect`` in progress keeps, in one transaction: when one cannot be opened
        (``reseal`` raises), nothing is changed. Returns how many sellers' were."""
        async with self.db.transaction() as tx:
            rows = await tx.fetchall(
                "SELECT seller_id, client_id, secret_encrypted FROM credentials ORDER BY seller_id"
            )
            await tx.executemany(
                "UPDATE credentials SET client_id = ?, secret_encrypted = ? WHERE seller_id = ?",
                [
                    (
                        reseal(r["client_id"].encode("ascii")).decode("ascii"),
                        reseal(bytes(r["secret_encrypted"])),
                        r["seller_id"],
                    )
                    for r in rows
                ],
            )
            talks = await tx.fetchall("SELECT chat_id, data FROM conversations")
            resealed = []
            for t in talks:
                data = json.loads(t["data"])
                if isinstance(data, dict) and isinstance(data.get("client_id"), str):
                    data["client_id"] = reseal(data["client_id"].encode("ascii")).decode("ascii")
                    resealed.append((json.dumps(data), t["chat_id"]))
            await tx.executemany("UPDATE conversations SET data = ? WHERE chat_id = ?", resealed)
        return len(rows)

    async def with_credentials(self) -> list[str]:
        rows = await self.db.fetchall("SELECT seller_id FROM credentials ORDER BY seller_id")
        return [r["seller_id"] for r in rows]

    async def record_credential_failure(self, seller_id: str, failure: str, now: datetime) -> bool:
        """Record that the credentials failed; ``True`` only the first time (report once)."""
        async with self.db.transaction() as tx:
            row = await tx.fetchone(
                "SELECT failure FROM credentials WHERE seller_id = ?", (seller_id,)
            )
            if row is None or row["failure"] is not None:
                return False
            await tx.execute(
                "UPDATE credentials SET failure = ?, failure_reported_at = ? WHERE seller_id = ?",
                (failure, stamp(now), seller_id),
            )
        return True

    async def refused_credentials(self) -> set[str]:
        """Sellers whose stored credentials bol.com refused (not tried until set anew)."""
        rows = await self.db.fetchall("SELECT seller_id FROM credentials WHERE failure IS NOT NULL")
        return {r["seller_id"] for r in rows}
