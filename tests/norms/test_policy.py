from importlib import resources
from pathlib import Path

import pytest

from norms import DEFAULT_POLICY, SHIPPED, Indicator, PolicyError, load_policy, parse_policy

F = Indicator.FULFILMENT
LADDER = (
    'ladder = ["warning", "warning", "warning", "warning", "suspension", "last_warning", "closure"]'
)


def shipped_text(name: str = "verbetertraject-24w") -> str:
    return resources.files("norms").joinpath(f"policies/{name}.toml").read_text("utf-8")


def edited(old: str, new: str, name: str = "verbetertraject-24w") -> str:
    text = shipped_text(name)
    assert old in text, old
    return text.replace(old, new, 1)


def test_shipped_names() -> None:
    assert SHIPPED == ("verbetertraject-24w", "strikes-22w")
    assert DEFAULT_POLICY == "verbetertraject-24w"


@pytest.mark.parametrize(
    ("name", "kind"), [("verbetertraject-24w", "track"), ("strikes-22w", "strikes")]
)
def test_shipped_policies_load_by_name(name: str, kind: str) -> None:
    p = load_policy(name)
    assert p.name == name
    assert p.kind == kind
    assert p.ladder == (
        "warning",
        "warning",
        "warning",
        "warning",
        "suspension",
        "last_warning",
        "closure",
    )
    assert p.closing_step == 7
    assert p.warnings_total() == 4
    assert [p.kind_at(s) for s in (1, 4, 5, 6, 7)] == [
        "warning",
        "warning",
        "suspension",
        "last_warning",
        "closure",
    ]
    assert p.escalating == (
        Indicator.FULFILMENT,
        Indicator.CANCELLATIONS,
        Indicator.RESPONSE_TIME,
        Indicator.HANDOVER,
        Indicator.ON_TIME,
    )
    assert {i: (r.condition, r.norm, r.minimum) for i, r in p.rules.items()} == {
        Indicator.FULFILMENT: (">=", 0.93, 3),
        Indicator.CANCELLATIONS: ("<=", 0.02, 3),
        Indicator.RESPONSE_TIME: (">=", 0.90, 10),
        Indicator.PHONE_AVAILABILITY: (">=", 0.90, None),
        Indicator.TRACK_AND_TRACE: (">=", 1.0, None),
        Indicator.CASE_ITEM_RATIO: ("<=", None, None),
        Indicator.RETURNS: ("<=", None, None),
        Indicator.REVIEWS: (">=", 8.0, None),
        Indicator.HANDOVER: (">=", 0.95, 3),
        Indicator.ON_TIME: (">=", 0.93, 3),
    }
    assert (p.clean_weeks_to_end, p.strike_window_weeks) == (24, 22)
    assert (p.plan_from_step, p.plan_reminder_days) == (5, 2)
    assert (p.score_window_weeks, p.consecutive_notice_weeks) == (6, 3)
    assert (p.rating_danger, p.rating_critical) == (6.0, 5.0)
    assert (p.rating_window_weeks, p.rating_min_reviews) == (13, 5)
    assert (p.gold_average, p.gold_aspects) == (9.0, 8.5)
    assert (p.gold_reviews_per_month, p.gold_items_per_month, p.gold_window_weeks) == (20, 50, 4)
    assert p.response_time_window_hours == 24
    assert (p.quality_score_alert, p.quality_score_drop, p.policy_points_alert) == (65, 5, 30)


def test_load_by_path(tmp_path: Path) -> None:
    path = tmp_path / "mine.toml"
    path.write_text(
        edited('name = "verbetertraject-24w"', 'name = "mine"').replace(
            "clean_weeks_to_end = 24", "clean_weeks_to_end = 12"
        ),
        "utf-8",
    )
    p = load_policy(str(path))
    assert p.name == "mine"
    assert p.clean_weeks_to_end == 12


def test_unknown_name_or_missing_file(tmp_path: Path) -> None:
    missing = str(tmp_path / "nope.toml")
    with pytest.raises(PolicyError, match="not a shipped policy") as info:
        load_policy(missing)
    assert missing in str(info.value)
    with pytest.raises(PolicyError, match="verbetertraject-24w, strikes-22w"):
        load_policy("strikes-23w")


