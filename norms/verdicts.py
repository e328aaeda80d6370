"""Weekly verdicts: does each indicator meet its norm this week?"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from norms.model import (
    BOL_EXCLUDED,
    INDICATORS,
    Condition,
    Exemption,
    Indicator,
    Measurement,
    Status,
)
from norms.policy import IndicatorRule, Policy
from norms.weeks import IsoWeek

# Values are fractions computed by division; this absorbs float noise, never a real miss.
_EPSILON = 1e-9


def meets(value: float, condition: Condition, norm: float) -> bool:
    """Whether ``value`` meets ``norm`` under ``condition``; exactly at the norm passes."""
    if condition == ">=":
        return value >= norm - _EPSILON
    return value <= norm + _EPSILON


def bad_count(measurement: Measurement, condition: Condition) -> int | None:
    """Items that went wrong (late, cancelled, unanswered): the quantity the minimum counts."""
    if measurement.numerator is None or measurement.denominator is None:
        return None
    if condition == ">=":
        return measurement.denominator - measurement.numerator
    return measurement.numerator


@dataclass(frozen=True, slots=True)
class IndicatorVerdict:
    """One indicator's verdict for one week, with the figures behind it."""

    indicator: Indicator
    status: Status
    value: float | None
    norm: float | None
    condition: Condition
    numerator: int | None
    denominator: int | None
    conforms: bool | None = None
    bad: int | None = None
    below_minimum: bool = False
    exemption: str | None = None
    # Exempt because bol.com itself excluded the week (v11 ``excluded``), not an operator.
    excluded_by_bol: bool = False

    @property
    def counts_given(self) -> bool:
        return self.numerator is not None and self.denominator is not None

    @property
    def missed(self) -> bool:
        """The value does not meet the norm (whether or not the week fails for it)."""
        return self.status in (Status.FAIL, Status.EXEMPT) or self.below_minimum


@dataclass(frozen=True, slots=True)
class WeekVerdict:
    """All verdicts of one seller's week and whether it is a failing week."""

    week: IsoWeek
    indicators: dict[Indicator, IndicatorVerdict]
    escalating: tuple[Indicator, ...]
    has_data: bool

    @property
    def failed_escalating(self) -> tuple[Indicator, ...]:
        return tuple(i for i in self.escalating if self.indicators[i].status is Status.FAIL)

    @property
    def failing(self) -> bool:
        """A failing week: at least one escalating indicator fails and is not exempt."""
        return bool(self.failed_escalating)

    @property
    def failed_other(self) -> tuple[Indicator, ...]:
        return tuple(
            i
            for i in INDICATORS
            if i not in self.escalating and self.indicators[i].status is Status.FAIL
        )


def judge_indicator(
    rule: IndicatorRule,
    measurement: Measurement | None,
    exemption: Exemption | None = None,
) -> IndicatorVerdict:
    """The verdict for one indicator in one week under ``rule``."""
    if measurement is None:
        return IndicatorVerdict(
            rule.indicator, Status.NO_DATA, None, rule.norm, rule.condition, None, None
        )
    condition: Condition = measurement.condition or rule.condition
    # The norm bol.com sent with the data wins over the policy default.
    norm = measurement.norm if measurement.norm is not None else rule.norm
    value = measurement.effective_value
    bad = bad_count(measurement, condition)
    below_minimum = excluded_by_bol = False
    reason: str | None = None
    if value is None:
        status = Status.NO_DATA
    elif norm is None:
        status = Status.NO_NORM
    elif meets(value, condition, norm):
        status = Status.PASS
    elif rule.minimum is not None and bad is not None and bad < rule.minimum:
        status, below_minimum = Status.PASS, True
    elif measurement.excluded:
        # bol.com's own exclusion wins, like an operator's exemption (NORMS.md §2).
        status, reason, excluded_by_bol = Status.EXEMPT, BOL_EXCLUDED, True
    elif exemption is not None:
        status, reason = Status.EXEMPT, exemption.reason
    else:
        status = Status.FAIL
    # One verdict made once: this runs for every indicator of every seller's week.
    return IndicatorVerdict(
        indicator=rule.indicator,
        status=status,
        value=value,
        norm=norm,
        condition=condition,
        numerator=measurement.numerator,
        denominator=measurement.denominator,
        conforms=measurement.conforms,
        bad=bad,
        below_minimum=below_minimum,
        exemption=reason,
        excluded_by_bol=excluded_by_bol,
    )


def judge_week(
    policy: Policy,
    seller_id: str,
    week: IsoWeek,
    measurements: dict[Indicator, Measurement],
    exemptions: Iterable[Exemption] = (),
) -> WeekVerdict:
    """Verdicts for all indicators of ``seller_id`` in ``week``."""
    exemptions = tuple(exemptions)
    verdicts: dict[Indicator, IndicatorVerdict] = {}
    for indicator in INDICATORS:
        exemption = (
            next((e for e in exemptions if e.covers(seller_id, indicator, week)), None)
            if exemptions
            else None
        )
        verdicts[indicator] = judge_indicator(
            policy.rules[indicator], measurements.get(indicator), exemption
        )
    has_data = any(v.status is not Status.NO_DATA for v in verdicts.values())
    return WeekVerdict(week, verdicts, policy.escalating, has_data)
