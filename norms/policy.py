"""Policies as data: every threshold, minimum, window and ladder step, loaded from TOML."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Literal, cast

from norms.model import INDICATORS, Condition, Indicator

LadderKind = Literal["warning", "suspension", "last_warning", "closure"]
_LADDER_KINDS = ("warning", "suspension", "last_warning", "closure")


class PolicyError(ValueError):
    """A policy file that cannot be used; the message says which field and why."""


@dataclass(frozen=True, slots=True)
class IndicatorRule:
    """How one indicator is judged: its default norm, minimum count and whether it escalates."""

    indicator: Indicator
    condition: Condition
    norm: float | None
    minimum: int | None
    escalates: bool


@dataclass(frozen=True, slots=True)
class Policy:
    """One escalation policy with all its thresholds."""

    name: str
    kind: Literal["track", "strikes"]
    description: str
    rules: dict[Indicator, IndicatorRule]
    ladder: tuple[LadderKind, ...]
    clean_weeks_to_end: int
    strike_window_weeks: int
    plan_from_step: int
    plan_reminder_days: int
    score_window_weeks: int
    consecutive_notice_weeks: int
    rating_danger: float
    rating_critical: float
    rating_window_weeks: int
    rating_min_reviews: int
    gold_average: float
    gold_aspects: float
    gold_reviews_per_month: int
    gold_items_per_month: int
    gold_window_weeks: int
    response_time_window_hours: int
    quality_score_alert: float = 65.0
    quality_score_drop: float = 5.0
    policy_points_alert: int = 30
    # The escalating indicators, worked out once: every report asks for them.
    _escalating: tuple[Indicator, ...] = field(default=(), init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        escalating = tuple(i for i in INDICATORS if self.rules[i].escalates)
        object.__setattr__(self, "_escalating", escalating)

    @property
    def escalating(self) -> tuple[Indicator, ...]:
        return self._escalating

    @property
    def closing_step(self) -> int:
        return len(self.ladder)

    def kind_at(self, step: int) -> LadderKind:
        """The message kind for a failing week that brings the track to ``step`` (1-based)."""
        return self.ladder[min(step, len(self.ladder)) - 1]

    def warnings_total(self) -> int:
        return sum(1 for k in self.ladder if k == "warning")


SHIPPED = ("verbetertraject-24w", "strikes-22w")

# v11's split of on-time delivery (NORMS.md §2): a policy file written before it may leave
# them out and gets these rules; one that has them states its own.
_V11_DEFAULTS: dict[Indicator, IndicatorRule] = {
    Indicator.HANDOVER: IndicatorRule(Indicator.HANDOVER, ">=", 0.95, 3, True),
    Indicator.ON_TIME: IndicatorRule(Indicator.ON_TIME, ">=", 0.93, 3, True),
}
DEFAULT_POLICY = "verbetertraject-24w"


def load_policy(name_or_path: str) -> Policy:
    """Load a shipped policy by name, or a policy TOML file by path."""
    if name_or_path in SHIPPED:
        text = resources.files("norms").joinpath(f"policies/{name_or_path}.toml").read_text("utf-8")
        return parse_policy(text, source=name_or_path)
    path = Path(name_or_path)
    if not path.is_file():
        raise PolicyError(
            f"{name_or_path}: not a shipped policy ({', '.join(SHIPPED)}) and no such file"
        )
    return parse_policy(path.read_text("utf-8"), source=str(path))


def parse_policy(text: str, *, source: str = "<policy>") -> Policy:
    """Validate and build a policy from TOML text; errors name the source and field."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(f"{source}: not valid TOML: {exc}") from exc
    reader = _Reader(source, data)
    kind = reader.choice("kind", ("track", "strikes"))
    track = reader.table("track")
    ladder_raw = track.get_list("ladder")
    for i, step in enumerate(ladder_raw, 1):
        if step not in _LADDER_KINDS:
            raise PolicyError(
                f"{source}: track.ladder[{i}] is {step!r}; use one of {_LADDER_KINDS}"
            )
    if not ladder_raw or ladder_raw[-1] != "closure" or "closure" in ladder_raw[:-1]:
        raise PolicyError(f"{source}: track.ladder must end with 'closure', and only there")
    ladder = cast(tuple[LadderKind, ...], tuple(ladder_raw))
    rules: dict[Indicator, IndicatorRule] = {}
    indicators = reader.table("indicators")
    # Checked first: a misspelt name should be reported as such, not as a missing one.
    unknown = set(indicators.data) - {i.value for i in INDICATORS}
    if unknown:
        raise PolicyError(f"{source}: unknown indicator(s) {sorted(unknown)} in [indicators]")
    for indicator in INDICATORS:
        if indicator in _V11_DEFAULTS and indicator.value not in indicators.data:
            rules[indicator] = _V11_DEFAULTS[indicator]
            continue
        rule = indicators.table(indicator.value)
        norm = rule.optional_number("norm")
        rules[indicator] = IndicatorRule(
            indicator=indicator,
            condition=rule.choice("condition", (">=", "<=")),  # type: ignore[arg-type]
            norm=norm,
            minimum=rule.optional_int("minimum"),
            escalates=rule.boolean("escalates"),
        )
    plan_from_step = track.positive_int("plan_from_step")
    if plan_from_step > len(ladder):
        raise PolicyError(f"{source}: track.plan_from_step is beyond the ladder")
    rating = reader.table("rating")
    gold = reader.table("gold_label")
    scores = reader.table("scores")
    danger, critical = rating.number("danger"), rating.number("critical")
    bol = reader.optional_table("bol")
    quality_alert = bol.optional_number("quality_score_alert") if bol else None
    quality_drop = bol.optional_number("quality_score_drop") if bol else None
    points_alert = bol.optional_int("policy_points_alert", minimum=0) if bol else None
    for key, value, top in (
        ("quality_score_alert", quality_alert, 100.0),
        ("quality_score_drop", quality_drop, 100.0),
        ("policy_points_alert", points_alert, 100.0),
    ):
        if value is not None and value > top:
            raise PolicyError(f"{source}: bol.{key} must be a number from 0 to 100")
    if critical > danger:
        raise PolicyError(f"{source}: rating.critical must not be above rating.danger")
    return Policy(
        name=reader.string("name"),
        kind=kind,  # type: ignore[arg-type]
        description=reader.string("description"),
        rules=rules,
        ladder=ladder,
        clean_weeks_to_end=track.positive_int("clean_weeks_to_end"),
        strike_window_weeks=track.positive_int("strike_window_weeks"),
        plan_from_step=plan_from_step,
        plan_reminder_days=track.positive_int("plan_reminder_days"),
        score_window_weeks=scores.positive_int("window_weeks"),
        consecutive_notice_weeks=scores.positive_int("consecutive_notice_weeks"),
        rating_danger=danger,
        rating_critical=critical,
        rating_window_weeks=rating.positive_int("window_weeks"),
        rating_min_reviews=rating.positive_int("min_reviews"),
        gold_average=gold.number("average"),
        gold_aspects=gold.number("aspects"),
        gold_reviews_per_month=gold.positive_int("reviews_per_month"),
        gold_items_per_month=gold.positive_int("items_per_month"),
        gold_window_weeks=gold.positive_int("window_weeks"),
        response_time_window_hours=scores.positive_int("response_time_window_hours"),
        quality_score_alert=65.0 if quality_alert is None else quality_alert,
        quality_score_drop=5.0 if quality_drop is None else quality_drop,
        policy_points_alert=30 if points_alert is None else points_alert,
    )


