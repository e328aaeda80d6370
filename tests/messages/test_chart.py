"""The history chart: a PNG, drawn without pyplot."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

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
