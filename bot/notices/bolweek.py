"""bol.com's own verdict in a seller's week (NORMS.md §9): which snapshot a week's check
reads, what news it tells, and the alert sections that news claims.

A snapshot belongs to the last week finished when it was fetched (a poll on Wednesday of
week 47 tells about week 46). Its news is what it says that the newest snapshot fetched
*before its own fetch week* did not: two polls in one week (or an upload beside a poll)
add up to one week's news instead of the second hiding the first. A week's check tells
that news in the week's one alert message; an older week rechecked never gets it. No
snapshot for the week, no claim.

Each piece of news is a section of its own, keyed by what it is about (a strike week, a
violation id, a quality week), so that it is told once per chat however often the week
is checked again, and a later snapshot never makes a section already told look
withdrawn: bol.com's news was true as fetched, and the next snapshot's news (a strike
that expired, points that came back) tells what changed since.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, time, timedelta
from typing import cast
from zoneinfo import ZoneInfo

from bot.store import Store
from norms import ALERT_ORDER, URGENT_ALERTS, IsoWeek, Policy, WeekReport
from norms.bol import PerformanceStatus
from norms.bolnews import BOL_ALERTS, StatusChanges, changes, merge_alerts
from norms.report import Alert

# NORMS.md §1: weeks are Amsterdam's unless the operator's configuration says otherwise.
WEEKS_ZONE = ZoneInfo("Europe/Amsterdam")

# The sections of our own derivation: only these are ever withdrawn by a correction.
DERIVED_ALERTS: frozenset[str] = frozenset(ALERT_ORDER) - frozenset(BOL_ALERTS)

# The ladder kinds that make a bol.com strike urgent (its count 5–7 by default).
_URGENT_LADDER = frozenset({"suspension", "last_warning", "closure"})

# Sections about one piece of news: told once per chat over all weeks, not once per week.
_ONCE = ("bol_strike@", "bol_strike_expired@", "policy_violation@", "quality_score_drop@")

_TOKEN = re.compile(r"[^A-Za-z0-9._:-]")


def kind_of(section: str) -> str:
    """The alert kind of a section id (``bol_strike@2026-W46`` → ``bol_strike``)."""
    return section.partition("@")[0]


def violation_token(violation_id: str) -> str:
    """A violation id as a section id may hold it: no ``,`` (the outbox lists sections
    with it) nor ``+`` (dedup keys join with it); a long or odd id by its digest."""
    token = _TOKEN.sub("_", violation_id)
    if len(token) > 64 or not token:
        return hashlib.sha256(violation_id.encode()).hexdigest()[:32]
    return token


def fetch_week(status: PerformanceStatus, timezone: ZoneInfo) -> IsoWeek:
    """The week in which the snapshot was fetched."""
    return IsoWeek.containing(status.fetched_at, timezone)


def week_start(week: IsoWeek, timezone: ZoneInfo) -> datetime:
    """Monday 00:00 of ``week`` in ``timezone``."""
    return datetime.combine(week.monday, time(), timezone)


_JUST_BEFORE = timedelta(microseconds=1)  # the store keeps fetch times to the microsecond


@dataclass(frozen=True, slots=True)
class BolWeek:
    """bol.com's verdict for one seller's week: the newest snapshot fetched in the week
    after it, the one it is compared with, what is new, and which kinds are urgent."""

    week: IsoWeek
    current: PerformanceStatus
    baseline: PerformanceStatus | None
    news: StatusChanges
    urgent: frozenset[str]

    def sections(self) -> dict[str, str]:
        """The news as section ids (what it is about) and their alert kinds."""
        n = self.news
        out: dict[str, str] = {}
        for strike in n.new_strikes:
            out[f"bol_strike@{strike.week}"] = "bol_strike"
        for week in n.expired_strikes:
            out[f"bol_strike_expired@{week}"] = "bol_strike_expired"
        for violation in n.new_violations:
            out[f"policy_violation@{violation_token(violation.violation_id)}"] = "policy_violation"
        if n.points_low:
            out["policy_points_low"] = "policy_points_low"
        if n.score_drop and self.current.quality is not None:
            out[f"quality_score_drop@{self.current.quality.week}"] = "quality_score_drop"
        if n.score_low:
            out["quality_score_low"] = "quality_score_low"
        if n.groeistart_news:
            out["groeistart"] = "groeistart"
        return out

    def told_once(self) -> list[str]:
        """The section ids told once per chat over all weeks."""
        return [s for s in self.sections() if s.startswith(_ONCE)]

    def telling(self, section_ids: Iterable[str]) -> StatusChanges:
        """The news cut down to the sections of ``section_ids``: what one message tells."""
        ids = set(section_ids)
        n = self.news
        drop = f"quality_score_drop@{self.current.quality.week}" if self.current.quality else None
        return replace(
            n,
            new_strikes=tuple(s for s in n.new_strikes if f"bol_strike@{s.week}" in ids),
            expired_strikes=tuple(w for w in n.expired_strikes if f"bol_strike_expired@{w}" in ids),
            new_violations=tuple(
                v
                for v in n.new_violations
                if f"policy_violation@{violation_token(v.violation_id)}" in ids
            ),
            points_low=n.points_low and "policy_points_low" in ids,
            score_drop=n.score_drop and drop in ids,
            score_low=n.score_low and "quality_score_low" in ids,
            groeistart_news=n.groeistart_news and "groeistart" in ids,
        )


def bol_week(
    policy: Policy, week: IsoWeek, current: PerformanceStatus, baseline: PerformanceStatus | None
) -> BolWeek:
    """``current`` (a snapshot of ``week``) against ``baseline``, as a week's check reads it."""
    news = changes(policy, current, baseline)
    urgent: set[str] = set()
    strikes = current.strikes
    if strikes is not None and strikes.count and policy.kind_at(strikes.count) in _URGENT_LADDER:
        urgent.add("bol_strike")
    if current.points_left == 0:
        # No points left: bol.com closes the account for good.
        urgent |= {"policy_points_low", "policy_violation"}
    return BolWeek(week, current, baseline, news, frozenset(urgent))


