"""What a message says about bol.com's own verdict (NORMS.md §9): facts from a snapshot.

No wording here, as in ``facts``: this module picks and computes (the ladder on bol.com's
count, the KPIs that cost the quality score the most, what changed since the snapshot
before), the templates word it per language.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from norms import Policy
from norms.bol import GROEISTART_EVALUATIONS, PerformanceStatus, StrikeWeek, Violation
from norms.bolnews import MethodCost, StatusChanges, StrikeComparison, changes, costliest
from norms.policy import LadderKind
from norms.weeks import IsoWeek


def readable(code: str) -> str:
    """bol.com's free-text category as words: ``FORBIDDEN_ASSORTMENT`` → ``Forbidden
    assortment``; text that is already words is left as sent. Never refused."""
    text = code.strip()
    if not text:
        return "–"
    if text.replace("_", "").replace("-", "").isalnum() and text.upper() == text:
        words = text.replace("_", " ").replace("-", " ").split()
        return " ".join(words).capitalize()
    return text


@dataclass(frozen=True)
class ViolationView:
    """One violation, with its category and sub-category in words."""

    violation: Violation
    category: str
    sub_category: str
    new: bool

    @property
    def points(self) -> int:
        return self.violation.points

    @property
    def kind(self) -> str:
        return self.violation.violation_type

    @property
    def registered(self) -> datetime:
        return self.violation.registered


class BolView:
    """bol.com's latest snapshot for the templates, beside the one before it (optional),
    and what of it is news (default: all that changed since the one before)."""

    def __init__(
        self,
        policy: Policy,
        status: PerformanceStatus,
        previous: PerformanceStatus | None = None,
        comparison: StrikeComparison | None = None,
        news: StatusChanges | None = None,
    ) -> None:
        self.policy = policy
        self.status = status
        self.previous = previous
        self.comparison = comparison
        # What is new since ``previous``; a message that tells only part of it (the rest
        # was told before) is given that part.
        self.news: StatusChanges = news if news is not None else changes(policy, status, previous)
        self.fetched_at = status.fetched_at
        self.system = status.system
        self.groeistart = status.groeistart
        self.evaluations = GROEISTART_EVALUATIONS
        self.closing_step = policy.closing_step
        self.points_left = status.points_left
        self.points_alert = policy.policy_points_alert
        self.quality = status.quality
        self.quality_alert = policy.quality_score_alert
        self.quality_drop = policy.quality_score_drop

    @property
    def strikes_known(self) -> bool:
        return self.status.strikes is not None

    @property
    def count(self) -> int:
        strikes = self.status.strikes
        return strikes.count if strikes is not None else 0

    @property
    def strike_weeks(self) -> tuple[StrikeWeek, ...]:
        strikes = self.status.strikes
        return tuple(sorted(strikes.weeks, key=lambda s: s.week)) if strikes else ()

    @property
    def period(self) -> tuple[IsoWeek, IsoWeek] | None:
        strikes = self.status.strikes
        if strikes is None or strikes.period_start is None or strikes.period_end is None:
            return None
        return strikes.period_start, strikes.period_end

    @property
    def step_kind(self) -> LadderKind | None:
        """What bol.com's count means on the ladder of NORMS.md §4."""
        return self.policy.kind_at(self.count) if self.count else None

    @property
    def next_kind(self) -> LadderKind | None:
        """What one more strike brings; ``None`` once the account is closed."""
        if self.count >= self.closing_step:
            return None
        return self.policy.kind_at(self.count + 1)

    @property
    def new_strikes(self) -> tuple[StrikeWeek, ...]:
        return self.news.new_strikes

    @property
    def expired_strikes(self) -> tuple[IsoWeek, ...]:
        return self.news.expired_strikes

    @property
    def violations(self) -> list[ViolationView]:
        """Every violation bol.com listed, newest first."""
        fresh = {v.violation_id for v in self.news.new_violations}
        return [
            ViolationView(
                v, readable(v.category), readable(v.sub_category), v.violation_id in fresh
            )
            for v in sorted(
                self.status.violations or (),
                key=lambda v: (v.registered, v.violation_id),
                reverse=True,
            )
        ]

    @property
    def new_violations(self) -> list[ViolationView]:
        return [v for v in self.violations if v.new]

    @property
    def violations_known(self) -> bool:
        return self.status.violations is not None

    @property
    def points_low(self) -> bool:
        return self.news.points_low

    @property
    def score_before(self) -> int | None:
        return self.news.score_before

    @property
    def score_change(self) -> int | None:
        return self.news.score_change

    @property
    def costs(self) -> tuple[MethodCost, ...]:
        """Per shipping method, the KPIs that cost the most, worst method first."""
        return costliest(self.quality, self.policy) if self.quality is not None else ()

    @property
    def worst(self) -> MethodCost | None:
        """The shipping method whose KPIs cost the score the most (with a gap), if any."""
        return next((m for m in self.costs if m.gaps), None)

    @property
    def disagrees(self) -> bool:
        return self.comparison is not None and not self.comparison.agree


__all__ = ["BolView", "ViolationView", "readable"]
