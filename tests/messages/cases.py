"""Every message kind with the data it is rendered from: the cases the golden files pin."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import replace
from datetime import datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from bot.ingest.cells import disagreement, numerator_above, unknown_indicator
from bot.ingest.rows import EMPTY_FILE, Issue
from bot.store.records import ExemptionRecord
from messages import Cause, SellerRef
from messages.reasons import N_, Reason
from norms import Exemption, Indicator, IsoWeek
from norms.bol import (
    MethodScore,
    PerformanceStatus,
    QualityKpi,
    QualityScore,
    Strikes,
    StrikeWeek,
    Violation,
)
from norms.bolnews import changes, compare_strikes
from norms.report import verdict_history
from tests.messages.stories import STORIES, WEEK

# Kinds that tell about one seller's week, rendered for every story.
REPORT_KINDS = ("alerts", "plan_reminder", "score", "goldlabel", "status", "plan", "digest")

SHOP = SellerRef("shop-1", "Koffie & Co")
OTHER = SellerRef("shop-2", "Jan's Klusshop")
DECLARED = datetime(2026, 11, 18, 14, 5, tzinfo=ZoneInfo("Europe/Amsterdam"))
STRIKE = Exemption(
    WEEK,
    "Landelijke staking bij PostNL",
    frozenset({Indicator.FULFILMENT}),
    frozenset({"shop-1"}),
)


def report_data(kind: str, story: str) -> dict[str, Any]:
    """The data of a report kind for one story."""
    s = STORIES[story]
    if kind == "digest":
        entry = {"seller": s.seller, "report": s.report(), "previous": s.previous()}
        return {"entries": [entry], "team": False}
    data: dict[str, Any] = {"seller": s.seller, "report": s.report()}
    if kind == "alerts":
        data["source"] = s.source
    if kind == "plan_reminder":
        data["days_since"] = 4
    return data


def team_digest() -> dict[str, Any]:
    entries = [
        {"seller": s.seller, "report": s.report(), "previous": s.previous()}
        for s in STORIES.values()
    ]
    return {"entries": entries, "team": True}


def correction(
    story: str, sent: list[str], steps: dict[str, int], cause: Cause | None
) -> tuple[str, Mapping[str, Any]]:
    """A correction of the story's week: what was told before, and why it changed."""
    report = STORIES[story].report()
    data = {
        "seller": SHOP,
        "week": WEEK,
        "sent": sent,
        "sent_steps": steps,
        "now": list(report.alerts),
        "report": report,
        "cause": cause,
    }
    return "correction", data


# Figures two weeks older than the last complete week.
STALE = [WEEK.shift(1), WEEK.shift(2)]