def test_errors_name_the_source_file(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(edited("clean_weeks_to_end = 24\n", ""), "utf-8")
    with pytest.raises(PolicyError) as info:
        load_policy(str(path))
    assert str(info.value) == f"{path}: track.clean_weeks_to_end is missing"


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ('name = "verbetertraject-24w"\n', "", "mine.toml: name is missing"),
        ('kind = "track"', 'kind = "ladder"', "mine.toml: kind must be one of track, strikes"),
        ("clean_weeks_to_end = 24\n", "", "track.clean_weeks_to_end is missing"),
        (
            "clean_weeks_to_end = 24",
            "clean_weeks_to_end = 0",
            "track.clean_weeks_to_end must be a whole number ≥ 1",
        ),
        (
            "plan_reminder_days = 2",
            "plan_reminder_days = 1.5",
            "track.plan_reminder_days must be a whole number ≥ 1",
        ),
        (
            "window_weeks = 6",
            "window_weeks = true",
            "scores.window_weeks must be a whole number ≥ 1",
        ),
        ("danger = 6.0", 'danger = "six"', "rating.danger must be a number ≥ 0"),
        ("average = 9.0", "average = -1", "gold_label.average must be a number ≥ 0"),
        ("[gold_label]", "[gold]", "gold_label is missing"),
        (
            "escalates = true",
            'escalates = "yes"',
            "indicators.FULFILMENT.escalates must be true or false",
        ),
        (
            'condition = ">="',
            'condition = "=>"',
            "indicators.FULFILMENT.condition must be one of >=, <=",
        ),
        ("norm = 0.93", 'norm = "93%"', "indicators.FULFILMENT.norm must be a number ≥ 0"),
        ("minimum = 3", "minimum = 0", "indicators.FULFILMENT.minimum must be a whole number ≥ 1"),
        ("[indicators.REVIEWS]\ncondition", "[x]\ncondition", "indicators.REVIEWS is missing"),
        (
            "[indicators.REVIEWS]",
            "[indicators.SPEED]\ncondition = '>='\nescalates = false\n[indicators.REVIEWS]",
            "unknown indicator(s) ['SPEED'] in [indicators]",
        ),
        (
            "[indicators.FULFILMENT]",
            "[indicators.FULFILLMENT]",
            "unknown indicator(s) ['FULFILLMENT']",
        ),
        ("danger = 6.0", "danger = 4.0", "rating.critical must not be above rating.danger"),
        ("plan_from_step = 5", "plan_from_step = 8", "track.plan_from_step is beyond the ladder"),
        (
            'ladder = ["warning", "warning"',
            'ladder = ["warning", "warnng"',
            "track.ladder[2] is 'warnng'",
        ),
        ('"last_warning", "closure"]', '"last_warning"]', "track.ladder must end with 'closure'"),
        (
            'ladder = ["warning", "warning"',
            'ladder = ["closure", "warning"',
            "track.ladder must end with 'closure'",
        ),
        (
            LADDER,
            "ladder = []",
            "track.ladder must end with 'closure'",
        ),
        ('ladder = ["warning"', "ladder = [1", "track.ladder must be a list of strings"),
        ("[track]", "track = 1\n[x]", "track must be a table"),
        ("name =", "name name", "not valid TOML"),
        (
            "quality_score_alert = 65",
            "quality_score_alert = 120",
            "bol.quality_score_alert must be a number from 0 to 100",
        ),
        (
            "quality_score_drop = 5",
            'quality_score_drop = "5"',
            "bol.quality_score_drop must be a number ≥ 0",
        ),
        (
            "policy_points_alert = 30",
            "policy_points_alert = 30.5",
            "bol.policy_points_alert must be a whole number ≥ 0",
        ),
        (
            '[indicators.HANDOVER]\ncondition = ">="\nnorm = 0.95',
            '[indicators.HANDOVER]\ncondition = ">="\nnorm = "95%"',
            "indicators.HANDOVER.norm must be a number ≥ 0",
        ),
    ],
)
def test_invalid_policy_names_the_field(old: str, new: str, message: str) -> None:
    with pytest.raises(PolicyError) as info:
        parse_policy(edited(old, new), source="mine.toml")
    assert message in str(info.value)
    assert str(info.value).startswith("mine.toml: ")


def test_policy_error_is_a_value_error() -> None:
    assert issubclass(PolicyError, ValueError)


def test_minimum_and_norm_are_optional() -> None:
    p = parse_policy(edited("minimum = 10\n", ""))
    assert p.rules[Indicator.RESPONSE_TIME].minimum is None
    p = parse_policy(edited("norm = 0.93\n", ""))
    assert p.rules[F].norm is None


def test_a_shorter_ladder_is_allowed() -> None:
    p = parse_policy(
        edited(
            LADDER,
            'ladder = ["warning", "suspension", "closure"]',
        ).replace("plan_from_step = 5", "plan_from_step = 2")
    )
    assert p.closing_step == 3
    assert p.warnings_total() == 1
    assert p.kind_at(2) == "suspension"


def _without(text: str, table: str) -> str:
    """``text`` without the TOML table ``[table]`` and its keys."""
    start = text.index(f"[{table}]")
    end = text.find("\n[", start + 1)
    return text[:start] + (text[end + 1 :] if end != -1 else "")


@pytest.mark.parametrize("name", SHIPPED)
def test_a_policy_written_before_v11_gets_handover_and_on_time_and_the_bol_defaults(
    name: str,
) -> None:
    text = shipped_text(name)
    for table in ("indicators.HANDOVER", "indicators.ON_TIME", "bol"):
        text = _without(text, table)
    assert "HANDOVER" not in text and "[bol]" not in text
    p = parse_policy(text)
    assert p.rules == load_policy(name).rules
    assert Indicator.HANDOVER in p.escalating and Indicator.ON_TIME in p.escalating
    assert (p.quality_score_alert, p.quality_score_drop, p.policy_points_alert) == (65, 5, 30)


def test_the_bol_alert_levels_are_the_operators_to_choose() -> None:
    text = edited("quality_score_alert = 65", "quality_score_alert = 70")
    text = text.replace("quality_score_drop = 5", "quality_score_drop = 2.5")
    p = parse_policy(text.replace("policy_points_alert = 30", "policy_points_alert = 0"))
    assert (p.quality_score_alert, p.quality_score_drop, p.policy_points_alert) == (70, 2.5, 0)
    p = parse_policy(
        edited(
            '[indicators.ON_TIME]\ncondition = ">="\nnorm = 0.93\nminimum = 3\nescalates = true',
            '[indicators.ON_TIME]\ncondition = ">="\nnorm = 0.9\nescalates = false',
        )
    )
    assert p.rules[Indicator.ON_TIME].norm == 0.9
    assert Indicator.ON_TIME not in p.escalating
