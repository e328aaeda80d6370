"""When bol.com's strike count and our ``strikes-22w`` derivation differ (NORMS.md §9):
the seller is told bol.com's figure, and the operators both, with the weeks that differ
and the likely reason, once per difference.

Our strikes are read from the fold's stored states, which the check has just brought up
to date: under a strikes policy the stored track's own strikes; under a track policy the
failing weeks of bol.com's monitor period, a strike each, as ``strikes-22w`` counts them
(its closure at the seventh strike replayed within the period). A seller whose states are
not all stored is folded from its first week. The weeks that differ are judged again, to
say why.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime

from bot.notices.bolweek import BolWeek
from bot.notices.notice import Key, notice
from bot.store import Chat, Seller, Store
from messages import SellerRef
from norms import INDICATORS, IsoWeek, Policy
from norms.bolnews import StrikeComparison, compare_strikes
from norms.report import verdict_history
from norms.track import TrackState, TrackWeek, WeekInput, fold_track
from norms.verdicts import WeekVerdict, judge_week


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


def _period(policy: Policy, bw: BolWeek) -> tuple[IsoWeek, IsoWeek]:
    """bol.com's monitor period (without one sent: the strike window up to its week)."""
    strikes = bw.current.strikes
    end = strikes.period_end if strikes is not None and strikes.period_end else bw.week
    start = strikes.period_start if strikes is not None else None
    return start or end.shift(1 - policy.strike_window_weeks), end


def _derived(end: IsoWeek, strikes: list[IsoWeek]) -> TrackWeek:
    """Our strikes as of ``end``, as ``compare_strikes`` reads them."""
    state: TrackState = "open" if strikes else "none"
    return TrackWeek(end, state, len(strikes), 0, None, None, False, strikes=tuple(strikes))


def _replayed(
    policy: Policy, weeks: list[IsoWeek], failing: Mapping[IsoWeek, bool]
) -> list[IsoWeek]:
    """The failing weeks of the period, a strike each, none added once they close the
    account (the fold's closure, within the period)."""
    out: list[IsoWeek] = []
    for week in weeks:
        if failing.get(week) and len(out) < policy.closing_step:
            out.append(week)
    return out


async def _from_states(
    store: Store, policy: Policy, bol: Mapping[str, BolWeek]
) -> tuple[dict[str, TrackWeek], list[str]]:
    """Our strikes per seller from the stored states; the sellers whose states are not
    all stored are returned apart."""
    by_period: dict[tuple[IsoWeek, IsoWeek], list[str]] = {}
    for sid, bw in sorted(bol.items()):
        by_period.setdefault(_period(policy, bw), []).append(sid)
    found: dict[str, TrackWeek] = {}
    unstored: list[str] = []
    for (start, end), ids in sorted(by_period.items()):
        stored = await store.states.failing_weeks(ids, policy, start, end)
        weeks = start.until(end)
        for sid in ids:
            weekly = stored.get(sid, {})
            if policy.kind == "strikes" and end in weekly:
                found[sid] = _derived(end, list(weekly[end].strikes))
                continue
            # Weeks before the seller's first with data have no state: none failed.
            first = weekly[end].first_week if end in weekly else None
            needed = [w for w in weeks if first is not None and w >= first]
            if first is not None and all(w in weekly for w in needed):
                failing = {w: weekly[w].failing for w in needed}
                found[sid] = _derived(end, _replayed(policy, weeks, failing))
            else:
                unstored.append(sid)
    return found, unstored


async def _folded(
    store: Store, policy: Policy, bol: Mapping[str, BolWeek], ids: list[str]
) -> tuple[dict[str, TrackWeek], dict[str, dict[IsoWeek, WeekVerdict]]]:
    """Our strikes folded from each seller's first week (``strikes-22w``), with the
    verdicts of the period, for sellers without stored states; one seller at a time."""
    counted = strikes_policy(policy)
    tracks: dict[str, TrackWeek] = {}
    verdicts: dict[str, dict[IsoWeek, WeekVerdict]] = {}
    by_end: dict[IsoWeek, list[str]] = {}
    for sid in ids:
        by_end.setdefault(_period(policy, bol[sid])[1], []).append(sid)
    for end, members in sorted(by_end.items()):
        async for history in store.data.windows(members, end, {}, end):
            judged = verdict_history(counted, history, end)
            folded = fold_track(
                counted,
                [WeekInput(v.week, v.failing) for v in judged],
                history.plan_events,
                history.reopens,
            )
            if folded:
                tracks[history.seller_id] = folded[-1]
            verdicts[history.seller_id] = {v.week: v for v in judged}
    return tracks, verdicts


async def _judged(
    store: Store, policy: Policy, weeks: Mapping[str, list[IsoWeek]]
) -> dict[str, dict[IsoWeek, WeekVerdict]]:
    """The verdicts of these sellers' weeks (those that differ), judged from the data."""
    out: dict[str, dict[IsoWeek, WeekVerdict]] = {}
    if not weeks:
        return out
    last = max(max(listed) for listed in weeks.values())
    since = {sid: dict.fromkeys(INDICATORS, min(listed)) for sid, listed in weeks.items()}
    async for history in store.data.windows(sorted(weeks), last, since, last):
        sid = history.seller_id
        out[sid] = {
            w: judge_week(policy, sid, w, history.measurements.get(w, {}), history.exemptions)
            for w in weeks[sid]
        }
    return out


async def compare_with_derivation(
    store: Store, policy: Policy, bol: Mapping[str, BolWeek]
) -> dict[str, StrikeComparison]:
    """bol.com's strikes beside our derivation as of bol.com's last monitored week, per
    seller whose snapshot has strikes (none in GroeiStart: it has no strikes yet)."""
    counted = {
        sid: bw
        for sid, bw in bol.items()
        if bw.current.strikes is not None and not bw.current.groeistart
    }
    derived, unstored = await _from_states(store, policy, counted)
    folded, verdicts = await _folded(store, policy, counted, unstored)
    derived |= folded
    out: dict[str, StrikeComparison] = {}
    for sid, bw in counted.items():
        comparison = compare_strikes(bw.current, derived.get(sid), verdicts.get(sid, {}))
        if comparison is not None:
            out[sid] = comparison
    # The weeks that differ are judged again, to say why (those folded already were).
    differing = {
        sid: [d.week for d in c.differences]
        for sid, c in out.items()
        if c.differences and sid not in verdicts
    }
    for sid, judged in (await _judged(store, policy, differing)).items():
        comparison = compare_strikes(counted[sid].current, derived.get(sid), judged)
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
    compared = await compare_with_derivation(store, policy, bol)
    differing = {sid: c for sid, c in compared.items() if not c.agree}
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
