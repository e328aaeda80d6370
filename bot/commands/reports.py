"""A seller's figures: ``/score``, ``/status``, ``/goldlabel``, ``/history`` and ``/digest``."""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

from bot.commands.reply import ChatContext, Reply, lang
from bot.commands.shared import MAX_SELLERS_LOOKED_THROUGH, Shared
from bot.commands.verdict import quality_history
from bot.notices.check import seller_ref
from bot.notices.digest import digest_entries
from bot.store import Seller
from messages import history_chart

HISTORY_DEFAULT_WEEKS = 12
# /history's first (or last) word that charts bol.com's quality score instead.
QUALITY_WORDS = frozenset({"quality", "kwaliteit", "qualite", "qualité"})
# A chart of every week stored (beyond bol.com's own 30) is a feature: up to ten years.
HISTORY_MIN_WEEKS = 2
HISTORY_MAX_WEEKS = 520
# /history's number of weeks: a sign is read too, so "-3" is refused, not a seller's name.
_WEEKS_WORD = re.compile(r"[+-]?[0-9]+")
# Commands that, in a chat with several sellers, answer with one line per seller.
OVERVIEWS = ("score", "status")


async def score(service: Shared, ctx: ChatContext, args: list[str]) -> list[Reply]:
    return await _seller_reply(service, ctx, "score", args)


async def goldlabel(service: Shared, ctx: ChatContext, args: list[str]) -> list[Reply]:
    return await _seller_reply(service, ctx, "goldlabel", args)


async def status(service: Shared, ctx: ChatContext, args: list[str]) -> list[Reply]:
    return await _seller_reply(service, ctx, "status", args)


async def status_now(service: Shared, seller: Seller) -> list[Reply]:
    """A chat linked mid-week learns where the seller stands now, not at the digest."""
    report = await service.report_for(seller)
    if report is None:
        return []
    connected = await service.store.sellers.connected(seller.id)
    data = {"seller": seller_ref(seller), "report": report, "connected": connected}
    data |= await _bol_data(service, seller)
    return [Reply("status", {**data, "missing": service.missing_weeks(report)})]


async def _bol_data(service: Shared, seller: Seller) -> dict[str, Any]:
    """bol.com's own verdict for ``/status``: its newest snapshot and the one before it
    (nothing without one: no snapshot, no claim)."""
    bol = await service.bol_status(seller)
    return {} if bol is None else {"bol": bol[0], "bol_previous": bol[1]}


async def _seller_reply(
    service: Shared, ctx: ChatContext, kind: str, args: list[str]
) -> list[Reply]:
    seller, _, problem = await service.resolve(ctx, kind, args)
    # No seller named in a chat with several: all at a glance (an ambiguous name asks).
    overview = not args and kind in OVERVIEWS
    if problem is not None and problem.kind == "choose_seller" and overview:
        return [await _overview(service, kind, problem)]
    if problem is not None:
        return [problem]
    assert seller is not None
    report = await service.report_for(seller)
    # /connect is suggested only to a seller whose figures do not come from bol.com.
    connected = await service.store.sellers.connected(seller.id)
    data = {"seller": seller_ref(seller), "connected": connected}
    if kind == "status":
        # bol.com's own verdict first, even for a seller whose weekly figures are not in.
        data |= await _bol_data(service, seller)
    if report is None:
        return [Reply("no_data", data)]
    data["report"] = report
    return [Reply(kind, {**data, "missing": service.missing_weeks(report)})]


async def _overview(service: Shared, kind: str, choice: Reply) -> Reply:
    """A chat with several sellers: one line each, and a button each for the details
    (too many to look through: only the choice)."""
    if len(choice.choices) > MAX_SELLERS_LOOKED_THROUGH:
        return choice
    entries = []
    for seller in await service.sellers_of_choice(choice):
        report = await service.report_for(seller)
        if report is not None:
            entry = {"seller": seller_ref(seller), "report": report}
            entries.append({**entry, "missing": service.missing_weeks(report)})
    if not entries:
        return choice
    return Reply(
        "overview",
        {"command": kind, "entries": entries},
        choices=choice.choices,
        command=kind,
    )


