"""Rendering once for many sellers gives each seller the very bytes of its own rendering."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from messages import FORMATS, LANGUAGES, Cause, SellerRef, render, render_reusing, reuse
from messages.reuse import REUSED_KINDS
from norms import ALERT_ORDER, IsoWeek, Policy, SellerHistory, evaluate_week
from tests.messages.cases import OTHER_CASES, all_cases
from tests.messages.stories import STORIES, WEEK
from tests.norms.histories import FIRST, POLICIES, seller_histories

# Names that escaping, composing or Slack's limits treat differently from plain words.
AWKWARD = [
    "Koffie & Co",
    "Jan's <b>Klusshop</b>",
    "a_b*c~d`e",
    "  padded  ",
    "two\nlines",
    "tab\tbetween",
    "",
    " ",
    "ctrl\x1e\x07mark",
    "&amp; already",
    "no\u00a0break",
    "x" * 300,
    "NwSellerNameHole7c41",
]

names = st.one_of(st.sampled_from(AWKWARD), st.text(max_size=40))


def _reused(kind: str, data: dict[str, Any], fmt: Any, lang: Any) -> Any:
    return render_reusing(kind, data, fmt=fmt, lang=lang)


def _same(kind: str, data: dict[str, Any], fmt: Any, lang: Any) -> None:
    assert _reused(kind, data, fmt, lang) == render(kind, data, fmt=fmt, lang=lang)


def _as(data: dict[str, Any], seller: SellerRef) -> dict[str, Any]:
    """The same message for another seller: its name, its id, its report."""
    out = dict(data, seller=seller)
    if "report" in data:
        out["report"] = replace(data["report"], seller_id=seller.id)
    return out


def test_every_story_for_awkward_names_in_every_format_and_language() -> None:
    for story in STORIES.values():
        data = {"seller": story.seller, "report": story.report(), "source": story.source}
        for fmt in FORMATS:
            for lang in LANGUAGES:
                for i, name in enumerate(AWKWARD):
                    _same("alerts", _as(data, SellerRef(f"shop-{i}", name)), fmt, lang)


def test_every_golden_case_of_a_reused_kind_for_awkward_names() -> None:
    """Whatever data a golden case of a reused kind holds (bol.com's snapshot, say), each
    seller reads the bytes of a rendering of its own."""
    cases = [(kind, dict(data)) for _, kind, data in all_cases() if kind in REUSED_KINDS]
    assert {kind for kind, _ in cases} == REUSED_KINDS
    for kind, data in cases:
        for fmt in FORMATS:
            for lang in LANGUAGES:
                for i, name in enumerate(AWKWARD):
                    _same(kind, _as(data, SellerRef(f"shop-{i}", name)), fmt, lang)


def test_corrections_and_missing_figures_for_awkward_names() -> None:
    corrections = [data for kind, data in OTHER_CASES.values() if kind == "correction"]
    for fmt in FORMATS:
        for lang in LANGUAGES:
            for i, name in enumerate(AWKWARD):
                seller = SellerRef(f"shop-{i}", name)
                for data in corrections:
                    _same("correction", _as(dict(data), seller), fmt, lang)
                _same("figures_missing", {"week": WEEK, "seller": seller}, fmt, lang)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from(POLICIES),
    seller_histories(),
    st.data(),
    st.lists(names, min_size=2, max_size=3),
    st.sampled_from(FORMATS),
    st.sampled_from(LANGUAGES),
)
def test_generated_reports_read_the_same_reused(
    policy: Policy,
    generated: tuple[SellerHistory, int],
    data: st.DataObject,
    sellers: list[str],
    fmt: Any,
    lang: Any,
) -> None:
    """Any week of any history, for several sellers in a row (the first fills the memo,
    the others reuse it), alerts and a correction alike."""
    history, weeks = generated
    week = FIRST.shift(data.draw(st.integers(0, weeks - 1)))
    report = evaluate_week(policy, history, week)
    report = replace(report, alerts=report.alerts or ("norm_notice",))
    sent = data.draw(st.lists(st.sampled_from(ALERT_ORDER), max_size=2, unique=True))
    cause = data.draw(st.sampled_from([None, Cause("figures", week, "upload")]))
    for i, name in enumerate(sellers):
        seller = SellerRef(f"shop-{i}", name)
        alerts = {"seller": seller, "report": report, "source": "upload"}
        _same("alerts", _as(alerts, seller), fmt, lang)
        correction = {
            "seller": seller,
            "week": week,
            "sent": sent,
            "sent_steps": {},
            "now": list(report.alerts),
            "report": report,
            "cause": cause,
        }
        _same("correction", _as(correction, seller), fmt, lang)


def test_alike_weeks_are_rendered_once() -> None:
    """Fifty sellers with the same week keep one rendering; another week is another."""
    reuse.forget()
    story = STORIES["warning2"]
    data = {"seller": story.seller, "report": story.report(), "source": "upload"}
    for i in range(50):
        _reused("alerts", _as(data, SellerRef(f"shop-{i}", f"Shop {i}")), "telegram", "nl")
    assert len(reuse._memo) == 1
    other = {**data, "report": STORIES["small"].report()}
    _reused("alerts", _as(other, SellerRef("shop-x", "X")), "telegram", "nl")
    _reused("alerts", _as(data, SellerRef("shop-y", "Y")), "telegram", "en")
    elsewhere = {**_as(data, SellerRef("shop-z", "Z")), "source": "bol.com"}
    _reused("alerts", elsewhere, "telegram", "nl")
    assert len(reuse._memo) == 4


def test_a_week_differing_anywhere_is_not_reused() -> None:
    """One figure, the policy, or any other key of the data: a rendering of its own."""
    reuse.forget()
    story = STORIES["warning2"]
    report = story.report()
    data = {"seller": story.seller, "report": report, "source": "upload"}
    first = _reused("alerts", data, "text", "en")
    later = replace(report, week=IsoWeek(2026, 47))
    assert _reused("alerts", {**data, "report": later}, "text", "en") != first
    # Keys another part adds (bol.com's snapshot, say) shape the key as well.
    assert _reused("alerts", {**data, "extra": 1}, "text", "en") == first
    assert len(reuse._memo) == 3
