import json
from datetime import date

import pytest

import norms
from norms import (
    ALERT_ORDER,
    URGENT_ALERTS,
    Exemption,
    IsoWeek,
    Measurement,
    PlanEvent,
    ShopRating,
    evaluate_week,
    fold_history,
)
from norms.report import WhatItTakes
from tests.norms.builders import (
    CIR,
    PA,
    RET,
    REV,
    RT,
    START,
    STRIKES,
    TRACK,
    TT,
    C,
    F,
    day,
    fail_fulfilment,
    history,
    pass_fulfilment,
    weekly,
)

W = IsoWeek.parse("2026-W46")

HO, OT = norms.Indicator.HANDOVER, norms.Indicator.ON_TIME


def test_alert_order_is_the_contract() -> None:
    assert ALERT_ORDER == (
        "closure",
        "last_warning",
        "suspension",
        "warning",
        "bol_strike",
        "groeistart",
        "rating_critical",
        "rating_danger",
        "policy_violation",
        "policy_points_low",
        "quality_score_drop",
        "quality_score_low",
        "norm_notice",
        "gold_label_reached",
        "gold_label_lost",
        "track_ended",
        "strikes_expired",
        "bol_strike_expired",
    )
    assert frozenset({"closure", "suspension", "last_warning", "rating_critical"}) == URGENT_ALERTS


def test_to_json_matches_the_check_line() -> None:
    prev = W.shift(-1)
    h = history(
        [
            Measurement(F, prev, 100, 120),
            Measurement(F, W, 135, 150),
            Measurement(C, W, 1, 150),
            Measurement(PA, W, 9, 10),
            Measurement(TT, W, 150, 150),
            Measurement(CIR, W, 10, 150),
            Measurement(RET, W, 20, 150, norm=0.05),
            Measurement(REV, W, None, 12, value=8.4),
        ],
        ratings=[ShopRating(date(2026, 11, 18), 8.6, {"service": 9.0}, reviews=80)],
    )
    line = evaluate_week(TRACK, h, W).to_json()

    def ind(
        status: str,
        value: object,
        norm: object,
        cond: str,
        num: object,
        den: object,
        score: object = None,
    ) -> dict[str, object]:
        return {
            "status": status,
            "value": value,
            "norm": norm,
            "condition": cond,
            "numerator": num,
            "denominator": den,
            "score_6w": score,
        }

    assert line == {
        "seller_id": "shop-1",
        "week": "2026-W46",
        "indicators": {
            "FULFILMENT": ind("fail", 0.9, 0.93, ">=", 135, 150, 235 / 270),
            "CANCELLATIONS": ind("pass", 1 / 150, 0.02, "<=", 1, 150, 1 / 150),
            "RESPONSE_TIME": ind("no_data", None, 0.9, ">=", None, None),
            "PHONE_AVAILABILITY": ind("pass", 0.9, 0.9, ">=", 9, 10),
            "TRACK_AND_TRACE": ind("pass", 1.0, 1.0, ">=", 150, 150),
            "CASE_ITEM_RATIO": ind("no_norm", 10 / 150, None, "<=", 10, 150),
            "RETURNS": ind("fail", 20 / 150, 0.05, "<=", 20, 150),
            "REVIEWS": ind("pass", 8.4, 8.0, ">=", None, 12),
            "HANDOVER": ind("no_data", None, 0.95, ">=", None, None),
            "ON_TIME": ind("no_data", None, 0.93, ">=", None, None),
        },
        "failing_week": True,
        "track": {
            "policy": "verbetertraject-24w",
            "state": "open",
            "step": 2,
            "compliant_weeks": 0,
            "weeks_to_end": 24,
            "plan": None,
        },
        "rating": {"average": 8.6, "risk": "none"},
        "gold_label": {"eligible": False, "unmet": ["average_rating", "reviews_per_month"]},
        "bol_status": None,
        "alerts": ["warning", "norm_notice"],
    }
    assert list(line) == [
        "seller_id",
        "week",
        "indicators",
        "failing_week",
        "track",
        "rating",
        "gold_label",
        "bol_status",
        "alerts",
    ]
    assert list(line["indicators"]) == [
        "FULFILMENT",
        "CANCELLATIONS",
        "RESPONSE_TIME",
        "PHONE_AVAILABILITY",
        "TRACK_AND_TRACE",
        "CASE_ITEM_RATIO",
        "RETURNS",
        "REVIEWS",
        "HANDOVER",
        "ON_TIME",
    ]
    assert json.loads(json.dumps(line)) == line


