"""bol.com's own verdict: HANDOVER and ON_TIME, bol.com's exclusion, and the snapshot's
comparison with the derivation, its costliest KPIs and what is new between two."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from norms import Indicator, IsoWeek, Measurement, SellerHistory, Status
from norms.bol import (
    MethodScore,
    PerformanceStatus,
    QualityKpi,
    QualityScore,
    Strikes,
    StrikeWeek,
    Violation,
    bol_week,
)
from norms.bolnews import changes, compare_strikes, costliest
from norms.report import evaluate_week, fold_history, verdict_history
from norms.verdicts import judge_week
from tests.norms.builders import STRIKES, TRACK, F, history, wk
from tests.norms.histories import seller_histories

HO, OT = Indicator.HANDOVER, Indicator.ON_TIME
W = wk("2026-W40")
AT = datetime(2026, 10, 7, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize("policy", [TRACK, STRIKES], ids=lambda p: p.name)
@pytest.mark.parametrize(("indicator", "norm"), [(HO, 0.95), (OT, 0.93)])
def test_handover_and_on_time_escalate_with_a_minimum_of_three(
    policy: object, indicator: Indicator, norm: float
) -> None:
    assert policy is TRACK or policy is STRIKES
    week = judge_week(policy, "s", W, {indicator: Measurement(indicator, W, 55, 60)})
    assert week.indicators[indicator].status is Status.FAIL  # 5 late of 60: 91.7 % < norm
    assert week.indicators[indicator].norm == norm and week.failing
    few = judge_week(policy, "s", W, {indicator: Measurement(indicator, W, 18, 20)})
    assert few.indicators[indicator].below_minimum and not few.failing
    at_norm = judge_week(policy, "s", W, {indicator: Measurement(indicator, W, 93, 100)})
    assert at_norm.failing is (indicator is HO)


def test_a_week_may_hold_fulfilment_handover_and_on_time_and_counts_once() -> None:
    data = {
        F: Measurement(F, W, 90, 100),
        HO: Measurement(HO, W, 90, 100),
        OT: Measurement(OT, W, 100, 100),
    }
    week = judge_week(STRIKES, "s", W, data)
    assert week.failed_escalating == (F, HO)
    report = evaluate_week(STRIKES, history(list(data.values())), W)
    assert report.track is not None and report.track.step == 1
    assert report.to_json()["indicators"]["ON_TIME"]["status"] == "pass"


def test_a_kpi_bol_excluded_is_exempt_with_bol_as_the_reason() -> None:
    m = Measurement(HO, W, 80, 100, excluded=True)
    week = judge_week(STRIKES, "s", W, {HO: m})
    v = week.indicators[HO]
    assert (v.status, v.exemption, v.excluded_by_bol) == (
        Status.EXEMPT,
        "bol.com excluded this week",
        True,
    )
    assert not week.failing
    # Excluded but passing: nothing to exempt.
    ok = judge_week(STRIKES, "s", W, {HO: replace(m, numerator=99)}).indicators[HO]
    assert ok.status is Status.PASS and not ok.excluded_by_bol


def test_bol_weeks_are_read_in_v11_form() -> None:
    assert bol_week("2026-07") == wk("2026-W07")
    assert bol_week("2026-W53") == wk("2026-W53")
    for bad in ("2026-7x", "26-07", "2025-53", "2026/07", ""):
        with pytest.raises(ValueError, match="week"):
            bol_week(bad)


def status(
    strikes: tuple[IsoWeek, ...] | None = None,
    *,
    end: IsoWeek = W,
    count: int | None = None,
    points: int | None = None,
    violations: tuple[Violation, ...] | None = None,
    quality: QualityScore | None = None,
    system: str | None = "GroeiKracht",
    at: datetime = AT,
) -> PerformanceStatus:
    return PerformanceStatus(
        fetched_at=at,
        system=system,
        strikes=None
        if strikes is None
        else Strikes(
            count=len(strikes) if count is None else count,
            weeks=tuple(StrikeWeek(w, ("HANDOVER",)) for w in strikes),
            period_start=end.shift(-21),
            period_end=end,
        ),
        points_left=points,
        violations=violations,
        quality=quality,
    )


@settings(max_examples=60, deadline=None)
@given(seller_histories(), st.data())
def test_bol_agreeing_with_the_derivation_shows_no_difference_and_any_week_off_is_named(
    drawn: tuple[object, int], data: st.DataObject
) -> None:
    h, weeks = drawn
    assert isinstance(h, SellerHistory)
    policy = STRIKES
    last = h.first_week.shift(weeks - 1) if h.first_week else W
    track = fold_history(policy, h, last)
    derived = track[-1] if track else None
    verdicts = {v.week: v for v in verdict_history(policy, h, last)}
    # A closed track keeps its strikes; bol.com's period holds the last 22 weeks only.
    ours = tuple(w for w in (derived.strikes if derived else ()) if w >= last.shift(-21))
    same = compare_strikes(status(ours, end=last), derived, verdicts)
    assert same is not None and same.agree and same.bol_count == len(ours)
    # A week bol.com counts that we do not, and one we count that bol.com does not.
    extra = data.draw(st.integers(0, 21).map(lambda i: last.shift(-i)))
    theirs = tuple(sorted(set(ours) ^ {extra}))
    off = compare_strikes(status(theirs, end=last), derived, verdicts)
    assert off is not None and not off.agree
    assert [(d.week, d.bol) for d in off.differences] == [(extra, extra not in ours)]
    reason = off.differences[0].reason
    if extra not in ours and extra not in verdicts:
        assert reason == "no_figures"
    if extra in ours:
        assert reason in ("bol_excluded", "corrected")
    assert off.bol_count == len(theirs) and off.derived_count == len(ours)


def test_a_strike_for_a_week_without_our_figures_or_exempted_here_says_so() -> None:
    h = history([Measurement(F, W.shift(-1), 80, 100)])
    verdicts = {v.week: v for v in verdict_history(STRIKES, h, W)}
    derived = fold_history(STRIKES, h, W)[-1]
    got = compare_strikes(status((W.shift(-3),), count=1), derived, verdicts)
    assert got is not None
    assert [(d.week, d.bol, d.reason) for d in got.differences] == [
        (W.shift(-3), True, "no_figures"),
        (W.shift(-1), False, "bol_excluded"),
    ]
    assert compare_strikes(status(None), derived, verdicts) is None


def quality(week: IsoWeek, score: int, *methods: MethodScore) -> QualityScore:
    return QualityScore(week, score, methods)


OWN = MethodScore(
    "OWN_SHIPPING",
    52,
    0.75,
    (
        QualityKpi("ON_TIME", 0.90, 0.93),
        QualityKpi("CANCELLATIONS", 0.03, 0.02),
        QualityKpi("RESPONSE_TIME", 0.95, 0.90),
        QualityKpi("RETURNS", None, 0.05),
    ),
)
VIA_BOL = MethodScore("SHIPPING_VIA_BOL", 80, 0.25, (QualityKpi("HANDOVER", 0.85, 0.95),))


def test_costliest_ranks_the_weighted_gaps_per_shipping_method() -> None:
    got = costliest(quality(W, 58, VIA_BOL, OWN), STRIKES)
    assert [m.method for m in got] == ["OWN_SHIPPING", "SHIPPING_VIA_BOL"]
    own = got[0]
    assert [g.kpi for g in own.gaps] == ["CANCELLATIONS", "ON_TIME"]
    assert own.gaps[0].gap == pytest.approx(0.01)
    assert own.gaps[0].weighted == pytest.approx(0.5 * 0.75)
    assert got[1].gaps[0].weighted == pytest.approx(0.10 / 0.95 * 0.25)


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["HANDOVER", "ON_TIME", "CANCELLATIONS", "NEW_KPI"]),
            st.none() | st.floats(0, 1),
            st.none() | st.floats(0.01, 1),
        ),
        max_size=6,
    ),
    st.floats(0, 1),
)
def test_costliest_lists_only_misses_worst_first(
    kpis: list[tuple[str, float | None, float | None]], weight: float
) -> None:
    method = MethodScore("OWN_SHIPPING", 50, weight, tuple(QualityKpi(*k) for k in kpis))
    (got,) = costliest(quality(W, 50, method), STRIKES)
    assert all(g.gap > 0 for g in got.gaps)
    assert [g.weighted for g in got.gaps] == sorted((g.weighted for g in got.gaps), reverse=True)
    misses = sum(
        1
        for name, score, norm in kpis
        if score is not None
        and norm is not None
        and ((score - norm) if name == "CANCELLATIONS" else (norm - score)) > 1e-9
    )
    assert len(got.gaps) == misses


def violation(vid: str, days_ago: int, points: int = 10) -> Violation:
    return Violation(
        vid,
        AT - timedelta(days=days_ago),
        "FORBIDDEN_ASSORTMENT",
        "MISSING_QUALITY_MARK",
        "POINTS_DEDUCTION",
        points,
    )


def test_changes_between_two_snapshots() -> None:
    before = status(
        (W.shift(-22), W.shift(-3)),
        end=W.shift(-1),
        points=60,
        violations=(violation("a", 40),),
        quality=quality(W.shift(-2), 70),
        at=AT - timedelta(days=7),
    )
    now = status(
        (W.shift(-3), W),
        points=25,
        violations=(violation("a", 40), violation("b", 2, 35)),
        quality=quality(W.shift(-1), 64),
    )
    got = changes(STRIKES, now, before)
    assert [s.week for s in got.new_strikes] == [W]
    assert got.expired_strikes == (W.shift(-22),)
    assert [v.violation_id for v in got.new_violations] == ["b"]
    assert (got.points_before, got.points_changed, got.points_low) == (60, True, True)
    assert (got.score_before, got.score_change, got.score_drop, got.score_low) == (
        70,
        -6,
        True,
        True,
    )
    assert got.alerts == (
        "bol_strike",
        "bol_strike_expired",
        "policy_violation",
        "policy_points_low",
        "quality_score_drop",
        "quality_score_low",
    )


def test_absence_is_not_news_and_levels_are_the_operators() -> None:
    before = status((W.shift(-3),), points=40, quality=quality(W.shift(-1), 80))
    now = replace(before, strikes=None, violations=None, quality=None, fetched_at=AT)
    got = changes(STRIKES, now, before)
    assert got.alerts == () and got.score_change is None
    lenient = replace(STRIKES, quality_score_drop=11, quality_score_alert=60)
    drop = changes(lenient, replace(before, quality=quality(W, 70)), before)
    assert (drop.score_change, drop.alerts) == (-10, ())
    assert changes(replace(STRIKES, quality_score_drop=10), drop.current, before).score_drop


def test_the_first_snapshot_brings_only_recent_news_and_groeistart_once() -> None:
    first = status(
        (W.shift(-5), W), violations=(violation("old", 30), violation("new", 1)), points=90
    )
    got = changes(STRIKES, first, None)
    assert [s.week for s in got.new_strikes] == [W]
    assert [v.violation_id for v in got.new_violations] == ["new"]
    assert not got.points_changed and got.expired_strikes == ()
    new_seller = status(system="GroeiStart")
    assert changes(STRIKES, new_seller, None).alerts == ("groeistart",)
    assert changes(STRIKES, new_seller, new_seller).alerts == ()


@settings(max_examples=100, deadline=None)
@given(
    st.sets(st.integers(0, 21), max_size=7),
    st.sets(st.integers(0, 21), max_size=7),
    st.integers(0, 100),
)
def test_changes_against_itself_bring_only_the_standing_levels(
    a: set[int], b: set[int], points: int
) -> None:
    one = status(tuple(sorted(W.shift(-i) for i in a)), points=points)
    two = status(tuple(sorted(W.shift(-i) for i in b)), points=points)
    assert set(changes(STRIKES, one, one).alerts) <= {"policy_points_low"}
    got = changes(STRIKES, two, one)
    assert {s.week for s in got.new_strikes} == {W.shift(-i) for i in b - a}
    assert set(got.expired_strikes) == {W.shift(-i) for i in a - b}


def test_bol_status_in_the_check_line() -> None:
    snap = status((W,), points=25, quality=quality(W, 58, VIA_BOL))
    line = evaluate_week(STRIKES, history(), W).to_json(snap)
    assert line["bol_status"] == {
        "fetched_at": "2026-10-07T09:00:00+00:00",
        "system": "GroeiKracht",
        "strikes": {"count": 1, "weeks": [{"week": "2026-W40", "reasons": ["HANDOVER"]}]},
        "points_left": 25,
        "quality_score": {
            "week": "2026-W40",
            "score": 58,
            "by_method": [
                {
                    "method": "SHIPPING_VIA_BOL",
                    "score": 80,
                    "weight": 0.25,
                    "kpis": [{"kpi": "HANDOVER", "score": 0.85, "norm": 0.95}],
                }
            ],
        },
    }
    bare = PerformanceStatus(fetched_at=AT)
    assert evaluate_week(STRIKES, history(), W).to_json(bare)["bol_status"] == {
        "fetched_at": "2026-10-07T09:00:00+00:00",
        "system": None,
        "strikes": None,
        "points_left": None,
        "quality_score": None,
    }


def test_merged_alerts_follow_the_contract_order_and_bol_count_replaces_ours() -> None:
    from norms.bolnews import merge_alerts
    from norms.report import ALERT_ORDER

    derived = ("warning", "rating_danger", "norm_notice", "strikes_expired")
    before = status((W.shift(-22),), end=W.shift(-1), points=60, quality=quality(W.shift(-1), 70))
    now = status((W,), points=20, quality=quality(W, 60))
    news = changes(STRIKES, now, before)
    assert merge_alerts(derived, news, ALERT_ORDER) == (
        "bol_strike",
        "rating_danger",
        "policy_points_low",
        "quality_score_drop",
        "quality_score_low",
        "norm_notice",
        "bol_strike_expired",
    )
    assert merge_alerts(derived, None, ALERT_ORDER) == derived
    # Without bol.com's strikes our ladder stays; in GroeiStart no strike section at all.
    no_strikes = changes(STRIKES, replace(now, strikes=None), replace(before, strikes=None))
    assert "warning" in merge_alerts(derived, no_strikes, ALERT_ORDER)
    start = changes(STRIKES, status(system="GroeiStart"), None)
    assert merge_alerts(derived, start, ALERT_ORDER) == (
        "groeistart",
        "rating_danger",
        "norm_notice",
    )
