"""The bodies of the fake bol.com's Retailer API v11, as the OpenAPI document (Retailers API
11.1.0) describes them: field names, required parts, optional parts left out when a test
leaves them out."""

from __future__ import annotations

from typing import Any

JSON = dict[str, Any]

V11_MEDIA_TYPE = "application/vnd.retailer.v11+json"
V11_SCOPE = "retailer-info.read"
KPI_PATH = "/retailer/retailers/kpi-scores"
STATUS_PATH = "/retailer/retailers/performance-status"
RATINGS_PATH = "/retailer/retailers/current/ratings"
V11_PATHS = (KPI_PATH, STATUS_PATH, RATINGS_PATH)
# The limits market research reports, per client and endpoint, a minute.
V11_LIMITS = {KPI_PATH: 20, STATUS_PATH: 10, RATINGS_PATH: 120}
KPIS = (
    "CANCELLATIONS",
    "CASE_ITEM_RATIO",
    "FULFILMENT",
    "HANDOVER",
    "ON_TIME",
    "RESPONSE_TIME",
    "RETURNS",
    "REVIEWS",
    "TRACK_AND_TRACE",
)
# Every v11 KPI has a norm (required): (type, condition, value). CASE_ITEM_RATIO and RETURNS
# are personal (DYNAMIC); the fake gives them a typical value unless a test sets one.
V11_NORMS: dict[str, tuple[str, str, float]] = {
    "CANCELLATIONS": ("FIXED", "lte", 0.02),
    "CASE_ITEM_RATIO": ("DYNAMIC", "lte", 0.05),
    "FULFILMENT": ("FIXED", "gte", 0.93),
    "HANDOVER": ("FIXED", "gte", 0.95),
    "ON_TIME": ("FIXED", "gte", 0.93),
    "RESPONSE_TIME": ("FIXED", "gte", 0.90),
    "RETURNS": ("DYNAMIC", "lte", 0.06),
    "REVIEWS": ("FIXED", "gte", 8.0),
    "TRACK_AND_TRACE": ("FIXED", "gte", 1.0),
}


def kpi_body(
    kpi: str,
    week: str,
    *,
    numerator: int | None = None,
    denominator: int | None = None,
    value: float | None = None,
    norm: float | None = None,
    condition: str | None = None,
    norm_type: str | None = None,
    conforms: bool | None = None,
    excluded: bool = False,
) -> JSON:
    """One ``KpiScore``; without figures it has no ``score`` (bol.com's week without data).
    ``value`` defaults to numerator / denominator (REVIEWS: give the average and the
    number of reviews; the numerator is then the sum of the ratings)."""
    if kpi not in KPIS:
        raise ValueError(f"unknown KPI {kpi}")
    kind, said, default = V11_NORMS[kpi]
    norm = default if norm is None else norm
    condition = condition or said
    body: JSON = {"kpi": kpi}
    if denominator is not None:
        if value is None:
            value = (
                round(numerator / denominator, 4) if numerator is not None and denominator else 0
            )
        if numerator is None:
            numerator = round(value * denominator) if kpi == "REVIEWS" else 0
        meets = value >= norm if condition in ("gte", ">=") else value <= norm
        body["score"] = {
            "numerator": numerator,
            "denominator": denominator,
            "value": value,
            "distanceToNorm": round(abs(value - norm), 4),
            "conformsToNorm": meets if conforms is None else conforms,
        }
    body["norm"] = {"type": norm_type or kind, "condition": condition, "value": norm}
    body["period"] = {"id": week, "type": "WEEK"}
    body["excluded"] = excluded
    return body


def ratings_body(
    *,
    rating: float | None = None,
    product_information: float | None = None,
    delivery_time: float | None = None,
    shipping: float | None = None,
    service: float | None = None,
    reviews: int = 0,
    positive: int | None = None,
    neutral: int = 0,
    negative: int = 0,
    top_retailer: bool | None = False,
    method: str = "RECENT_REVIEWS",
) -> JSON:
    """One ``RetailerRatings``; a shop without reviews has no rating yet (null)."""
    aspects = {
        "productInformationRating": product_information,
        "deliveryTimeRating": delivery_time,
        "shippingRating": shipping,
        "serviceRating": service,
    }
    pos = reviews - neutral - negative if positive is None else positive
    return {
        "ratingMethod": method,
        "retailerRating": {"retailerRating": rating, **aspects},
        "retailerReview": {
            "totalReviewCount": reviews,
            "approvalPercentage": round(100 * (pos + neutral) / reviews) if reviews else 0,
            "positiveReviewCount": pos,
            "neutralReviewCount": neutral,
            "negativeReviewCount": negative,
        },
        "isTopRetailer": top_retailer,
    }


def status_body(
    *,
    system: str | None = "GroeiKracht",
    strikes: dict[str, list[str]] | None = None,
    period: tuple[str, str] | None = None,
    points_left: int | None = 100,
    violations: list[JSON] | None = None,
    quality: tuple[str, int] | None = None,
    methods: list[JSON] | None = None,
) -> JSON:
    """One ``PerformanceStatus``: each part only when the test gives it (None leaves it
    out). ``strikes``: week (``2026-40``) -> the KPIs that caused it; ``quality``: (week,
    score) with ``methods`` as ``shippingMethodScores``."""
    body: JSON = {}
    if system is not None:
        monitoring: JSON = {"description": system}
        if strikes is not None:
            start, end = period or ("2026-25", "2026-46")
            monitoring["strike"] = {
                "count": len(strikes),
                "weeks": [{"week": w, "reasons": r} for w, r in sorted(strikes.items())],
                "monitorPeriod": {"startWeek": start, "endWeek": end},
            }
        body["monitoringSystem"] = monitoring
    if points_left is not None:
        body["policy"] = {"pointsLeft": points_left}
        if violations is not None:
            body["policy"]["violations"] = violations
    if quality is not None:
        week, score = quality
        body["qualityScore"] = {
            "yearWeek": week,
            "score": score,
            "shippingMethodScores": methods or [],
        }
    return body


def violation(
    violation_id: str,
    registered: str,
    points: int,
    *,
    category: str = "FORBIDDEN_ASSORTMENT",
    sub_category: str = "MISSING_QUALITY_MARK",
    kind: str = "POINTS_DEDUCTION",
) -> JSON:
    """One ``PolicyViolation``, every required field given."""
    return {
        "violationId": violation_id,
        "registrationDateTime": registered,
        "category": category,
        "subCategory": sub_category,
        "violationType": kind,
        "points": points,
        "isProportionalityApplied": False,
    }