OTHER_CASES: dict[str, tuple[str, Mapping[str, Any]]] = {
    # An exemption for the week takes its warning and notice back.
    "correction__withdrawn": correction(
        "small", ["warning", "norm_notice"], {"warning": 1}, Cause("exemption", WEEK)
    ),
    # The week before's figures came in late: warning 1 becomes warning 2.
    "correction__changed": correction(
        "warning2", ["warning"], {"warning": 1}, Cause("figures", WEEK.shift(-1), "upload")
    ),
    # bol.com corrected the week itself, under the strikes policy.
    "correction__corrected": correction(
        "strikes", ["warning"], {"warning": 4}, Cause("figures", WEEK, "bol.com")
    ),
    "correction__exemption_removed": correction(
        "suspension", ["warning"], {"warning": 4}, Cause("exemption_removed", WEEK.shift(-3))
    ),
    "correction__reopen": correction(
        "notice", ["closure"], {"closure": 7}, Cause("reopen", WEEK.shift(-2))
    ),
    "correction__plan": correction(
        "lastwarning", ["suspension"], {"suspension": 5}, Cause("plan", WEEK)
    ),
    "correction__figures": correction(
        "warning2", ["warning"], {"warning": 3}, Cause("figures", WEEK)
    ),
    # What a correction planned before its cause was kept says: no cause, no steps.
    "correction__unknown": (
        "correction",
        {"seller": SHOP, "week": WEEK, "sent": ["suspension"], "now": ["warning"]},
    ),
    "plan_done__default": ("plan_done", {"seller": SHOP}),
    "plan_not_required__default": ("plan_not_required", {"seller": SHOP}),
    # With the report the message knows the policy's step, and a shop closed for good.
    "plan_not_required__track": (
        "plan_not_required",
        {"seller": SHOP, "report": STORIES["warning2"].report()},
    ),
    "plan_not_required__strikes": (
        "plan_not_required",
        {"seller": SHOP, "report": STORIES["strikes"].report()},
    ),
    "plan_not_required__closed": (
        "plan_not_required",
        {"seller": SHOP, "report": STORIES["closed"].report()},
    ),
    "digest__team": ("digest", team_digest()),
    "digest__empty": ("digest", {"entries": [], "team": True}),
    "history__default": ("history", {"seller": SHOP, "weeks": 12}),
    "history__fewer_stored": ("history", {"seller": SHOP, "weeks": 30, "asked": 500}),
    "history__too_few": ("history", {"seller": SHOP, "weeks": 1, "asked": 2, "low": 2}),
    "help__user": ("help", {"admin": False}),
    "help__admin": ("help", {"admin": True}),
    "sellers__two": ("sellers", {"sellers": [SHOP, OTHER]}),
    "sellers__none": ("sellers", {"sellers": []}),
    "choose_seller__default": ("choose_seller", {"command": "score", "sellers": [SHOP, OTHER]}),
    "language_set__nl": ("language_set", {"language": "nl"}),
    "language_set__en": ("language_set", {"language": "en"}),
    "language_set__fr": ("language_set", {"language": "fr"}),
    "muted__default": ("muted", {}),
    "unmuted__default": ("unmuted", {}),
    "link_ok__default": ("link_ok", {"seller": SHOP}),
    "link_failed__unknown": ("link_failed", {"reason": "unknown"}),
    "link_failed__used": ("link_failed", {"reason": "used"}),
    "link_failed__expired": ("link_failed", {"reason": "expired"}),
    "link_failed__refused": ("link_failed", {"reason": "refused"}),
    "link_wait__default": ("link_wait", {"at": "10:43"}),
    "link_guessing__default": (
        "link_guessing",
        {"destination": "telegram:123456", "attempts": 5, "minutes": 10},
    ),
    "upload_ok__default": (
        "upload_ok",
        {
            "file": "weken_44-46.csv",
            "rows": 48,
            "weeks": [IsoWeek(2026, 44), IsoWeek(2026, 45), IsoWeek(2026, 46)],
            "sellers": [SHOP, OTHER],
        },
    ),
    "upload_ok__one_week": (
        "upload_ok",
        {"file": "shop.json", "rows": 1, "weeks": [IsoWeek(2026, 46)], "sellers": [SHOP]},
    ),
    "upload_ok__status_only": (
        "upload_ok",
        {"file": "status.json", "rows": 0, "statuses": 1, "weeks": [], "sellers": [SHOP]},
    ),
    "upload_ok__figures_and_status": (
        "upload_ok",
        {
            "file": "bol.json",
            "rows": 9,
            "statuses": 1,
            "weeks": [IsoWeek(2026, 46)],
            "sellers": [SHOP],
        },
    ),
    "upload_rejected__default": (
        "upload_rejected",
        {
            "file": "weken.csv",
            "issues": [
                Issue("weken.csv", 3, 5, numerator_above(160, 150)),
                Issue("weken.csv", 7, 2, unknown_indicator("'LEVERTIJD'")),
            ],
            "more": 4,
        },
    ),
    "upload_rejected__spreadsheet": (
        "upload_rejected",
        {
            "file": "weken.xlsx",
            "issues": [
                Issue("weken.xlsx", 4, 6, disagreement("0.95", Decimal("0.95"), 140, 150), True),
                Issue(
                    "weken.xlsx",
                    9,
                    0,
                    Reason(N_("has %(count)s fields; the header has %(width)s"), count=9, width=8),
                    True,
                ),
            ],
            "more": 0,
        },
    ),
    "upload_rejected__all_listed": (
        "upload_rejected",
        {"file": "leeg.csv", "issues": [Issue("leeg.csv", 0, 0, EMPTY_FILE)], "more": 0},
    ),
    "who_are_you__default": ("who_are_you", {}),
    "unknown_seller__default": ("unknown_seller", {"query": "koffie"}),
    "unknown_command__default": ("unknown_command", {"command": "/scroe"}),
    "no_data__default": ("no_data", {"seller": SHOP}),
    "no_data__connected": ("no_data", {"seller": SHOP, "connected": True}),
    "not_admin__default": ("not_admin", {}),
    "data_missing__default": ("data_missing", {"week": WEEK, "sellers": [SHOP, OTHER]}),
    "figures_missing__default": ("figures_missing", {"week": WEEK, "seller": SHOP}),
    "destination_inactive__default": (
        "destination_inactive",
        {"destination": "telegram:123456", "reason": "the bot was blocked by the user"},
    ),
    "connect_prompt_id__default": ("connect_prompt_id", {}),
    "connect_prompt_secret__default": ("connect_prompt_secret", {}),
    "connect_ok__default": ("connect_ok", {"seller": SHOP}),
    "connect_failed__default": ("connect_failed", {"reason": "bad_credentials"}),
    "connect_failed__unknown": ("connect_failed", {"reason": "401 Unauthorized"}),
    "connect_failed__console": ("connect_failed", {"reason": "console"}),
    "connect_failed__not_configured": ("connect_failed", {"reason": "not_configured"}),
    "connect_failed__unreachable": ("connect_failed", {"reason": "unreachable"}),
    "connect_failed__private_only": ("connect_failed", {"reason": "private_only"}),
    "poll_failed__default": ("poll_failed", {"seller": SHOP, "reason": "rate_limited"}),
    "link_code__default": ("link_code", {"seller": SHOP, "passcode": "K7PX2M9QRT", "days": 7}),
    "exempt_ok__one_norm": ("exempt_ok", {"exemption": STRIKE}),
    "exempt_ok__everything": (
        "exempt_ok",
        {"exemption": Exemption(WEEK, "Storing bij bol.com")},
    ),
    "exempt_list__two": (
        "exempt_list",
        {
            "exemptions": [
                ExemptionRecord(3, STRIKE, "telegram:1001", DECLARED),
                ExemptionRecord(4, Exemption(WEEK, "Storing"), "", DECLARED),
            ]
        },
    ),
    "exempt_confirm__everything": (
        "exempt_confirm",
        {"exemption": Exemption(WEEK, "Storing bij bol.com"), "token": "5e1f09ab"},
    ),
    "exempt_confirm__all_sellers": (
        "exempt_confirm",
        {"exemption": Exemption(WEEK, "Staking", frozenset({Indicator.FULFILMENT})), "token": "x"},
    ),
    "exempt_removed__default": (
        "exempt_removed",
        {"record": ExemptionRecord(3, STRIKE, "operator", DECLARED)},
    ),
    "confirm_button__default": ("confirm_button", {}),
    "console_welcome__default": (
        "console_welcome",
        {
            "sellers": ["boekenhoek", "zonnig-wonen"],
            "database": "/srv/normwacht/data/demo.sqlite3",
            "loaded": True,
        },
    ),
    "console_welcome__kept": (
        "console_welcome",
        {
            "sellers": ["boekenhoek", "zonnig-wonen"],
            "database": "/srv/normwacht/data/demo.sqlite3",
            "loaded": False,
        },
    ),
    **{
        f"{kind}__stale": (kind, {**report_data(kind, "warning2"), "missing": STALE})
        for kind in ("score", "status", "goldlabel")
    },
    # A seller whose figures come from bol.com is not told to connect.
    "status__stale_connected": (
        "status",
        {**report_data("status", "warning2"), "missing": STALE, "connected": True},
    ),
    "overview__team": (
        "overview",
        {
            "command": "status",
            "entries": [
                {"seller": s.seller, "report": s.report(), "missing": STALE[:1] if n == 2 else []}
                for n, s in enumerate(STORIES.values())
            ],
        },
    ),
    "overview__scores": (
        "overview",
        {
            "command": "score",
            "entries": [
                {"seller": s.seller, "report": s.report(), "missing": STALE[:1] if n == 2 else []}
                for n, s in enumerate(STORIES.values())
            ],
        },
    ),
    # A seller whose figures come from bol.com: no advice to connect, stale or empty.
    "digest__connected": (
        "digest",
        {
            "entries": [
                {
                    **report_data("digest", "nodata")["entries"][0],
                    "missing": STALE,
                    "connected": True,
                }
            ],
            "team": False,
        },
    ),
    "digest__stale": (
        "digest",
        {
            "entries": [{**report_data("digest", "warning2")["entries"][0], "missing": STALE}],
            "team": False,
        },
    ),
    **{
        f"bad_argument__{case}": ("bad_argument", {"problem": case.split("__")[0], **data})
        for case, data in (
            ("language", {"given": "de"}),
            ("language_missing", {}),
            ("digest_time", {"given": "zondag 8 uur"}),
            ("digest_day", {"given": "zondagavond"}),
            ("digest_hour", {"given": "25"}),
            ("digest_hour_missing", {"given": "zondag"}),
            ("week", {"given": "2026-46"}),
            ("week_future", {"given": "2026-W52"}),
            ("reason_missing", {"given": "2026-W46"}),
            ("unknown_indicator", {"given": "FULFILLMENT", "suggestion": "FULFILMENT"}),
            ("unknown_indicator__far", {"given": "LEVER_TIJD", "suggestion": None}),
            ("linkcode_seller", {}),
            ("history_weeks", {"given": "0", "low": 2, "high": 520}),
            ("history_weeks__one", {"given": "1", "low": 2, "high": 520}),
            ("exempt_id", {"given": "x"}),
            ("exempt_not_found", {"given": "7"}),
            ("exempt_exists", {"given": "3"}),
            ("nothing_to_confirm", {}),
        )
    },
    "exempt_list__none": ("exempt_list", {"exemptions": []}),
    "digest_time_set__friday": ("digest_time_set", {"day": 5, "hour": 7}),
    "slow_down__default": ("slow_down", {"per_minute": 20}),
    "try_again_later__default": ("try_again_later", {}),
    "provisional__default": (
        "provisional",
        {
            "seller": SHOP,
            "week": WEEK.shift(1),
            "failing": [
                STORIES["warning2"].report().indicators[i]
                for i in STORIES["warning2"].report().verdict.failed_escalating
            ],
        },
    ),
}


