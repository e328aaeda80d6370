"""Performance scores: the pooled 6-week score bol.com shows for the escalating norms."""

from __future__ import annotations

from collections.abc import Mapping

from norms.model import Indicator, Measurement
from norms.weeks import IsoWeek

POOLED: tuple[Indicator, ...] = (
    Indicator.FULFILMENT,
    Indicator.CANCELLATIONS,
    Indicator.RESPONSE_TIME,
)


def pooled_score(
    measurements: Mapping[IsoWeek, Mapping[Indicator, Measurement]],
    indicator: Indicator,
    week: IsoWeek,
    window: int,
) -> float | None:
    """Sum of numerators over sum of denominators for the ``window`` weeks up to ``week``.

    Weeks with a zero denominator or without counts carry no data; ``None`` when none has.
    """
    numerator = denominator = 0
    for offset in range(window):
        m = measurements.get(week.shift(-offset), {}).get(indicator)
        if m is None or m.numerator is None or not m.denominator:
            continue
        numerator += m.numerator
        denominator += m.denominator
    return numerator / denominator if denominator else None