class _Reader:
    """Typed access to one TOML table, with errors that name the field."""

    def __init__(self, source: str, data: dict[str, Any], prefix: str = "") -> None:
        self.source, self.data, self.prefix = source, data, prefix

    def _get(self, key: str) -> Any:
        if key not in self.data:
            raise PolicyError(f"{self.source}: {self.prefix}{key} is missing")
        return self.data[key]

    def _bad(self, key: str, want: str) -> PolicyError:
        return PolicyError(f"{self.source}: {self.prefix}{key} must be {want}")

    def table(self, key: str) -> _Reader:
        value = self._get(key)
        if not isinstance(value, dict):
            raise self._bad(key, "a table")
        return _Reader(self.source, value, f"{self.prefix}{key}.")

    def optional_table(self, key: str) -> _Reader | None:
        return self.table(key) if key in self.data else None

    def string(self, key: str) -> str:
        value = self._get(key)
        if not isinstance(value, str) or not value:
            raise self._bad(key, "a non-empty string")
        return value

    def choice(self, key: str, options: tuple[str, ...]) -> str:
        value = self._get(key)
        if value not in options:
            raise self._bad(key, f"one of {', '.join(options)}")
        return str(value)

    def boolean(self, key: str) -> bool:
        value = self._get(key)
        if not isinstance(value, bool):
            raise self._bad(key, "true or false")
        return value

    def number(self, key: str) -> float:
        value = self._get(key)
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise self._bad(key, "a number ≥ 0")
        return float(value)

    def optional_number(self, key: str) -> float | None:
        return self.number(key) if key in self.data else None

    def positive_int(self, key: str, *, minimum: int = 1) -> int:
        value = self._get(key)
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise self._bad(key, f"a whole number ≥ {minimum}")
        return value

    def optional_int(self, key: str, *, minimum: int = 1) -> int | None:
        return self.positive_int(key, minimum=minimum) if key in self.data else None

    def get_list(self, key: str) -> list[str]:
        value = self._get(key)
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self._bad(key, "a list of strings")
        return list(value)