def local(status: PerformanceStatus, timezone: ZoneInfo) -> PerformanceStatus:
    """The snapshot with its moments (fetched, each violation registered) on the clock of
    ``timezone``, as messages show them: the store gives them back in UTC."""
    violations = status.violations
    if violations is not None:
        violations = tuple(
            replace(v, registered=v.registered.astimezone(timezone)) for v in violations
        )
    return replace(status, fetched_at=status.fetched_at.astimezone(timezone), violations=violations)


async def snapshot_pairs(
    store: Store, seller_ids: Sequence[str], *, at: datetime, timezone: ZoneInfo
) -> dict[str, tuple[PerformanceStatus, PerformanceStatus | None]]:
    """Each seller's newest snapshot fetched no later than ``at``, and the newest fetched
    before that one's fetch week began (None: there is none); sellers without a snapshot
    are absent."""
    if not seller_ids:
        return {}
    current = {
        sid: local(status, timezone)
        for sid, status in (await store.bol_statuses.latest(seller_ids, at=at)).items()
    }
    by_week: dict[IsoWeek, list[str]] = {}
    for sid, status in current.items():
        by_week.setdefault(fetch_week(status, timezone), []).append(sid)
    out: dict[str, tuple[PerformanceStatus, PerformanceStatus | None]] = {}
    for fetched_in, ids in sorted(by_week.items()):
        start = week_start(fetched_in, timezone)
        before = await store.bol_statuses.latest(ids, at=start - _JUST_BEFORE)
        for sid in ids:
            earlier = before.get(sid)
            out[sid] = (current[sid], None if earlier is None else local(earlier, timezone))
    return out


async def bol_weeks(
    store: Store,
    policy: Policy,
    seller_ids: Sequence[str],
    week: IsoWeek,
    *,
    now: datetime,
    timezone: ZoneInfo = WEEKS_ZONE,
) -> dict[str, BolWeek]:
    """bol.com's verdict for ``week`` per seller that has a snapshot of it: fetched in the
    week after ``week`` and no later than ``now``."""
    fetched_in = week.shift(1)
    start = week_start(fetched_in, timezone)
    until = min(now, week_start(fetched_in.shift(1), timezone) - _JUST_BEFORE)
    if until < start:
        return {}
    pairs = await snapshot_pairs(store, seller_ids, at=until, timezone=timezone)
    return {
        sid: bol_week(policy, week, current, baseline)
        for sid, (current, baseline) in pairs.items()
        if current.fetched_at >= start
    }


def week_sections(derived: Mapping[str, str], bol: BolWeek | None) -> dict[str, str]:
    """A week's alert sections with bol.com's news in them (``norms.bolnews.merge_alerts``
    decides the kinds: bol.com's strikes stand in for our ladder where it sent them, none
    for a seller in GroeiStart), in the order of the message."""
    if bol is None:
        return dict(derived)
    kinds = set(merge_alerts(tuple(derived.values()), bol.news, ALERT_ORDER))
    merged = {s: a for s, a in derived.items() if a in kinds}
    merged |= {s: a for s, a in bol.sections().items() if a in kinds}
    order: dict[str, int] = {a: i for i, a in enumerate(ALERT_ORDER)}
    return dict(sorted(merged.items(), key=lambda item: (order[item[1]], item[0])))


def urgent_sections(sections: Mapping[str, str], bol: BolWeek | None) -> set[str]:
    """The sections that reach a muted chat, and in quiet hours: closure, suspension, last
    warning, a critical rating; bol.com's strike at its count 5–7 (the ladder's closures),
    and no policy points left."""
    urgent = set(URGENT_ALERTS) | (set(bol.urgent) if bol is not None else set())
    return {s for s, a in sections.items() if a in urgent}


def withdrawn_sections(sent: Iterable[str], derived: Mapping[str, str]) -> set[str]:
    """Sections told that our derivation no longer holds. Only our own can be withdrawn:
    bol.com's news was true as fetched (what changed since is the next snapshot's news),
    and a derived section bol.com's own figure stands in for is not wrong, only outranked."""
    return {s for s in sent if kind_of(s) in DERIVED_ALERTS and s not in derived}


def with_bol_alerts(report: WeekReport, bol: BolWeek | None) -> WeekReport:
    """The report with the alerts its week plans, bol.com's among them: what ``check
    --json`` lists in ``alerts``."""
    if bol is None:
        return report
    kinds = merge_alerts(report.alerts, bol.news, ALERT_ORDER)
    return replace(report, alerts=cast("tuple[Alert, ...]", kinds))


__all__ = [
    "DERIVED_ALERTS",
    "WEEKS_ZONE",
    "BolWeek",
    "bol_week",
    "bol_weeks",
    "fetch_week",
    "kind_of",
    "local",
    "snapshot_pairs",
    "urgent_sections",
    "violation_token",
    "week_sections",
    "week_start",
    "with_bol_alerts",
    "withdrawn_sections",
]
