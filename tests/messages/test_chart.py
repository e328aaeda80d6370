"""The history chart: a PNG, drawn without pyplot."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from messages import SellerRef, history_chart
from tests.messages.stories import STORIES, WEEK

PNG = b"\x89PNG\r\n\x1a\n"
ROOT = Path(__file__).resolve().parents[2]


def test_chart_is_a_png_for_every_language() -> None:
    story = STORIES["suspension"]
    reports = [story.report(WEEK.shift(-n)) for n in range(11, -1, -1)]
    for lang in ("nl", "en"):
        png = history_chart(story.seller, reports, lang=lang)  # type: ignore[arg-type]
        assert png.startswith(PNG) and len(png) > 5000


def test_chart_without_data_and_with_a_hostile_name() -> None:
    reports = [STORIES["nodata"].report()]
    png = history_chart(SellerRef("x", "$\\frac{1}{0}$ <b>&"), reports, lang="nl")
    assert png.startswith(PNG)


def test_chart_renders_without_pyplot() -> None:
    """Importing messages loads no matplotlib; drawing a chart never loads pyplot."""
    code = textwrap.dedent(
        """
        import sys
        import messages
        assert "matplotlib" not in sys.modules
        from tests.messages.stories import STORIES
        story = STORIES["strikes"]
        png = messages.history_chart(story.seller, [story.report()], lang="en")
        assert png.startswith(b"\\x89PNG")
        assert "matplotlib.pyplot" not in sys.modules
        print("ok")
        """
    )
    result = subprocess.run(
        [sys.executable, "-W", "error", "-c", code],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


def test_percent_ticks_keep_the_decimals_they_need() -> None:
    from messages.chart import _percent_tick

    assert _percent_tick("nl", 0.25) == "0,25%"
    assert _percent_tick("en", 0.5) == "0.5%"
    assert _percent_tick("nl", 2.0) == "2%"


def test_the_chart_says_which_figure_is_which(monkeypatch: pytest.MonkeyPatch) -> None:
    """The line is the 6-week score, the red band the week's own verdict: the titles and
    the legend say so, and a week that failed on its own figure while its 6-week score
    meets the norm has a red band behind a green point."""
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    events: list[tuple[str, object]] = []
    set_title, plot, axvspan, legend = Axes.set_title, Axes.plot, Axes.axvspan, Figure.legend

    def spy_title(self: Axes, label: str, *args: Any, **kwargs: Any) -> Any:
        events.append(("title", label))
        return set_title(self, label, *args, **kwargs)

    def spy_plot(self: Axes, *args: Any, **kwargs: Any) -> Any:
        if kwargs.get("marker") == "o":
            events.append(("point", kwargs["color"]))
        return plot(self, *args, **kwargs)

    def spy_span(self: Axes, *args: Any, **kwargs: Any) -> Any:
        events.append(("band", args[0]))
        return axvspan(self, *args, **kwargs)

    def spy_legend(self: Figure, *args: Any, **kwargs: Any) -> Any:
        events.extend(("legend", h.get_label()) for h in kwargs["handles"])
        return legend(self, *args, **kwargs)

    monkeypatch.setattr(Axes, "set_title", spy_title)
    monkeypatch.setattr(Axes, "plot", spy_plot)
    monkeypatch.setattr(Axes, "axvspan", spy_span)
    monkeypatch.setattr(Figure, "legend", spy_legend)
    story = STORIES["warning2"]
    reports = [story.report(WEEK.shift(-n)) for n in range(5, -1, -1)]
    history_chart(story.seller, reports, lang="nl")
    titles = [text for kind, text in events if kind == "title"]
    assert titles == [
        "Op tijd geleverd: score over 6 weken",
        "Annuleringen: score over 6 weken",
        "Responstijd: score over 6 weken",
        "Beoordelingscijfer: cijfer van de week",
    ]
    assert ("legend", "week onder de norm (op het eigen weekcijfer)") in events
    # Week 46 failed on-time delivery on its own figure (92.0%); its 6-week score is 95.7%.
    fulfilment = events[: events.index(("title", titles[1]))]
    assert fulfilment[-2][0] == "band" and fulfilment[-1] == ("point", "#2e7d32")
