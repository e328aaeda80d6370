"""Numbers and weeks as Dutch and English readers write them: ``93,5%`` and ``93.5%``."""

from __future__ import annotations

from collections.abc import Sequence

from messages.model import Language
from norms import IsoWeek

_MONTHS: dict[Language, tuple[str, ...]] = {
    "nl": ("jan", "feb", "mrt", "apr", "mei", "jun", "jul", "aug", "sep", "okt", "nov", "dec"),
    "en": ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"),
}
_OF_YEAR: dict[Language, str] = {"nl": "van", "en": "of"}
_UNTIL: dict[Language, str] = {"nl": "t/m", "en": "to"}
_AND: dict[Language, str] = {"nl": "en", "en": "and"}
_NL_SEPARATORS = str.maketrans(",.", ".,")


def decimal(value: float, lang: Language, digits: int = 1) -> str:
    """``8,4`` (nl) or ``8.4`` (en), with thousands grouped."""
    text = f"{value:,.{digits}f}"
    if lang == "nl":
        text = text.translate(_NL_SEPARATORS)
    return text


def count(value: int, lang: Language) -> str:
    """A whole number with thousands grouped: ``1.250`` (nl), ``1,250`` (en)."""
    return decimal(value, lang, 0)


def percent(fraction: float, lang: Language, digits: int = 1) -> str:
    """A fraction as a percentage: 0.935 → ``93,5%`` (nl) or ``93.5%`` (en)."""
    return decimal(fraction * 100, lang, digits) + "%"


def compact_percent(fraction: float, lang: Language) -> str:
    """A norm as a percentage without needless decimals: 0.93 → ``93%``, 0.045 → ``4,5%``."""
    for digits in (0, 1, 2):
        if abs(round(fraction * 100, digits) - fraction * 100) < 1e-9:
            return percent(fraction, lang, digits)
    return percent(fraction, lang, 2)


def distinct_from(value: float, threshold: float, scale: float, digits: int = 1) -> int:
    """Digits needed so that ``value`` does not look equal to ``threshold`` when it is not:
    92.96% must not read as 93.0% beside a norm of 93%."""
    while digits < 3 and round(value * scale, digits) == round(threshold * scale, digits):
        if abs(value - threshold) < 1e-12:
            break
        digits += 1
    return digits


def week_label(week: IsoWeek, lang: Language, *, with_year: bool = False) -> str:
    """``week 46 (9–15 nov)``; across a month ``week 44 (26 okt – 1 nov)``; across a year
    the dates carry their years unless the label already names the ISO year."""
    months = _MONTHS[lang]
    mon, sun = week.monday, week.sunday
    head = f"week {week.week}"
    if with_year:
        head += f" {_OF_YEAR[lang]} {week.year}"
    if mon.month == sun.month:
        span = f"{mon.day}–{sun.day} {months[sun.month - 1]}"
    elif mon.year == sun.year or with_year:
        span = f"{mon.day} {months[mon.month - 1]} – {sun.day} {months[sun.month - 1]}"
    else:
        span = (
            f"{mon.day} {months[mon.month - 1]} {mon.year} – "
            f"{sun.day} {months[sun.month - 1]} {sun.year}"
        )
    return f"{head} ({span})"


def week_number(week: IsoWeek, lang: Language, *, ref: IsoWeek | None = None) -> str:
    """``week 30``, or ``week 30 van 2025`` when it lies in another year than ``ref``."""
    if ref is not None and week.year == ref.year:
        return f"week {week.week}"
    return f"week {week.week} {_OF_YEAR[lang]} {week.year}"


def weeks_label(weeks: Sequence[IsoWeek], lang: Language) -> str:
    """Several weeks compactly: one week in full, ``weken 44 t/m 46 van 2026``, a short list
    ``weken 40, 44 en 46 van 2026``, or for many scattered weeks how many and between which."""
    ordered = sorted(set(weeks))
    if not ordered:
        return ""
    if len(ordered) == 1:
        return week_label(ordered[0], lang, with_year=True)
    word = "weken" if lang == "nl" else "weeks"
    first, last = ordered[0], ordered[-1]
    same_year = first.year == last.year

    def name(week: IsoWeek) -> str:
        return str(week.week) if same_year else f"{week.week} {_OF_YEAR[lang]} {week.year}"

    tail = f" {_OF_YEAR[lang]} {first.year}" if same_year else ""
    if last - first == len(ordered) - 1:
        return f"{word} {name(first)} {_UNTIL[lang]} {name(last)}{tail}"
    if len(ordered) <= 6:
        names = [name(w) for w in ordered]
        joined = ", ".join(names[:-1]) + f" {_AND[lang]} " + names[-1]
        return f"{word} {joined}{tail}"
    between = {"nl": "tussen week", "en": "between week"}[lang]
    return f"{len(ordered)} {word} {between} {name(first)} {_AND[lang]} {name(last)}{tail}"
