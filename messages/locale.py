"""Numbers and weeks as each language writes them, from CLDR through Babel.

``93,5%`` (nl), ``93.5%`` (en), ``93,5 %`` (fr, with CLDR's no-break space); thousands
grouped; month abbreviations per language. ISO week labels are ours (CLDR has none): the
layout ``week 46 (9–15 nov)`` is fixed, its words come from the catalog.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from functools import cache

from babel import Locale
from babel.dates import get_month_names
from babel.numbers import NumberPattern, parse_pattern

from messages.i18n import translations
from messages.model import Language
from norms import IsoWeek

# CLDR locale of each language: Belgian French; plain "en" writes "Sep", not en_GB's "Sept".
CLDR: dict[Language, str] = {"nl": "nl_NL", "en": "en", "fr": "fr_BE"}


@cache
def _locale(lang: Language) -> Locale:
    return Locale.parse(CLDR[lang])


@cache
def _months(lang: Language) -> tuple[str, ...]:
    names = get_month_names("abbreviated", "format", locale=_locale(lang))
    return tuple(names[m] for m in range(1, 13))


def _words(lang: Language) -> Callable[[str], str]:
    return translations(lang).gettext


@dataclass(frozen=True)
class _Symbols:
    """What CLDR says about one language's numbers, looked up once."""

    separators: dict[int, str]  # for str.translate: Python's "," and "." to the locale's
    by_threes: bool  # groups of three digits, as Python's "," groups them
    percent_before: str
    percent_after: str


@cache
def _symbols(lang: Language) -> _Symbols:
    locale = _locale(lang)
    symbols = locale.number_symbols["latn"]
    percent_pattern = locale.percent_formats[None]
    return _Symbols(
        separators={ord(","): symbols["group"], ord("."): symbols["decimal"]},
        by_threes=locale.decimal_formats[None].grouping == (3, 3),
        percent_before=percent_pattern.prefix[0],
        percent_after=percent_pattern.suffix[0].replace("%", symbols["percentSign"]),
    )


@cache
def _decimal_pattern(digits: int) -> NumberPattern:
    return parse_pattern("#,##0" + ("." + "0" * digits if digits else ""))


def babel_decimal(value: float, lang: Language, digits: int = 1) -> str:
    """The number as Babel's own formatter writes it (slower; the reference for ``decimal``)."""
    # Decimal(value) is the float's exact value: rounded as Python's own formatting does.
    return str(_decimal_pattern(digits).apply(Decimal(value), _locale(lang)))


def decimal(value: float, lang: Language, digits: int = 1) -> str:
    """``8,4`` (nl, fr) or ``8.4`` (en), with thousands grouped."""
    symbols = _symbols(lang)
    if value >= 0 and symbols.by_threes:
        # CLDR's separators over Python's formatting: Babel's result at a tenth of its cost
        # (both round the float's exact value half to even; a test holds them equal).
        return f"{value:,.{digits}f}".translate(symbols.separators)
    return babel_decimal(value, lang, digits)


def count(value: int, lang: Language) -> str:
    """A whole number with thousands grouped: ``1.250`` (nl), ``1,250`` (en), ``1 250`` (fr)."""
    return decimal(value, lang, 0)


def percent(fraction: float, lang: Language, digits: int = 1) -> str:
    """A fraction as a percentage: 0.935 → ``93,5%`` (nl), ``93.5%`` (en), ``93,5 %`` (fr)."""
    symbols = _symbols(lang)
    return symbols.percent_before + decimal(fraction * 100, lang, digits) + symbols.percent_after


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
    months = _months(lang)
    mon, sun = week.monday, week.sunday
    head = week_number(week, lang, ref=None if with_year else week)
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
    _ = _words(lang)
    if ref is not None and week.year == ref.year:
        return _("week %(week)s") % {"week": week.week}
    return _("week %(week)s of %(year)s") % {"week": week.week, "year": week.year}


def weeks_label(weeks: Sequence[IsoWeek], lang: Language) -> str:
    """Several weeks compactly: one week in full, ``weken 44 t/m 46 van 2026``, a short list
    ``weken 40, 44 en 46 van 2026``, or for many scattered weeks how many and between which."""
    ordered = sorted(set(weeks))
    if not ordered:
        return ""
    if len(ordered) == 1:
        return week_label(ordered[0], lang, with_year=True)
    _ = _words(lang)
    first, last = ordered[0], ordered[-1]
    same_year = first.year == last.year

    def name(week: IsoWeek) -> str:
        if same_year:
            return str(week.week)
        return _("%(what)s of %(year)s") % {"what": week.week, "year": week.year}

    # Two weeks read best as "47 and 48"; a run of three or more as a range.
    if len(ordered) > 2 and last - first == len(ordered) - 1:
        text = _("weeks %(first)s to %(last)s") % {"first": name(first), "last": name(last)}
    elif len(ordered) <= 6:
        names = [name(w) for w in ordered]
        text = _("weeks %(list)s and %(last)s") % {"list": ", ".join(names[:-1]), "last": names[-1]}
    else:
        text = _("%(count)s weeks between week %(first)s and %(last)s") % {
            "count": len(ordered),
            "first": name(first),
            "last": name(last),
        }
    return _("%(what)s of %(year)s") % {"what": text, "year": first.year} if same_year else text
