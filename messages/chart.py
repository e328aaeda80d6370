"""The history charts, as PNG: four small panels of a seller's weeks against their norms,
and bol.com's quality score against the alert level chosen for the seller.

matplotlib is imported only when a chart is drawn, and only its object-oriented API with
the Agg canvas: no pyplot, no global state, safe to call from several threads.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial

from messages.i18n import N_, translations
from messages.locale import decimal, weeks_label
from messages.model import Language, SellerRef
from norms import Indicator, IsoWeek, Status, WeekReport

# The words of the chart, translated when it is drawn.
_WORDS: dict[str, str] = {
    "FULFILMENT": N_("On-time delivery: 6-week score"),
    "CANCELLATIONS": N_("Cancellations: 6-week score"),
    "RESPONSE_TIME": N_("Response time: 6-week score"),
    "REVIEWS": N_("Review rating: the week's figure"),
    "norm": N_("norm"),
    # The band is the week's own verdict; the line beside it may be a 6-week score.
    "fail": N_("failing week (on the week's own figure)"),
    "none": N_("no data"),
    "quality": N_("bol.com's quality score (0–100)"),
    "alert": N_("alert level chosen for you"),
}
_PANELS = (
    Indicator.FULFILMENT,
    Indicator.CANCELLATIONS,
    Indicator.RESPONSE_TIME,
    Indicator.REVIEWS,
)
_GREEN, _RED, _GREY = "#2e7d32", "#c62828", "#9e9e9e"


@dataclass(frozen=True)
class _Series:
    labels: list[str]
    values: list[float | None]
    norms: list[float | None]
    failing: list[bool]  # the week's own figure failed (the band)
    misses: list[bool]  # the plotted figure misses its norm (the point)


def _series(reports: Sequence[WeekReport], indicator: Indicator) -> _Series:
    labels, values, norms, failing, misses = [], [], [], [], []
    for report in reports:
        verdict = report.indicators[indicator]
        rule = report.policy.rules[indicator]
        norm = verdict.norm if verdict.norm is not None else rule.norm
        if indicator is Indicator.REVIEWS:
            value = verdict.value
        else:
            score = report.scores_6w.get(indicator)
            value = None if score is None else score * 100
            norm = None if norm is None else norm * 100
        labels.append(f"{report.week.week}")
        values.append(value)
        norms.append(norm)
        failing.append(verdict.status is Status.FAIL)
        below = value is not None and norm is not None and value < norm - 1e-9
        above = value is not None and norm is not None and value > norm + 1e-9
        misses.append(above if verdict.condition == "<=" else below)
    return _Series(labels, values, norms, failing, misses)


def history_chart(seller: SellerRef, reports: Sequence[WeekReport], *, lang: Language) -> bytes:
    """A PNG of the 6-week scores and the weekly rating over ``reports``' weeks: norms as
    dashed lines, weeks in which the indicator failed marked red."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    gettext = translations(lang).gettext
    words = {key: gettext(text) for key, text in _WORDS.items()}
    ordered = sorted(reports, key=lambda r: r.week)
    fig = Figure(figsize=(8, 5.5), dpi=100)
    FigureCanvasAgg(fig)
    axes = fig.subplots(2, 2)
    for ax, indicator in zip(axes.flat, _PANELS, strict=True):
        data = _series(ordered, indicator)
        xs = list(range(len(data.labels)))
        ax.set_title(words[indicator.value], fontsize=10)
        ax.grid(True, axis="y", alpha=0.3)
        known = [(x, v) for x, v in zip(xs, data.values, strict=True) if v is not None]
        if known:
            ax.plot([x for x, _ in known], [v for _, v in known], color=_GREEN, linewidth=1.5)
        else:
            ax.text(0.5, 0.5, words["none"], transform=ax.transAxes, ha="center", color=_GREY)
        points = zip(xs, data.values, data.failing, data.misses, strict=True)
        for x, v, fail, miss in points:
            if fail:
                ax.axvspan(x - 0.5, x + 0.5, color=_RED, alpha=0.12, linewidth=0)
            if v is not None:
                ax.plot([x], [v], marker="o", markersize=4, color=_RED if miss else _GREEN)
        norm_points = [(x, n) for x, n in zip(xs, data.norms, strict=True) if n is not None]
        if norm_points:
            ax.plot(
                [x for x, _ in norm_points],
                [n for _, n in norm_points],
                linestyle="--",
                color=_GREY,
                linewidth=1,
            )
        if indicator is Indicator.REVIEWS:
            ax.set_ylim(1, 10.2)
        elif indicator is not Indicator.CANCELLATIONS:
            ax.set_ylim(top=100.5)
        else:
            ax.set_ylim(bottom=0)
        if indicator is not Indicator.REVIEWS:
            # Steps of 1, 2 or 5 (never 2.5): ticks such as 0.25% would need two decimals.
            ax.yaxis.set_major_locator(MaxNLocator(nbins="auto", steps=[1, 2, 5, 10]))
            ax.yaxis.set_major_formatter(FuncFormatter(partial(_percent_tick, lang)))
        every = max(1, math.ceil(len(xs) / 10))
        ax.set_xticks(xs[::every], data.labels[::every], fontsize=7)
        ax.tick_params(axis="y", labelsize=7)
        ax.set_xlim(-0.5, max(len(xs) - 0.5, 0.5))
    handles = [
        Line2D([], [], linestyle="--", color=_GREY, linewidth=1, label=words["norm"]),
        Patch(facecolor=_RED, alpha=0.25, label=words["fail"]),
    ]
    fig.legend(handles=handles, loc="lower center", ncols=2, fontsize=8, frameon=False)
    span = weeks_label([r.week for r in ordered], lang)
    fig.suptitle(f"{seller.name} · {span}", fontsize=11, parse_math=False)
    fig.tight_layout(rect=(0, 0.04, 1, 1))
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()


