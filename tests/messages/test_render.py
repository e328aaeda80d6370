"""Rendering: both languages load, every kind renders in every format, the limits hold."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from importlib import resources
from typing import Any

import pytest

from messages import KINDS, LANGUAGES, SellerRef, render
from messages.facts import ReportView
from messages.model import FORMATS
from messages.render import REQUIRED, environment
from norms import Indicator, evaluate_week, load_policy
from tests.messages.cases import OTHER_CASES, REPORT_KINDS, all_cases, report_data
from tests.messages.checks import (
    assert_block_limits,
    assert_slack_safe,
    assert_telegram_html,
    slack_texts,
)
from tests.messages.stories import STORIES, WEEK

CASES = list(all_cases())


def test_cases_cover_every_kind() -> None:
    assert {kind for _, kind, _ in CASES} == KINDS
    assert set(REQUIRED) == KINDS


def test_one_template_per_kind_for_every_language() -> None:
    """One template tree: a template per kind, no copy of the tree per language."""
    folder = resources.files("messages").joinpath("templates")
    names = {p.name for p in folder.iterdir() if p.name.endswith(".j2")}
    assert {f"{kind}.j2" for kind in KINDS} <= names
    folders = {p.name for p in folder.iterdir() if p.is_dir()}
    assert folders == {"alerts", "digest"}, "the words of a language belong in its catalog"


@pytest.mark.parametrize("fmt", FORMATS)
def test_both_languages_load_and_differ(fmt: str) -> None:
    """Dutch is Dutch and English is English: no silent fallback to the other language."""
    data = report_data("alerts", "warning2")
    nl = render("alerts", data, fmt=fmt, lang="nl").text  # type: ignore[arg-type]
    en = render("alerts", data, fmt=fmt, lang="en").text  # type: ignore[arg-type]
    assert "Waarschuwing 2 van 4" in nl and "Wat gebeurt er nu?" in nl
    assert "Warning 2 of 4" in en and "What happens next?" in en
    assert "93%" in nl and "92,0%" in nl and "92.0%" in en


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("story", list(STORIES))
@pytest.mark.parametrize("kind", REPORT_KINDS)
def test_every_report_kind_renders_for_every_story(
    kind: str, story: str, lang: str, fmt: str
) -> None:
    rendered = render(kind, report_data(kind, story), fmt=fmt, lang=lang)  # type: ignore[arg-type]
    _assert_well_formed(rendered.text, rendered.blocks, rendered.parse_mode, fmt)


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("case", list(OTHER_CASES))
def test_every_other_kind_renders(case: str, lang: str, fmt: str) -> None:
    kind, data = OTHER_CASES[case]
    rendered = render(kind, data, fmt=fmt, lang=lang)  # type: ignore[arg-type]
    _assert_well_formed(rendered.text, rendered.blocks, rendered.parse_mode, fmt)


def _assert_well_formed(text: str, blocks: Any, parse_mode: str | None, fmt: str) -> None:
    assert text.strip()
    assert "\x1e" not in text
    assert "\n\n\n" not in text
    if fmt == "telegram":
        assert parse_mode == "HTML" and blocks is None
        assert_telegram_html(text)
    elif fmt == "slack":
        assert parse_mode is None
        assert_block_limits(blocks)
        for piece in [text, *slack_texts(blocks)]:
            assert_slack_safe(piece)
    else:
        assert parse_mode is None and blocks is None
        assert "<b>" not in text and "*" not in text


def test_template_text_never_holds_raw_markup_characters() -> None:
    """Literal template text is not escaped: &, < and > must come through an expression."""
    env = environment("text", "en")
    for name in env.list_templates():
        source = env.loader.get_source(env, name)[0]  # type: ignore[union-attr]
        for _, token, value in env.lex(source):
            if token == "data":
                assert not set(value) & set("&<>"), f"{name}: {value!r}"


def test_unknown_kind_and_missing_keys_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown message kind"):
        render("nonsense", {}, fmt="text", lang="nl")
    with pytest.raises(ValueError, match="needs seller"):
        render("score", {"report": STORIES["gold"].report()}, fmt="text", lang="nl")
    with pytest.raises(ValueError, match="unknown format"):
        render("muted", {}, fmt="html", lang="nl")  # type: ignore[arg-type]


def test_slack_never_has_more_than_50_blocks() -> None:
    """A team digest of many sellers keeps whole sellers and says how many were left out."""
    entries = []
    for n in range(30):
        story = list(STORIES.values())[n % len(STORIES)]
        seller = SellerRef(f"shop-{n}", f"Winkel {n:02d}")
        entries.append({"seller": seller, "report": story.report(), "previous": None})
    data: Mapping[str, Any] = {"entries": entries, "team": True}
    for lang, word in (("nl", "verkopers"), ("en", "sellers")):
        rendered = render("digest", data, fmt="slack", lang=lang)  # type: ignore[arg-type]
        assert rendered.blocks is not None
        assert_block_limits(rendered.blocks)
        assert len(rendered.blocks) == 50 or rendered.blocks[-1]["type"] != "divider"
        last = rendered.blocks[-1]["text"]["text"]
        shown = sum(1 for b in rendered.blocks if b["type"] == "divider")
        assert last.startswith("…") and f" {30 - shown} " in last and word in last
        assert all(f"Winkel {n:02d}" in rendered.text for n in range(30))


def test_long_sections_are_cut_for_slack() -> None:
    from bot.ingest.cells import unknown_indicator
    from bot.ingest.rows import Issue

    issues = [Issue("weken.csv", n, 4, unknown_indicator("x" * 180)) for n in range(1, 60)]
    data = {"file": "weken.csv", "issues": issues, "more": 0}
    rendered = render("upload_rejected", data, fmt="slack", lang="en")
    assert rendered.blocks is not None
    assert_block_limits(rendered.blocks)
    assert len(rendered.blocks) > 1
    assert all(f"*weken.csv, line {n}, column 4*: " in rendered.text for n in range(1, 60))


def test_numbers_and_weeks_follow_the_language() -> None:
    data = report_data("score", "warning2")
    nl = render("score", data, fmt="text", lang="nl").text
    en = render("score", data, fmt="text", lang="en").text
    assert "95,7% (norm ≥ 93%)" in nl and "95.7% (norm ≥ 93%)" in en
    assert "8,9 (norm ≥ 8,0)" in nl and "8.9 (norm ≥ 8.0)" in en
    assert "week 46 (9–15 nov)" in nl and "week 46 (9–15 Nov)" in en


def test_strikes_policy_speaks_of_strikes() -> None:
    data = report_data("alerts", "strikes")
    en = render("alerts", data, fmt="text", lang="en").text
    assert "strike 3 of 7 in the last 22 weeks" in en
    assert "Warning 3 of 4" not in en and "warning 3 of 4" not in en
    assert "The strike from week 24 has expired" in en


def test_alert_sections_follow_the_report_order() -> None:
    text = render("alerts", report_data("alerts", "suspension"), fmt="text", lang="en").text
    assert text.index("closing your shop temporarily") < text.index("Your shop rating is 5.8")


def test_exempt_indicator_is_named_with_its_reason() -> None:
    text = render("alerts", report_data("alerts", "notice"), fmt="text", lang="nl").text
    assert "Reden: landelijke staking bij PostNL" in text
    assert "Al 3 weken achter elkaar boven je norm" in text
    assert "kan bol.com je account sluiten" in text


def test_what_it_takes_is_in_the_sellers_numbers() -> None:
    text = render("status", report_data("status", "warning2"), fmt="text", lang="en").text
    assert "with about 200 items due, at most 14 may arrive late" in text
    # The target that avoids a failing week, then the norm's own and why it exists.
    assert (
        "give at least 31 a first answer within 24 hours to avoid a failing week. It takes 10 "
        "questions without a timely answer to make a failing week; the 90% norm itself, which "
        "your 6-week score is held to, asks 36."
    ) in text
    assert "at most 4 of about 200 ordered items may be cancelled" in text
    assert "up to and including week 17 of 2027" in text
    assert "To avoid a failing week next week" in text


def test_a_value_just_below_the_norm_does_not_look_like_the_norm() -> None:
    """92.96% must not read as 93.0% beside a norm of 93%."""
    story = STORIES["warning2"]
    weeks = dict(story.weeks)
    weeks[WEEK] = replace(weeks[WEEK], fulfilment=(1859, 2000))
    close = replace(story, name="close", weeks=weeks)
    report = evaluate_week(load_policy(close.policy), close.history(), WEEK)
    data = {"seller": close.seller, "report": report, "source": "upload"}
    text = render("alerts", data, fmt="text", lang="nl").text
    assert "Op tijd geleverd: deze week 92,95% (norm ≥ 93%)" in text


@pytest.mark.parametrize(
    ("lang", "better", "worse"),
    [
        ("nl", "procentpunt beter dan de norm", "procentpunt slechter dan de norm"),
        ("en", "percentage points better than the norm", "percentage points worse than the norm"),
        ("fr", "de mieux que la norme", "de moins bien que la norme"),
    ],
)
def test_a_distance_to_the_norm_says_better_or_worse(lang: str, better: str, worse: str) -> None:
    """1.4% cancellations against a norm of at most 2% is better than the norm, not "below"
    it in words that elsewhere mean a failing week."""
    text = render("score", report_data("score", "warning2"), fmt="text", lang=lang).text
    lines = text.splitlines()
    cancellations = lines[lines.index(next(x for x in lines if "1,4" in x or "1.4" in x)) + 1]
    assert cancellations.startswith("0,6" if lang != "en" else "0.6") and better in cancellations
    assert "onder de norm" not in text and "below the norm" not in text
    assert "sous la norme" not in text and "en dessous" not in text
    failing = _variant(
        "warning2", replace(STORIES["warning2"].weeks[WEEK], cancellations=(30, 200))
    )
    failing_text = render("score", failing, fmt="text", lang=lang).text
    assert worse in failing_text


def test_the_weeks_figure_and_the_6_week_score_say_which_is_which() -> None:
    """The alert quotes the week's own figure, /score the 6-week score: each is labelled,
    and the alert names the 6-week score too."""
    data = report_data("alerts", "warning2")
    data["source"] = "upload"
    alert = render("alerts", data, fmt="text", lang="nl").text
    assert "Op tijd geleverd: deze week 92,0% (norm ≥ 93%)" in alert
    assert (
        "Je score over 6 weken, die /score laat zien, is 95,7%; deze week wordt op haar eigen "
        "cijfer beoordeeld." in alert
    )
    score = render("score", report_data("score", "warning2"), fmt="text", lang="nl").text
    assert "Op tijd geleverd: score over 6 weken 95,7% (norm ≥ 93%)" in score
    assert "Beoordelingscijfer: deze week 8,9 (norm ≥ 8,0)" in score


def test_a_digest_of_several_sellers_without_team_keeps_their_order() -> None:
    entries = [
        {"seller": STORIES[name].seller, "report": STORIES[name].report(), "previous": None}
        for name in ("gold", "closed")
    ]
    text = render("digest", {"entries": entries, "team": False}, fmt="text", lang="en").text
    assert text.index("Koffie & Co") < text.index("Gadget Hoek")
    team = render("digest", {"entries": entries, "team": True}, fmt="text", lang="en").text
    assert team.index("Gadget Hoek") < team.index("Koffie & Co")


def _variant(story: str, week: Any, policy: str | None = None) -> dict[str, Any]:
    """A story with another week 46, evaluated with the real engine."""
    base = STORIES[story]
    weeks = dict(base.weeks)
    weeks[WEEK] = week
    changed = replace(base, name=f"{story}-variant", weeks=weeks, policy=policy or base.policy)
    report = evaluate_week(load_policy(changed.policy), changed.history(), WEEK)
    return {"seller": changed.seller, "report": report, "source": "upload"}


def test_an_escalating_norm_without_counts_asks_for_them() -> None:
    """Without counts the minimum cannot be checked: the message says so, and which one."""
    week = replace(
        STORIES["warning2"].weeks[WEEK],
        value_only=frozenset({Indicator.FULFILMENT, Indicator.TRACK_AND_TRACE}),
    )
    data = _variant("warning2", week)
    nl = render("alerts", data, fmt="text", lang="nl").text
    en = render("alerts", data, fmt="text", lang="en").text
    assert "kon het minimum (3 te laat geleverde artikelen) niet worden gecontroleerd" in nl
    assert "Stuur de aantallen voortaan mee." in nl
    assert "the minimum (3 items delivered late) could not be checked" in en
    # A norm without a minimum just says the counts were not given.
    assert "98,5% (norm ≥ 100%)\naantallen niet meegegeven\n" in nl


def test_a_norm_notice_under_the_strikes_policy_speaks_of_strikes() -> None:
    week = replace(STORIES["strikes"].weeks[WEEK], returns=(16, 200))
    data = _variant("strikes", week)
    nl = render("alerts", data, fmt="text", lang="nl").text
    en = render("alerts", data, fmt="text", lang="en").text
    assert "Die levert geen strike op, maar bol.com mailt je er wel over." in nl
    assert "verbetertraject" not in nl
    assert "It does not count as a strike" in en


def test_gold_gaps_speak_of_a_rolling_window() -> None:
    week = replace(STORIES["small"].weeks[WEEK], reviews=2)
    data = _variant("small", week)
    nl = render("goldlabel", data, fmt="text", lang="nl").text
    en = render("goldlabel", data, fmt="text", lang="en").text
    assert "1 beoordeling te weinig: je hebt er minstens 21 per 4 weken nodig" in nl
    assert "11 verkochte artikelen te weinig: je moet er minstens 51 per 4 weken verkopen" in nl
    assert "1 review short: you need at least 21 in any 4 weeks" in en


def test_every_tip_key_has_its_own_tip() -> None:
    """No tip key falls through to the all-fine tip: the gold keys follow the conditions."""
    view = ReportView(report_data("goldlabel", "small")["report"])
    names = ("average_rating", "aspect_ratings", "reviews_per_month", "items_sold_per_month")
    for lang in LANGUAGES:
        lib = environment("text", lang).get_template("_lib.j2").make_module()
        keep = str(lib.one_tip("keep", view)).strip()
        for name in names:
            assert str(lib.one_tip(f"gold_{name}", view)).strip() != keep


def test_a_small_shop_hears_that_the_minimum_decides() -> None:
    data = report_data("status", "small")
    nl = render("status", data, fmt="text", lang="nl").text
    assert (
        "hooguit 2 te laat komen zonder week onder de norm. Pas bij 3 te laat geleverde "
        "artikelen is het een week onder de norm; de norm van 93% zelf, waaraan je score over 6 "
        "weken wordt gemeten, staat er geen toe."
    ) in nl
    assert "met zo weinig klantvragen (ongeveer 5) kan dit geen week onder de norm opleveren" in nl
    assert "minstens 0" not in nl


def _split_week_data() -> dict[str, Any]:
    """A v11 week: handed over late via bol, own shipping late too but excluded by bol.com."""
    from norms import Measurement, SellerHistory

    week = WEEK
    data = {
        Indicator.HANDOVER: Measurement(Indicator.HANDOVER, week, 180, 200),
        Indicator.ON_TIME: Measurement(Indicator.ON_TIME, week, 80, 100, excluded=True),
        Indicator.CANCELLATIONS: Measurement(Indicator.CANCELLATIONS, week, 1, 300),
    }
    history = SellerHistory("shop-1", {week: data})
    report = evaluate_week(load_policy("strikes-22w"), history, week)
    return {"seller": SellerRef("shop-1", "Koffie & Co"), "report": report, "source": "bol.com API"}


@pytest.mark.parametrize("fmt", FORMATS)
def test_handover_and_on_time_are_named_and_bol_exclusion_is_the_reason(fmt: str) -> None:
    data = _split_week_data()
    words = {
        "en": (
            "On-time handover (via bol)",
            "180 of 200 items handed over to the carrier on time",
            "On-time delivery (own shipping)",
            "bol.com excluded this week",
        ),
        "nl": (
            "Op tijd overgedragen (via bol)",
            "180 van 200 artikelen op tijd aan de vervoerder",
            "Op tijd geleverd (eigen verzending)",
            "bol.com telt deze week niet mee",
        ),
        "fr": (
            "Remis à temps (via bol)",
            "180 articles sur 200 remis à temps au transporteur",
            "Livré à temps (propre expédition)",
            "bol.com ne compte pas cette semaine",
        ),
    }
    for lang, expected in words.items():
        alerts = render("alerts", data, fmt=fmt, lang=lang).text  # type: ignore[arg-type]
        for text in expected:
            assert text in alerts, (lang, text)
        for kind in ("score", "status", "digest"):
            kdata = (
                {"entries": [{"seller": data["seller"], "report": data["report"]}], "team": False}
                if kind == "digest"
                else data
            )
            shown = render(kind, kdata, fmt=fmt, lang=lang).text  # type: ignore[arg-type]
            if kind != "status":
                assert expected[0] in shown and expected[2] in shown, (lang, kind)