def test_to_json_before_any_data() -> None:
    line = evaluate_week(TRACK, history(), W).to_json()
    assert {k: v["status"] for k, v in line["indicators"].items()} == {
        "FULFILMENT": "no_data",
        "CANCELLATIONS": "no_data",
        "RESPONSE_TIME": "no_data",
        "PHONE_AVAILABILITY": "no_data",
        "TRACK_AND_TRACE": "no_data",
        "HANDOVER": "no_data",
        "ON_TIME": "no_data",
        "CASE_ITEM_RATIO": "no_data",
        "RETURNS": "no_data",
        "REVIEWS": "no_data",
    }
    assert all(v["score_6w"] is None for v in line["indicators"].values())
    assert line["failing_week"] is False
    assert line["track"] == {
        "policy": "verbetertraject-24w",
        "state": "none",
        "step": 0,
        "compliant_weeks": 0,
        "weeks_to_end": None,
        "plan": None,
    }
    assert line["rating"] == {"average": None, "risk": "none"}
    assert line["gold_label"] == {"eligible": False, "unmet": ["no_data"]}
    assert line["alerts"] == []


def test_to_json_under_strikes() -> None:
    h = history(weekly("FF."))
    line = evaluate_week(STRIKES, h, START.shift(2)).to_json()
    assert line["track"] == {
        "policy": "strikes-22w",
        "state": "open",
        "step": 2,
        "compliant_weeks": 1,
        "weeks_to_end": None,
        "plan": None,
    }
    assert line["failing_week"] is False
    assert line["alerts"] == []


def test_score_6w_only_for_the_pooled_indicators() -> None:
    data = [Measurement(i, W, 5, 10, norm=0.5) for i in (F, C, RT, PA, TT, CIR, RET, HO, OT)] + [
        Measurement(REV, W, None, 10, value=9.0)
    ]
    report = evaluate_week(TRACK, history(data), W)
    scores = {k: v["score_6w"] for k, v in report.to_json()["indicators"].items()}
    assert scores == {
        "FULFILMENT": 0.5,
        "CANCELLATIONS": 0.5,
        "RESPONSE_TIME": 0.5,
        "PHONE_AVAILABILITY": None,
        "TRACK_AND_TRACE": None,
        "CASE_ITEM_RATIO": None,
        "RETURNS": None,
        "REVIEWS": None,
        "HANDOVER": None,
        "ON_TIME": None,
    }


def test_rating_average_is_rounded_in_json() -> None:
    h = history(
        [Measurement(REV, W, None, 3, value=8.0), Measurement(REV, W.shift(-1), None, 3, value=9.0)]
    )
    h2 = history([*h.measurements[W].values(), Measurement(REV, W.shift(-1), None, 6, value=8.5)])
    assert evaluate_week(TRACK, h, W).to_json()["rating"]["average"] == 8.5
    assert evaluate_week(TRACK, h2, W).to_json()["rating"]["average"] == 8.333


@pytest.mark.parametrize(
    ("pattern", "alerts"),
    [
        ("F", ["warning"]),
        ("FFFF", ["warning"]),
        ("FFFFF", ["suspension"]),
        ("FFFFFF", ["last_warning"]),
        ("FFFFFFF", ["closure"]),
        ("FFFFFFFF", []),
        ("FFFFFFF.", []),
        ("F.", []),
    ],
)
def test_track_alerts(pattern: str, alerts: list[str]) -> None:
    last = START.shift(len(pattern) - 1)
    report = evaluate_week(TRACK, history(weekly(pattern)), last)
    assert list(report.alerts) == alerts
    assert report.track_message == (alerts[0] if alerts else None)