# bol.com's own verdict for the strikes story's seller: the snapshot before, and this one.
AMS = ZoneInfo("Europe/Amsterdam")
FETCHED = datetime(2026, 11, 18, 6, 12, tzinfo=AMS)


def _violation(
    vid: str, on: datetime, category: str, sub: str, kind: str, points: int
) -> Violation:
    return Violation(vid, on, category, sub, kind, points)


_OLD = _violation(
    "blue-1001",
    datetime(2026, 6, 2, 10, 0, tzinfo=AMS),
    "FORBIDDEN_ASSORTMENT",
    "MISSING_QUALITY_MARK",
    "POINTS_DEDUCTION",
    20,
)
_NEW = Violation(
    "blue-2002",
    datetime(2026, 11, 16, 14, 30, tzinfo=AMS),
    "PRODUCT_SAFETY",
    "Ontbrekende CE-markering",
    "POINTS_DEDUCTION",
    35,
    True,
    50,
)
_OWN = MethodScore(
    "OWN_SHIPPING",
    51,
    0.75,
    (
        QualityKpi("ON_TIME", 0.88, 0.93, "RETAILER"),
        QualityKpi("CANCELLATIONS", 0.031, 0.02, "RETAILER"),
        QualityKpi("RESPONSE_TIME", 0.97, 0.90, "RETAILER"),
        QualityKpi("RETURNS", None, None, "PROPOSITION"),
    ),
)
_VVB = MethodScore("SHIPPING_VIA_BOL", 79, 0.25, (QualityKpi("HANDOVER", 0.96, 0.95, "RETAILER"),))
BOL_BEFORE = PerformanceStatus(
    fetched_at=FETCHED.replace(day=11),
    system="GroeiKracht",
    strikes=Strikes(
        2,
        (StrikeWeek(WEEK.shift(-22), ("FULFILMENT",)), StrikeWeek(WEEK.shift(-9), ("HANDOVER",))),
        WEEK.shift(-22),
        WEEK.shift(-1),
    ),
    points_left=80,
    violations=(_OLD,),
    quality=QualityScore(WEEK.shift(-1), 64, (_OWN, _VVB)),
)
BOL = PerformanceStatus(
    fetched_at=FETCHED,
    system="GroeiKracht",
    strikes=Strikes(
        2,
        (
            StrikeWeek(WEEK.shift(-9), ("HANDOVER",)),
            StrikeWeek(WEEK, ("ON_TIME", "CANCELLATIONS")),
        ),
        WEEK.shift(-21),
        WEEK,
    ),
    points_left=25,
    violations=(_OLD, _NEW),
    quality=QualityScore(WEEK, 58, (_OWN, _VVB)),
)
GROEISTART = PerformanceStatus(fetched_at=FETCHED, system="GroeiStart", points_left=100)
BARE = PerformanceStatus(fetched_at=FETCHED)


