"""When bol.com's strike count and our ``strikes-22w`` derivation differ (NORMS.md §9):
the seller is told bol.com's figure, and the operators both, with the weeks that differ
and the likely reason, once per difference."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime

from bot.notices.bolweek import BolWeek
from bot.notices.notice import Key, notice
from bot.store import Chat, Seller, Store
from messages import SellerRef
from norms import IsoWeek, Policy, fold_history
from norms.bolnews import StrikeComparison, compare_strikes
from norms.report import verdict_history


def strikes_policy(policy: Policy) -> Policy:
    """The operator's policy counted as bol.com counts: every failing week a strike that
    expires after the strike window (the same norms and minimums)."""
    if policy.kind == "strikes":
        return policy
    return replace(policy, name="strikes-22w", kind="strikes")


def difference_tokens(comparison: StrikeComparison) -> tuple[str, ...]:
    """What differs, one token each (``2026-W40:bol``: a week only bol.com counts); a
    count that differs with the same weeks on both sides is a token of its own."""
    tokens = tuple(f"{d.week}:{'bol' if d.bol else 'ours'}" for d in comparison.differences)
    return tokens or (f"count:{comparison.bol_count}:{comparison.derived_count}",)


async def compare_with_derivation(
    store: Store, policy: Policy, bol: Mapping[str, BolWeek]
) -> dict[str, StrikeComparison]:
    """bol.com's strikes beside our derivation as of bol.com's last monitored week, per
    seller whose snapshot has strikes (none in GroeiStart: it has no strikes yet)."""
    counted = strikes_policy(policy)
    by_last: dict[IsoWeek, list[str]] = {}
    for sid, bw in sorted(bol.items()):
        strikes = bw.current.strikes
        if strikes is not None and not bw.current.groeistart:
            by_last.setdefault(strikes.period_end or bw.week, []).append(sid)
    out: dict[str, StrikeComparison] = {}
    for last, ids in sorted(by_last.items()):
        histories = await store.data.histories(ids, last)
        for sid in ids:
            history = histories[sid]
            track = fold_history(counted, history, last)
            verdicts = {v.week: v for v in verdict_history(counted, history, last)}
            comparison = compare_strikes(bol[sid].current, track[-1] if track else None, verdicts)
            if comparison is not None:
                out[sid] = comparison
    return out


async def tell_disagreements(
    store: Store,
    policy: Policy,
    bol: Mapping[str, BolWeek],
    sellers: Mapping[str, Seller],
    admin_chats: list[Chat],
    now: datetime,
) -> int:
    """Tell each operator of every strike count of bol.com's that differs from ours,
    once per difference: a note names all the weeks that differ, and goes again only
    when one of them is new to that operator."""
    differing = {
        sid: c
        for sid, c in (await compare_with_derivation(store, policy, bol)).items()
        if not c.agree
    }
    if not differing:
        return 0
    claims = {
        sid: [f"bol_disagreement@{t}" for t in difference_tokens(c)] for sid, c in differing.items()
    }
    told = await store.outbox.told_sections(
        sorted(differing), [s for sections in claims.values() for s in sections]
    )
    planned = []
    for sid, comparison in sorted(differing.items()):
        seller = sellers[sid]
        for chat in admin_chats:
            if set(claims[sid]) <= told.get(sid, {}).get(chat.id, set()):
                continue
            planned.append(
                notice(
                    chat,
                    "bol_disagreement",
                    {
                        "seller": SellerRef(seller.id, seller.name),
                        "bol": bol[sid].current,
                        "comparison": comparison,
                    },
                    key=Key.bol_disagreement(sid, difference_tokens(comparison), chat.id),
                    seller_id=sid,
                    week=bol[sid].week,
                    # Claimed like a week's sections, so that each difference is told once.
                    sections=claims[sid],
                )
            )
    return await store.outbox.plan(planned, now)


__all__ = ["compare_with_derivation", "difference_tokens", "strikes_policy", "tell_disagreements"]
