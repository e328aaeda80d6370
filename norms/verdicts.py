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
    base = IndicatorVerdict(
        indicator=rule.indicator,
        status=Status.NO_DATA,
        value=value,
        norm=norm,
        condition=condition,
        numerator=measurement.numerator,
        denominator=measurement.denominator,
        conforms=measurement.conforms,
        bad=bad_count(measurement, condition),
    )
    if value is None:
        return base
    if norm is None:
        return _with(base, Status.NO_NORM)
    if meets(value, condition, norm):
        return _with(base, Status.PASS)
    if rule.minimum is not None and base.bad is not None and base.bad < rule.minimum:
        return _with(base, Status.PASS, below_minimum=True)
    if measurement.excluded:
        # bol.com's own exclusion wins, like an operator's exemption (NORMS.md §2).
        return _with(base, Status.EXEMPT, exemption=BOL_EXCLUDED, excluded_by_bol=True)
    if exemption is not None:
        return _with(base, Status.EXEMPT, exemption=exemption.reason)
    return _with(base, Status.FAIL)


def _with(
    base: IndicatorVerdict,
    status: Status,
    *,
    below_minimum: bool = False,
    exemption: str | None = None,
    excluded_by_bol: bool = False,
) -> IndicatorVerdict:
    return IndicatorVerdict(
        indicator=base.indicator,
        status=status,
        value=base.value,
        norm=base.norm,
        condition=base.condition,
        numerator=base.numerator,
        denominator=base.denominator,
        conforms=base.conforms,
        bad=base.bad,
        below_minimum=below_minimum,
        exemption=exemption,
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
        exemption = next((e for e in exemptions if e.covers(seller_id, indicator, week)), None)
        verdicts[indicator] = judge_indicator(
            policy.rules[indicator], measurements.get(indicator), exemption
        )
    has_data = any(v.status is not Status.NO_DATA for v in verdicts.values())
    return WeekVerdict(week, verdicts, policy.escalating, has_data)
