"""bol.com's own verdict (NORMS.md §9): ``/quality`` (nl ``/kwaliteit``, fr ``/qualite``)
and ``/policy`` (nl ``/beleid``, fr ``/politique``), and the chart of the quality score.

Each answers from bol.com's newest snapshot of the seller; without one it says so and how
one comes in, and claims nothing.
"""

from __future__ import annotations

from typing import Any

from bot.commands.reply import ChatContext, Reply, lang
from bot.commands.shared import Shared
from bot.notices.check import seller_ref
from bot.store import Seller
from messages import quality_chart

# A quality-score chart needs this many weeks with a score.
QUALITY_CHART_MIN_WEEKS = 2


async def quality(service: Shared, ctx: ChatContext, args: list[str]) -> list[Reply]:
    """``/quality [SELLER]``: the quality score per shipping method and KPI, and what it takes."""
    return await _verdict_reply(service, ctx, "quality", args)


async def policy(service: Shared, ctx: ChatContext, args: list[str]) -> list[Reply]:
    """``/policy [SELLER]``: the policy points left and the violations of the last 365 days."""
    return await _verdict_reply(service, ctx, "policy", args)


async def _verdict_reply(
    service: Shared, ctx: ChatContext, kind: str, args: list[str]
) -> list[Reply]:
    seller, _, problem = await service.resolve(ctx, kind, args)
    if problem is not None:
        return [problem]
    assert seller is not None
    bol = await service.bol_status(seller)
    if bol is None:
        return [await no_verdict(service, seller, kind)]
    current, before = bol
    return [Reply(kind, {"seller": seller_ref(seller), "bol": current, "bol_previous": before})]


async def no_verdict(service: Shared, seller: Seller, command: str) -> Reply:
    """bol.com has told nothing about the seller yet: said plainly, with how it comes in."""
    connected = await service.store.sellers.connected(seller.id)
    data = {"seller": seller_ref(seller), "command": command, "connected": connected}
    return Reply("no_bol_status", data)


async def quality_history(service: Shared, ctx: ChatContext, seller: Seller, weeks: int) -> Reply:
    """``/history quality``: bol.com's quality score over the last ``weeks`` weeks that
    have one, against the alert level chosen for the seller."""
    bol = await service.bol_status(seller)
    if bol is None:
        return await no_verdict(service, seller, "history quality")
    current, before = bol
    scores = await service.store.bol_statuses.quality_scores(seller.id, weeks=weeks)
    ref = seller_ref(seller)
    if not scores:
        # Snapshots, but none with a score: the quality message says so.
        return Reply("quality", {"seller": ref, "bol": current, "bol_previous": before})
    data: dict[str, Any] = {
        "seller": ref,
        "weeks": len(scores),
        "asked": weeks,
        "quality": True,
        "bol": current,
    }
    if len(scores) < QUALITY_CHART_MIN_WEEKS:
        return Reply("history", {**data, "low": QUALITY_CHART_MIN_WEEKS})
    alert = service.config.policy.quality_score_alert
    chart = quality_chart(ref, scores, alert, lang=lang(ctx.chat.language))
    return Reply("history", data, image=chart)


__all__ = ["QUALITY_CHART_MIN_WEEKS", "no_verdict", "policy", "quality", "quality_history"]
