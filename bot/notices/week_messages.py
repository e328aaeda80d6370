"""A week's alert message per destination: the sections it claims (ours and bol.com's
news), those already told, corrections of what no longer holds, and what is urgent."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any, cast

from bot.notices.bolweek import (
    BolWeek,
    kind_of,
    urgent_sections,
    week_sections,
    withdrawn_sections,
)
from bot.notices.notice import Key, notice
from bot.notices.reports import section_ids
from bot.store import Chat, PlannedMessage, Seller, Store
from bot.store.states import WeekAlerts
from messages import Cause, SellerRef
from norms import ALERT_ORDER, WeekReport
from norms.bolnews import BOL_ALERTS
from norms.report import Alert


async def told_once(
    store: Store, seller_ids: list[str], bol: Mapping[str, BolWeek]
) -> dict[str, dict[int, set[str]]]:
    """bol.com's news (a strike week, a violation, ...) already told to a chat in another
    week: told once, whichever week told it."""
    ids = [s for s in seller_ids if s in bol]
    return await store.outbox.told_sections(ids, [x for s in ids for x in bol[s].told_once()])


def add_told_elsewhere(
    already: dict[str, dict[int, set[str]]], told: Mapping[str, Mapping[int, set[str]]]
) -> None:
    for seller_id, chats in told.items():
        for chat_id, sections in chats.items():
            already.setdefault(seller_id, {}).setdefault(chat_id, set()).update(sections)


def nothing_new(
    said: WeekAlerts,
    chats: list[Chat],
    already: dict[int, set[str]],
    bol: BolWeek | None = None,
) -> bool:
    """Whether the week's alerts, as stored, would plan nothing: every chat already has
    each section it wants (bol.com's news among them) and none it should no longer have."""
    current = week_sections(said.sections, bol)
    urgent = urgent_sections(current, bol)
    for chat in chats:
        sent = already.get(chat.id, set())
        wanted = {s for s in current if not chat.muted or s in urgent}
        if wanted - sent or withdrawn_sections(sent, said.sections):
            return False
    return True


def plan_week_messages(
    seller: Seller,
    report: WeekReport,
    chats: list[Chat],
    already: dict[int, set[str]],
    corrections: dict[int, int],
    source: str,
    cause: Cause | None = None,
    *,
    bol: BolWeek | None = None,
) -> list[PlannedMessage]:
    """The week's alert message per chat (new sections only), and a correction where a
    section already sent no longer holds; ``already`` and ``corrections`` are the store's
    sections planned and corrections sent per chat, ``source`` where the week came from,
    ``cause`` what changed since (the correction names it; None: not known), ``bol``
    bol.com's verdict for the week (its news becomes sections of the same message).
    Nothing is rendered when there is nothing new to say."""
    week = str(report.week)
    ref = SellerRef(seller.id, seller.name)
    out: list[PlannedMessage] = []
    derived = section_ids(report)
    current = week_sections(derived, bol)
    urgent = urgent_sections(current, bol)
    for chat in chats:
        sent = already.get(chat.id, set())
        wanted = {s: a for s, a in current.items() if not chat.muted or s in urgent}
        new_ids = tuple(s for s in wanted if s not in sent)
        withdrawn = withdrawn_sections(sent, derived)
        if withdrawn:
            out.append(
                notice(
                    chat,
                    "correction",
                    {
                        "seller": ref,
                        "week": report.week,
                        "sent": [a for a in ALERT_ORDER if a in {kind_of(s) for s in withdrawn}],
                        # The step each withdrawn track message told ("warning 1 of 4").
                        "sent_steps": {
                            kind: int(step)
                            for kind, _, step in (s.partition("@") for s in withdrawn)
                            if step.isdigit()
                        },
                        "now": list(dict.fromkeys(current.values())),
                        "report": report,
                        "cause": cause,
                    },
                    key=Key.correction(seller.id, week, chat.id, withdrawn, current),
                    seller_id=seller.id,
                    week=week,
                    policy=report.policy.name,
                    withdraws=sorted(withdrawn),
                )
            )
        if new_ids:
            key = Key.alerts(seller.id, week, chat.id, new_ids, corrections.get(chat.id, 0))
            out.append(
                _alerts_notice(seller, report, chat, new_ids, wanted, source, bol, urgent, key)
            )
    return out


def _alerts_notice(
    seller: Seller,
    report: WeekReport,
    chat: Chat,
    new_ids: tuple[str, ...],
    wanted: Mapping[str, str],
    source: str,
    bol: BolWeek | None,
    urgent: set[str],
    key: str,
) -> PlannedMessage:
    """The message of a week's new sections: ours as the report's alerts, bol.com's as the
    part of its news they tell."""
    ours = cast(
        "tuple[Alert, ...]",
        tuple(dict.fromkeys(wanted[s] for s in new_ids if wanted[s] not in BOL_ALERTS)),
    )
    data: dict[str, Any] = {
        "seller": SellerRef(seller.id, seller.name),
        "report": replace(report, alerts=ours),
        "source": source,
    }
    if bol is not None and any(wanted[s] in BOL_ALERTS for s in new_ids):
        data |= {"bol": bol.current, "bol_previous": bol.baseline, "bol_news": bol.telling(new_ids)}
    return notice(
        chat,
        "alerts",
        data,
        key=key,
        seller_id=seller.id,
        week=report.week,
        sections=new_ids,
        urgent=any(s in urgent for s in new_ids),
        policy=report.policy.name,
        # What the message is, for channels that add actions (Slack's plan button).
        meta={
            "kind": "alerts",
            "seller_id": seller.id,
            "sections": list(new_ids),
            "language": chat.language,
        },
    )


__all__ = ["add_told_elsewhere", "nothing_new", "plan_week_messages", "told_once"]