def test_suspension_requires_a_plan_until_submitted() -> None:
    h = history(weekly("FFFFF."))
    report = evaluate_week(TRACK, h, START.shift(4))
    assert report.to_json()["track"]["plan"] == "required"
    h = history(weekly("FFFFF."), plan_events=[PlanEvent(day(START.shift(5)), "submitted")])
    assert evaluate_week(TRACK, h, START.shift(5)).to_json()["track"]["plan"] == "submitted"


def test_closure_comes_first_with_rating_critical_and_norm_notice() -> None:
    last = START.shift(6)
    h = history(
        [*weekly("FFFFFFF"), Measurement(PA, last, 1, 10)],
        ratings=[ShopRating(last.check_day, 4.5)],
    )
    report = evaluate_week(TRACK, h, last)
    assert report.alerts == ("closure", "rating_critical", "norm_notice")
    assert report.to_json()["track"]["state"] == "closed"
    assert report.risk == "critical"


def test_last_warning_with_rating_danger() -> None:
    last = START.shift(5)
    h = history(weekly("FFFFFF"), ratings=[ShopRating(last.check_day, 5.8)])
    assert evaluate_week(TRACK, h, last).alerts == ("last_warning", "rating_danger")


def test_rating_alert_repeats_every_week_while_the_rating_stays_there() -> None:
    h = history(weekly("..."), ratings=[ShopRating(START.monday, 6.0)])
    assert [evaluate_week(TRACK, h, START.shift(i)).alerts for i in range(3)] == [
        ("rating_danger",)
    ] * 3


def test_norm_notice_for_failing_non_escalating_indicators_only() -> None:
    base = [pass_fulfilment(W)]
    assert evaluate_week(TRACK, history(base), W).alerts == ()
    notice = history([*base, Measurement(TT, W, 90, 100)])
    assert evaluate_week(TRACK, notice, W).alerts == ("norm_notice",)
    assert evaluate_week(TRACK, notice, W).verdict.failed_other == (TT,)
    exempt = history([*base, Measurement(TT, W, 90, 100)], exemptions=[Exemption(W, "T&T outage")])
    assert evaluate_week(TRACK, exempt, W).alerts == ()
    no_norm = history([*base, Measurement(RET, W, 90, 100)])
    assert evaluate_week(TRACK, no_norm, W).alerts == ()


def test_an_exempt_failure_plans_no_track_alert() -> None:
    h = history([fail_fulfilment(W)], exemptions=[Exemption(W, "PostNL strike")])
    report = evaluate_week(TRACK, h, W)
    assert report.failing_week is False
    assert report.alerts == ()
    assert report.to_json()["indicators"]["FULFILMENT"]["status"] == "exempt"
    assert report.to_json()["track"]["state"] == "none"


def test_consecutive_failures_for_returns_and_case_item_ratio() -> None:
    data = [
        Measurement(RET, START, 20, 100, norm=0.05),
        Measurement(RET, START.shift(1), 1, 100, norm=0.05),
        Measurement(RET, START.shift(2), 20, 100, norm=0.05),
        Measurement(RET, START.shift(3), 20, 100, norm=0.05),
        Measurement(RET, START.shift(4), 20, 100, norm=0.05),
        Measurement(CIR, START.shift(3), 20, 100, norm=0.05),
        Measurement(CIR, START.shift(4), 20, 100, norm=0.05),
    ]
    report = evaluate_week(TRACK, history(data), START.shift(4))
    assert report.consecutive_failures == {RET: 3, CIR: 2}
    assert report.alerts == ("norm_notice",)
    report = evaluate_week(TRACK, history(data), START.shift(1))
    assert report.consecutive_failures == {RET: 0, CIR: 0}


