"""``/plan``: whether an improvement plan is owed, and ``/plan done`` once it is submitted."""

from __future__ import annotations

from typing import Any

from bot.commands.reply import ChatContext, Reply
from bot.commands.shared import MAX_SELLERS_LOOKED_THROUGH, Shared
from bot.notices.check import seller_ref
from bot.store import Seller
from norms.track import plan_may_become

# Marks a plan as submitted: never run for every seller of a chat at once.
PLAN_DONE = "plan done"
_DONE_WORDS = ("done", "klaar", "ingediend")


async def plan(service: Shared, ctx: ChatContext, args: list[str]) -> list[Reply]:
    done = bool(args) and args[0].lower() in _DONE_WORDS
    seller, _, problem = await service.resolve(ctx, "plan", args[1:] if done else args)
    if problem is not None and problem.kind == "choose_seller" and done:
        # Several sellers: the one that owes a plan is meant; with more, ask among them.
        asked = await service.sellers_of_choice(problem)
        # An admin's chat may see every seller: only a team's few are looked through.
        few = len(asked) <= MAX_SELLERS_LOOKED_THROUGH
        owing = [s for s in asked if few and await _owes_plan(service, s)]
        if len(owing) == 1:
            seller, problem = owing[0], None
        else:
            problem = service.choose(PLAN_DONE, owing or asked)
    if problem is not None:
        return [problem]
    assert seller is not None
    report = await service.report_for(seller)
    ref = seller_ref(seller)
    if report is None or report.track is None or report.track.plan is None:
        data: dict[str, Any] = {"seller": ref}
        if report is not None:
            data["report"] = report
        return [Reply("plan_not_required", data)]
    if not done:
        return [Reply("plan", {"seller": ref, "report": report})]
    if plan_may_become(report.track.plan, "submitted"):
        now = service.clock()
        await service.store.data.add_plan_event(
            seller.id, service.today(now), "submitted", ctx.actor, now
        )
        await service.complete_owed_work(now)
    return [Reply("plan_done", {"seller": ref})]


async def _owes_plan(service: Shared, seller: Seller) -> bool:
    report = await service.report_for(seller)
    return report is not None and report.track is not None and report.track.plan == "required"