def _bol(kind: str, story: str, **extra: Any) -> tuple[str, Mapping[str, Any]]:
    return kind, {**report_data(kind, story), **extra}


def _comparison() -> Any:
    story = STORIES["strikes"]
    report = story.report()
    history = story.history()
    verdicts = {v.week: v for v in verdict_history(report.policy, history, WEEK)}
    return compare_strikes(BOL, report.track, verdicts)


def _told_violation_only() -> Any:
    news = changes(STORIES["notice"].report().policy, BOL, BOL_BEFORE)
    return replace(
        news,
        new_strikes=(),
        expired_strikes=(),
        points_low=False,
        score_drop=False,
        score_low=False,
    )


BOL_CASES: dict[str, tuple[str, Mapping[str, Any]]] = {
    "alerts__bol": _bol("alerts", "strikes", bol=BOL, bol_previous=BOL_BEFORE),
    "alerts__bol_low": _bol("alerts", "notice", bol=BOL, bol_previous=BOL),
    "alerts__groeistart": _bol("alerts", "small", bol=GROEISTART),
    "status__bol": _bol("status", "strikes", bol=BOL, bol_previous=BOL_BEFORE),
    "status__groeistart": _bol("status", "small", bol=GROEISTART),
    "digest__bol": (
        "digest",
        {
            "entries": [
                {
                    **report_data("digest", "strikes")["entries"][0],
                    "bol": BOL,
                    "bol_previous": BOL_BEFORE,
                }
            ],
            "team": False,
        },
    ),
    "quality__default": ("quality", {"seller": SHOP, "bol": BOL, "bol_previous": BOL_BEFORE}),
    "quality__none": ("quality", {"seller": SHOP, "bol": BARE}),
    "policy__default": ("policy", {"seller": SHOP, "bol": BOL, "bol_previous": BOL_BEFORE}),
    "policy__none": ("policy", {"seller": SHOP, "bol": BARE}),
    # No points left: bol.com closes the account for good.
    "alerts__points_zero": _bol(
        "alerts",
        "notice",
        bol=PerformanceStatus(FETCHED, points_left=0, violations=(_OLD, _NEW)),
        bol_previous=PerformanceStatus(FETCHED.replace(day=11), points_left=35, violations=(_OLD,)),
    ),
    "policy__clean": (
        "policy",
        {"seller": SHOP, "bol": PerformanceStatus(FETCHED, points_left=100, violations=())},
    ),
    "bol_disagreement__default": (
        "bol_disagreement",
        {"seller": STORIES["strikes"].seller, "bol": BOL, "comparison": _comparison()},
    ),
    # A seller without weekly figures yet, whose bol.com verdict is known (GroeiStart).
    "no_data__bol": ("no_data", {"seller": SHOP, "bol": GROEISTART}),
    # /history quality: the chart of bol.com's quality score, and too few weeks for one.
    "history__quality": (
        "history",
        {"seller": SHOP, "weeks": 8, "asked": 12, "quality": True, "bol": BOL},
    ),
    "history__quality_too_few": (
        "history",
        {"seller": SHOP, "weeks": 1, "asked": 12, "quality": True, "bol": BOL, "low": 2},
    ),
    # A later message of the week tells only the news not told before: here the violation.
    "alerts__bol_part": (
        "alerts",
        {
            "seller": STORIES["notice"].seller,
            "report": replace(STORIES["notice"].report(), alerts=()),
            "source": "bol.com",
            "bol": BOL,
            "bol_previous": BOL_BEFORE,
            "bol_news": _told_violation_only(),
        },
    ),
}
OTHER_CASES.update(BOL_CASES)
OTHER_CASES.update(
    {
        # No snapshot of the seller: said plainly, with how one comes in; nothing claimed.
        "no_bol_status__quality": ("no_bol_status", {"seller": SHOP, "command": "quality"}),
        "no_bol_status__policy_connected": (
            "no_bol_status",
            {"seller": SHOP, "command": "policy", "connected": True},
        ),
        # /history points at the quality chart where bol.com has sent scores.
        "history__quality_hint": (
            "history",
            {"seller": SHOP, "weeks": 12, "quality_chart": True},
        ),
    }
)


def all_cases() -> Iterator[tuple[str, str, Mapping[str, Any]]]:
    """(case name, kind, data) for every golden case: report kinds for every story, then
    the other kinds."""
    for kind in REPORT_KINDS:
        for story in STORIES:
            yield f"{kind}__{story}", kind, report_data(kind, story)
    for name, (kind, data) in OTHER_CASES.items():
        yield name, kind, data
