"""The domain of bol.com's service norms: pure functions over plain data, no I/O.

Read top to bottom: ``weeks`` (ISO weeks), ``model`` (what is measured), ``policy``
(every threshold, as data), ``verdicts`` (a week's pass or fail), ``scores`` (6-week
scores), ``track`` (the escalation ladder as a fold), ``rating`` and ``goldlabel``, and
``report`` (one seller's week, evaluated whole, with the alerts it plans).
"""

from norms.model import (
    ASPECTS,
    INDICATORS,
    Exemption,
    Indicator,
    Measurement,
    PlanEvent,
    Reopen,
    SellerHistory,
    ShopRating,
    Status,
)
from norms.policy import DEFAULT_POLICY, SHIPPED, Policy, PolicyError, load_policy, parse_policy
from norms.report import ALERT_ORDER, URGENT_ALERTS, WeekReport, evaluate_week, fold_history
from norms.weeks import IsoWeek, weeks_in_year

__all__ = [
    "ALERT_ORDER",
    "ASPECTS",
    "DEFAULT_POLICY",
    "INDICATORS",
    "SHIPPED",
    "URGENT_ALERTS",
    "Exemption",
    "Indicator",
    "IsoWeek",
    "Measurement",
    "PlanEvent",
    "Policy",
    "PolicyError",
    "Reopen",
    "SellerHistory",
    "ShopRating",
    "Status",
    "WeekReport",
    "evaluate_week",
    "fold_history",
    "load_policy",
    "parse_policy",
    "weeks_in_year",
]