async def history(service: Shared, ctx: ChatContext, args: list[str]) -> list[Reply]:
    """``/history [quality] [SELLER] [WEEKS]``: the number of weeks may stand first or last,
    and a number is never taken for a seller's name. With ``quality`` (nl ``kwaliteit``,
    fr ``qualite``; first or last) it charts bol.com's quality score instead."""
    words = list(args)
    chart_quality = False
    if words and words[0].lower() in QUALITY_WORDS:
        chart_quality = bool(words.pop(0))
    elif words and words[-1].lower() in QUALITY_WORDS:
        chart_quality = bool(words.pop())
    given: str | None = None
    if words and _WEEKS_WORD.fullmatch(words[-1]):
        given = words.pop()
    elif words and _WEEKS_WORD.fullmatch(words[0]):
        given = words.pop(0)
    weeks = HISTORY_DEFAULT_WEEKS
    if given is not None:
        # Refused before asking which seller: a button must not quietly drop the number.
        if not HISTORY_MIN_WEEKS <= int(given) <= HISTORY_MAX_WEEKS:
            bounds = {"low": HISTORY_MIN_WEEKS, "high": HISTORY_MAX_WEEKS}
            return [Reply("bad_argument", {"problem": "history_weeks", "given": given, **bounds})]
        weeks = int(given)
    seller, _, problem = await service.resolve(ctx, "history", words)
    if problem is not None and problem.kind == "choose_seller" and (given or chart_quality):
        # Each seller's button draws the chart and the number of weeks asked for.
        asked = [
            "history",
            *(["quality"] if chart_quality else []),
            *([str(weeks)] if given else []),
        ]
        command = " ".join(asked)
        problem = replace(problem, command=command, data={**problem.data, "command": command})
    if problem is not None:
        return [problem]
    assert seller is not None
    if chart_quality:
        return [await quality_history(service, ctx, seller, weeks)]
    last = await service.report_for(seller)
    if last is None:
        return [Reply("no_data", {"seller": seller_ref(seller)})]
    reports = await service.reports_for_weeks(seller, last.week, weeks)
    ref = seller_ref(seller)
    # Fewer weeks stored than asked for: the answer says how many it shows.
    data: dict[str, Any] = {"seller": ref, "weeks": len(reports), "asked": weeks}
    # bol.com's quality score has a chart of its own: said where there is one to draw.
    if await service.store.bol_statuses.quality_scores(seller.id, weeks=1):
        data["quality_chart"] = True
    if len(reports) < HISTORY_MIN_WEEKS:
        # Too few for a chart, as when that many are asked for.
        return [Reply("history", {**data, "low": HISTORY_MIN_WEEKS})]
    chart = history_chart(ref, reports, lang=lang(ctx.chat.language))
    return [Reply("history", data, image=chart)]


async def digest(service: Shared, ctx: ChatContext, args: list[str]) -> list[Reply]:
    """``/digest``: the digest now; ``/digest maandag 8`` (or ``mon 8``): its weekly time."""
    if args:
        when = digest_time(args)
        if isinstance(when, str):
            # Named exactly: the day, the hour, or the hour that is missing.
            given = {"digest_day": args[0], "digest_hour": args[-1]}.get(when, " ".join(args))
            return [Reply("bad_argument", {"problem": when, "given": given})]
        await service.store.chats.set_digest_time(ctx.chat.id, *when)
        return [Reply("digest_time_set", {"day": when[0], "hour": when[1]})]
    sellers = await service.visible_sellers(ctx)
    entries = await digest_entries(service, sellers)
    if not entries:
        return [Reply("no_data", {"seller": seller_ref(sellers[0])})] if sellers else []
    return [Reply("digest", {"entries": entries, "team": len(entries) > 1})]


_DAYS = {
    name: number
    for number, names in enumerate(
        (
            ("ma", "maandag", "mo", "mon", "monday", "lun", "lundi"),
            ("di", "dinsdag", "tu", "tue", "tuesday", "mar", "mardi"),
            ("wo", "woensdag", "we", "wed", "wednesday", "mer", "mercredi"),
            ("do", "donderdag", "th", "thu", "thursday", "jeu", "jeudi"),
            ("vr", "vrijdag", "fr", "fri", "friday", "ven", "vendredi"),
            ("za", "zaterdag", "sa", "sat", "saturday", "sam", "samedi"),
            ("zo", "zondag", "su", "sun", "sunday", "dim", "dimanche"),
        ),
        start=1,
    )
    for name in names
}


def digest_time(args: list[str]) -> tuple[int, int] | str:
    """``["maandag", "8"]``, ``["mon", "08:00"]`` or ``["lundi", "8"]`` -> (ISO weekday, hour);
    else what is wrong: ``digest_day``, ``digest_hour``, ``digest_hour_missing`` or
    ``digest_time`` (neither a day and an hour)."""
    if not 1 <= len(args) <= 2:
        return "digest_time"
    if args[0].lower() not in _DAYS:
        return "digest_day"
    if len(args) == 1:
        return "digest_hour_missing"
    match = re.fullmatch(r"(\d{1,2})(?::00)?(?:u|h)?", args[1].lower())
    if match is None or not 0 <= int(match.group(1)) <= 23:
        return "digest_hour"
    return _DAYS[args[0].lower()], int(match.group(1))