def quality_chart(
    seller: SellerRef, scores: Sequence[tuple[IsoWeek, int]], alert: float, *, lang: Language
) -> bytes:
    """A PNG of bol.com's quality score per week (``scores``, any order): the alert level
    as a dashed line, weeks below it marked red."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D

    gettext = translations(lang).gettext
    ordered = sorted(scores)
    labels = [f"{week.week}" for week, _ in ordered]
    values = [score for _, score in ordered]
    xs = list(range(len(ordered)))
    fig = Figure(figsize=(8, 4), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.subplots()
    ax.set_title(gettext(_WORDS["quality"]), fontsize=10)
    ax.grid(True, axis="y", alpha=0.3)
    ax.plot(xs, values, color=_GREEN, linewidth=1.5)
    for x, value in zip(xs, values, strict=True):
        below = value < alert
        if below:
            ax.axvspan(x - 0.5, x + 0.5, color=_RED, alpha=0.12, linewidth=0)
        ax.plot([x], [value], marker="o", markersize=4, color=_RED if below else _GREEN)
    ax.axhline(alert, linestyle="--", color=_GREY, linewidth=1)
    ax.set_ylim(0, 100.5)
    every = max(1, math.ceil(len(xs) / 10))
    ax.set_xticks(xs[::every], labels[::every], fontsize=7)
    ax.tick_params(axis="y", labelsize=7)
    ax.set_xlim(-0.5, max(len(xs) - 0.5, 0.5))
    label = f"{gettext(_WORDS['alert'])} ({decimal(alert, lang, 0)})"
    handles = [Line2D([], [], linestyle="--", color=_GREY, linewidth=1, label=label)]
    fig.legend(handles=handles, loc="lower center", fontsize=8, frameon=False)
    span = weeks_label([week for week, _ in ordered], lang)
    fig.suptitle(f"{seller.name} · {span}", fontsize=11, parse_math=False)
    fig.tight_layout(rect=(0, 0.06, 1, 1))
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()


def _percent_tick(lang: Language, value: float, _position: int | None = None) -> str:
    """A tick label with as many decimals as it needs (at most 3): 0.25 is ``0,25%``."""
    digits = 0
    while digits < 3 and abs(value - round(value, digits)) > 1e-9:
        digits += 1
    return decimal(value, lang, digits) + "%"
