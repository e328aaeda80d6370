"""Template filters: numbers, weeks and values beside their norms, per language."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from messages import locale
from messages.facts import Score
from messages.model import Language
from messages.reasons import place, said_in
from messages.verdict import readable
from norms import Indicator, Status
from norms.verdicts import IndicatorVerdict


def _is_rating(indicator: object) -> bool:
    return indicator == Indicator.REVIEWS


def _value(lang: Language, indicator: object, value: float, norm: float | None) -> str:
    """A value in its unit, with enough digits not to look equal to a norm it misses."""
    if _is_rating(indicator):
        digits = locale.distinct_from(value, norm, 1) if norm is not None else 1
        return locale.decimal(value, lang, digits)
    digits = locale.distinct_from(value, norm, 100) if norm is not None else 1
    return locale.percent(value, lang, digits)


def _val(lang: Language, item: IndicatorVerdict | Score) -> str:
    if item.value is None:
        return "–"
    return _value(lang, item.indicator, item.value, item.norm)


def _norm(lang: Language, item: IndicatorVerdict | Score) -> str:
    """``≥ 93%``, ``≤ 2%`` or ``≥ 8,0``."""
    if item.norm is None:
        return "–"
    sign = "≥" if item.condition == ">=" else "≤"
    if _is_rating(item.indicator):
        return f"{sign} {locale.decimal(item.norm, lang)}"
    return f"{sign} {locale.compact_percent(item.norm, lang)}"


def _gap(lang: Language, score: Score) -> str:
    """The distance to the norm in the unit, without sign: ``1,5`` (points)."""
    diff = score.diff
    if diff is None:
        return "–"
    scale = 1 if _is_rating(score.indicator) else 100
    # A real miss never reads as "0,0": 0.02 points below is shown as 0,02.
    return locale.decimal(abs(diff) * scale, lang, locale.distinct_from(abs(diff), 0.0, scale))


def _num_vs(lang: Language, value: float, threshold: float) -> str:
    """A rating beside a threshold it is compared with: ``4,96`` rather than ``5,0``."""
    return locale.decimal(value, lang, locale.distinct_from(value, threshold, 1))


def filters(lang: Language) -> dict[str, Callable[..., str]]:
    """The filters of one language's environments: numbers, weeks, values beside norms."""
    return {
        "dec": lambda x, digits=1: locale.decimal(x, lang, digits),
        "count": lambda n: locale.count(n, lang),
        "pct": lambda x, digits=1: locale.percent(x, lang, digits),
        "pnorm": lambda x: locale.compact_percent(x, lang),
        "week": lambda w: locale.week_label(w, lang),
        "week_year": lambda w: locale.week_label(w, lang, with_year=True),
        "weeks": lambda ws: locale.weeks_label(ws, lang),
        "week_rel": lambda w, ref: locale.week_label(w, lang, with_year=w.year != ref.year),
        "wk": lambda w, ref=None: locale.week_number(w, lang, ref=ref),
        "val": partial(_val, lang),
        "norm": partial(_norm, lang),
        "gap": partial(_gap, lang),
        "num_vs": partial(_num_vs, lang),
        # Why a file was refused, and where, in the chat's language.
        "reason": lambda text: said_in(text, lang),
        "place": lambda issue: place(issue, lang),
        "cap": lambda text: text[:1].upper() + text[1:],
        # bol.com's free-text codes as words (FORBIDDEN_ASSORTMENT: Forbidden assortment).
        "readable": readable,
        # A moment with its zone, so nobody has to guess whose clock it is.
        "moment": lambda t: t.strftime("%Y-%m-%d %H:%M %Z"),
    }


def dot(item: IndicatorVerdict | Score | bool | None) -> str:
    """🟢 meets the norm, 🔴 misses it, 🟡 missed but not counted, ⚪ nothing to judge."""
    if isinstance(item, Score):
        item = item.met
    if isinstance(item, IndicatorVerdict):
        return {Status.PASS: "🟢", Status.FAIL: "🔴", Status.EXEMPT: "🟡"}.get(item.status, "⚪")
    if item is None:
        return "⚪"
    return "🟢" if item else "🔴"