def test_a_week_without_data_breaks_the_consecutive_run() -> None:
    data = [
        Measurement(RET, START, 20, 100, norm=0.05),
        Measurement(RET, START.shift(2), 20, 100, norm=0.05),
    ]
    assert evaluate_week(TRACK, history(data), START.shift(2)).consecutive_failures[RET] == 1


def gold_week(week: IsoWeek) -> list[Measurement]:
    """A week that alone makes the gold label: 25 reviews at 9.5 and 60 items sold."""
    return [Measurement(REV, week, None, 25, value=9.5), Measurement(CIR, week, 1, 60, norm=0.1)]


def test_gold_label_reached_in_the_first_week_with_data() -> None:
    h = history(gold_week(START))
    report = evaluate_week(TRACK, h, START)
    assert report.gold.eligible is True
    assert report.previous_gold is None
    assert report.alerts == ("gold_label_reached",)
    assert report.to_json()["gold_label"] == {"eligible": True, "unmet": []}


def test_gold_label_reached_only_when_it_changes() -> None:
    h = history([*gold_week(START), *gold_week(START.shift(1))])
    assert evaluate_week(TRACK, h, START.shift(1)).alerts == ()


def test_gold_label_not_reached_in_a_first_week_that_is_not_eligible() -> None:
    h = history([Measurement(REV, START, None, 25, value=8.0), Measurement(CIR, START, 1, 60)])
    assert evaluate_week(TRACK, h, START).alerts == ()


def test_gold_label_reached_and_lost() -> None:
    h = history(
        [
            pass_fulfilment(START),
            *gold_week(START.shift(1)),
            Measurement(REV, START.shift(2), None, 25, value=5.0),
        ]
    )
    assert evaluate_week(TRACK, h, START).alerts == ()
    assert evaluate_week(TRACK, h, START.shift(1)).alerts == ("gold_label_reached",)
    lost = evaluate_week(TRACK, h, START.shift(2))
    assert lost.previous_gold is not None and lost.previous_gold.eligible
    assert lost.alerts == ("norm_notice", "gold_label_lost")


def test_gold_label_reached_with_track_ended() -> None:
    last = START.shift(24)
    h = history([*weekly("F" + "." * 24), *gold_week(last)])
    report = evaluate_week(TRACK, h, last)
    assert report.alerts == ("gold_label_reached", "track_ended")
    assert report.to_json()["track"]["state"] == "none"


def test_strikes_expired_alert() -> None:
    h = history(weekly("F" + "." * 22))
    report = evaluate_week(STRIKES, h, START.shift(22))
    assert report.alerts == ("strikes_expired",)
    assert report.track is not None and report.track.expired_strike == START
    assert evaluate_week(STRIKES, h, START.shift(21)).alerts == ()
    h = history(weekly("F" + "." * 21 + "F"))
    assert evaluate_week(STRIKES, h, START.shift(22)).alerts == ("warning", "strikes_expired")
    assert evaluate_week(STRIKES, h, START.shift(22)).to_json()["track"]["step"] == 1


def test_no_track_ended_under_strikes() -> None:
    h = history(weekly("F" + "." * 30))
    assert all(
        "track_ended" not in evaluate_week(STRIKES, h, START.shift(i)).alerts for i in range(31)
    )


def test_report_track_is_the_fold() -> None:
    h = history(weekly("F.-F"), exemptions=[Exemption(START, "outage")])
    report = evaluate_week(TRACK, h, START.shift(3))
    assert report.track == fold_history(TRACK, h, START.shift(3))[-1]
    assert report.track is not None and report.track.step == 1
    assert report.next_step == (2, "warning")


def test_what_it_takes() -> None:
    data = [
        Measurement(F, W, 100, 100),
        Measurement(F, W.shift(-1), 90, 100),
        Measurement(C, W, 0, 100),
        Measurement(RT, W, 20, 20),
    ]
    report = evaluate_week(TRACK, history(data), W)
    assert report.what_it_takes == (
        WhatItTakes(F, 100, 7),
        WhatItTakes(C, 100, 2),
        WhatItTakes(RT, 20, 9),
    )
