"""Improvement-plan reminders: while a plan is required, every ``plan_reminder_days``
days after the suspension week's check day, once per day due and chat."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from bot.commands.service import Service
from bot.notices.check import seller_ref
from bot.notices.notice import Key, notice
from bot.store import PlannedMessage
from norms import IsoWeek


def reminder_slot(plan_since: IsoWeek, today: date, every_days: int) -> date | None:
    """The reminder day due on ``today``: every ``every_days`` days after the suspension
    week's check day, or ``None`` before the first one."""
    start = plan_since.check_day
    if today <= start:
        return None
    elapsed = (today - start).days
    if elapsed < every_days:
        return None
    return start + timedelta(days=elapsed - elapsed % every_days)


async def plan_reminders(service: Service, now: datetime) -> int:
    """Remind the chats of every seller whose improvement plan is still required."""
    store, config = service.store, service.config
    today = now.astimezone(config.timezone).date()
    destinations = await store.chats.destinations()
    planned: list[PlannedMessage] = []
    for seller in await store.sellers.some(destinations):
        report = await service.report_for(seller)
        track = report.track if report else None
        if report is None or track is None or track.plan != "required":
            continue
        assert track.plan_since is not None
        slot = reminder_slot(track.plan_since, today, config.policy.plan_reminder_days)
        if slot is None:
            continue
        days = (today - track.plan_since.check_day).days
        for chat in destinations[seller.id]:
            if chat.muted:
                continue
            planned.append(
                notice(
                    chat,
                    "plan_reminder",
                    {"seller": seller_ref(seller), "report": report, "days_since": days},
                    key=Key.plan_reminder(seller.id, slot, chat.id),
                    seller_id=seller.id,
                    week=report.week,
                    policy=config.policy.name,
                )
            )
    return await store.outbox.plan(planned, now)
