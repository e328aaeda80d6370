"""The weekly digest: per seller, and per team channel with all its sellers."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.notices.check import seller_ref
from bot.notices.notice import Key, notice
from bot.notices.reports import Reports
from bot.store import PlannedMessage, Seller, Store


async def digest_entries(reports: Reports, sellers: list[Seller]) -> list[dict[str, Any]]:
    """The digest data of each seller with data: its last week and the week before, and
    bol.com's own verdict where it has told one."""
    entries = []
    # /connect is suggested only to sellers whose figures do not come from bol.com.
    sellers_db = reports.store.sellers
    connected = set(await sellers_db.with_credentials()) - await sellers_db.refused_credentials()
    for seller in sellers:
        report = await reports.report_for(seller)
        if report is None:
            continue
        previous = await reports.report_for(seller, report.week.shift(-1))
        if previous is not None and not previous.has_data:
            previous = None
        entry: dict[str, Any] = {
            "seller": seller_ref(seller),
            "report": report,
            "previous": previous,
            "missing": reports.missing_weeks(report),
            "connected": seller.id in connected,
        }
        # bol.com's own verdict beside ours, when it has told one (no snapshot, no line).
        if (bol := await reports.bol_status(seller)) is not None:
            entry["bol"], entry["bol_previous"] = bol
        entries.append(entry)
    return entries


async def plan_digests(
    reports: Reports,
    *,
    now: datetime,
    seller_ids: list[str] | None = None,
    chat_ids: list[int] | None = None,
) -> int:
    """Plan one digest per destination of these sellers (all when ``None``), once per week."""
    store: Store = reports.store
    destinations = await store.chats.destinations(seller_ids)
    per_chat: dict[int, list[Seller]] = {}
    chats = {}
    all_sellers = {s.id: s for s in await store.sellers.all()}
    for seller_id, seller_chats in destinations.items():
        for chat in seller_chats:
            if chat_ids is not None and chat.id not in chat_ids:
                continue
            chats[chat.id] = chat
            per_chat.setdefault(chat.id, []).append(all_sellers[seller_id])
    week = reports.last_complete_week()
    planned: list[PlannedMessage] = []
    for chat_id, sellers in per_chat.items():
        chat = chats[chat_id]
        if chat.muted:
            continue
        entries = await digest_entries(reports, sellers)
        if not entries:
            continue
        planned.append(
            notice(
                chat,
                "digest",
                {"entries": entries, "team": len(entries) > 1},
                key=Key.digest(week, chat.id),
                seller_id=sellers[0].id if len(sellers) == 1 else None,
                week=entries[0]["report"].week,
                policy=reports.config.policy.name,
            )
        )
    return await store.outbox.plan(planned, now)
