"""How a notice becomes a planned message: rendered once for its destination's platform and
language, under a dedup key that says what it is. Every dedup key is made here (``Key``):
a key is planned once, ever, so a notice that must not repeat and one that may (a new
revision, a later failure) differ only in their key."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any

from bot.channels.platforms import format_of
from bot.store import Chat, PlannedMessage
from messages import LANGUAGES, render_reusing
from norms import IsoWeek


def body_for(chat: Chat, kind: str, data: Mapping[str, Any]) -> dict[str, Any]:
    """Render ``kind`` for the chat's platform and language, as stored in the outbox; the
    check's many alike messages share their rendering (``render_reusing``)."""
    rendered = render_reusing(
        kind,
        data,
        fmt=format_of(chat.platform),
        lang=chat.language if chat.language in LANGUAGES else "nl",
    )
    return {"text": rendered.text, "blocks": rendered.blocks, "parse_mode": rendered.parse_mode}


def notice(
    chat: Chat,
    kind: str,
    data: Mapping[str, Any],
    *,
    key: str,
    seller_id: str | None = None,
    week: IsoWeek | str | None = None,
    sections: Iterable[str] = (),
    urgent: bool = False,
    policy: str = "",
    withdraws: Iterable[str] = (),
    meta: Mapping[str, Any] | None = None,
) -> PlannedMessage:
    """One notice of ``kind`` to ``chat``, rendered from ``data`` and planned once per
    ``key`` (made by ``Key``). ``sections`` are the alert sections it claims, ``withdraws``
    those a correction takes back; ``meta`` says what it is to channels that add actions."""
    body = body_for(chat, kind, data)
    if meta is not None:
        body["meta"] = dict(meta)
    return PlannedMessage(
        dedup_key=key,
        chat_id=chat.id,
        seller_id=seller_id,
        week=None if week is None else str(week),
        kind=kind,
        sections=tuple(sections),
        urgent=urgent,
        body=body,
        template=kind,
        policy=policy,
        withdraws=tuple(withdraws),
    )


class Key:
    """The dedup key of every notice kind, per destination."""

    @staticmethod
    def alerts(
        seller_id: str, week: IsoWeek | str, chat_id: int, sections: Iterable[str], revision: int
    ) -> str:
        """A week's alert sections; after a correction the same alert may hold again, as a
        new revision."""
        return f"alerts:{seller_id}:{week}:{chat_id}:{'+'.join(sections)}#{revision}"

    @staticmethod
    def correction(
        seller_id: str,
        week: IsoWeek | str,
        chat_id: int,
        withdrawn: Iterable[str],
        current: Iterable[str],
    ) -> str:
        """Sections taken back, and what holds instead."""
        return (
            f"correction:{seller_id}:{week}:{chat_id}:"
            f"{'+'.join(sorted(withdrawn))}>{'+'.join(current)}"
        )

    @staticmethod
    def data_missing(week: IsoWeek | str, chat_id: int) -> str:
        return f"data_missing:{week}:{chat_id}"

    @staticmethod
    def figures_missing(seller_id: str, week: IsoWeek | str, chat_id: int) -> str:
        return f"figures_missing:{seller_id}:{week}:{chat_id}"

    @staticmethod
    def plan_reminder(seller_id: str, slot: date, chat_id: int) -> str:
        return f"plan_reminder:{seller_id}:{slot}:{chat_id}"

    @staticmethod
    def digest(week: IsoWeek | str, chat_id: int) -> str:
        return f"digest:{week}:{chat_id}"

    @staticmethod
    def provisional(seller_id: str, week: IsoWeek | str, chat_id: int, failing: str) -> str:
        """The running week's early warning, once per set of failing norms."""
        return f"provisional:{seller_id}:{week}:{chat_id}:{failing}"

    @staticmethod
    def poll_failed(seller_id: str, when: str, chat_id: int) -> str:
        """Refused credentials: a later failure, after new credentials, is a new notice."""
        return f"poll_failed:{seller_id}:{when}:{chat_id}"

    @staticmethod
    def bol_disagreement(seller_id: str, differences: Iterable[str], chat_id: int) -> str:
        """bol.com's strike count against ours, once per set of weeks that differ."""
        return f"bol_disagreement:{seller_id}:{'+'.join(differences)}:{chat_id}"

    @staticmethod
    def admin(key: str, chat_id: int) -> str:
        """An operators' notice, told once per ``key``."""
        return f"admin:{key}:{chat_id}"
