"""Whatever users or data files supply is shown literally, never as markup or template."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from bot.ingest.cells import unknown_indicator
from bot.ingest.rows import Issue
from messages import LANGUAGES, SellerRef, render
from messages.model import FORMATS
from norms import Exemption, Indicator, evaluate_week, load_policy
from tests.messages.cases import REPORT_KINDS, report_data
from tests.messages.checks import assert_slack_safe, assert_telegram_html, slack_texts
from tests.messages.stories import STORIES, WEEK

EVIL = "<b>&<!channel>{{ 7*7 }} *bold* _it_ ~strike~ `code`"
Z = "\u200b"  # zero-width space: keeps a mrkdwn marker from formatting
ESCAPED = {
    "telegram": "&lt;b&gt;&amp;&lt;!channel&gt;{{ 7*7 }} *bold* _it_ ~strike~ `code`",
    "slack": (
        f"&lt;b&gt;&amp;&lt;!channel&gt;{{{{ 7{Z}*{Z}7 }}}} {Z}*{Z}bold{Z}*{Z} {Z}_{Z}it{Z}_{Z} "
        f"{Z}~{Z}strike{Z}~{Z} {Z}`{Z}code{Z}`{Z}"
    ),
    "text": EVIL,
}
# Inside a code span only a backtick formats: the rest is shown as written there.
IN_CODE = f"&lt;b&gt;&amp;&lt;!channel&gt;{{{{ 7*7 }}}} *bold* _it_ ~strike~ {Z}`{Z}code{Z}`{Z}"


def shown_literally(fmt: str, text: str) -> bool:
    """Whether ``text`` holds EVIL escaped for ``fmt`` (for Slack: or inside a code span)."""
    return ESCAPED[fmt] in text or (fmt == "slack" and f"`{IN_CODE}`" in text)


EVIL_SELLER = SellerRef("shop-evil", EVIL)


def _with_evil_seller(kind: str, story: str) -> dict[str, Any]:
    data = report_data(kind, story)
    if kind == "digest":
        data["entries"] = [{**e, "seller": EVIL_SELLER} for e in data["entries"]]
    else:
        data["seller"] = EVIL_SELLER
    return data


def _supplied_cases() -> list[tuple[str, str, dict[str, Any]]]:
    cases = [
        (f"{kind}-{story}", kind, _with_evil_seller(kind, story))
        for kind in REPORT_KINDS
        for story in ("warning2", "notice", "nodata")
    ]
    team = {
        "entries": [
            {"seller": EVIL_SELLER, "report": STORIES["closed"].report(), "previous": None},
        ],
        "team": True,
    }
    cases += [
        ("team-digest", "digest", team),
        (
            "correction",
            "correction",
            {"seller": EVIL_SELLER, "week": WEEK, "sent": ["warning"], "now": []},
        ),
        ("plan_done", "plan_done", {"seller": EVIL_SELLER}),
        ("plan_not_required", "plan_not_required", {"seller": EVIL_SELLER}),
        ("history", "history", {"seller": EVIL_SELLER, "weeks": 8}),
        ("sellers", "sellers", {"sellers": [EVIL_SELLER]}),
        ("choose_seller", "choose_seller", {"command": EVIL, "sellers": [EVIL_SELLER]}),
        ("link_ok", "link_ok", {"seller": EVIL_SELLER}),
        (
            "upload_ok",
            "upload_ok",
            {"file": EVIL, "rows": 3, "weeks": [WEEK], "sellers": [EVIL_SELLER]},
        ),
        (
            "upload_rejected",
            "upload_rejected",
            {"file": EVIL, "issues": [Issue(EVIL, 2, 1, unknown_indicator(EVIL))], "more": 0},
        ),
        ("unknown_seller", "unknown_seller", {"query": EVIL}),
        ("unknown_command", "unknown_command", {"command": EVIL}),
        ("no_data", "no_data", {"seller": EVIL_SELLER}),
        ("data_missing", "data_missing", {"week": WEEK, "sellers": [EVIL_SELLER]}),
        ("figures_missing", "figures_missing", {"week": WEEK, "seller": EVIL_SELLER}),
        ("destination_inactive", "destination_inactive", {"destination": EVIL, "reason": EVIL}),
        ("connect_ok", "connect_ok", {"seller": EVIL_SELLER}),
        ("connect_failed", "connect_failed", {"reason": EVIL}),
        ("poll_failed", "poll_failed", {"seller": EVIL_SELLER, "reason": EVIL}),
        ("language_set", "language_set", {"language": EVIL}),
    ]
    return cases


CASES = _supplied_cases()


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize(("case", "kind", "data"), CASES, ids=[c[0] for c in CASES])
def test_supplied_text_is_shown_literally(
    case: str, kind: str, data: dict[str, Any], lang: str, fmt: str
) -> None:
    rendered = render(kind, data, fmt=fmt, lang=lang)  # type: ignore[arg-type]
    assert shown_literally(fmt, rendered.text), rendered.text
    assert "49" not in rendered.text
    if fmt == "telegram":
        assert_telegram_html(rendered.text)
    elif fmt == "slack":
        assert rendered.blocks is not None
        texts = [rendered.text, *slack_texts(rendered.blocks)]
        for text in texts:
            assert_slack_safe(text)
            assert "<!channel>" not in text
        assert any(shown_literally(fmt, text) for text in texts[1:])
    else:
        assert "&lt;" not in rendered.text and "&amp;" not in rendered.text


@pytest.mark.parametrize("fmt", FORMATS)
def test_exemption_reason_is_escaped(fmt: str) -> None:
    story = STORIES["notice"]
    evil = replace(
        story,
        name="evil-notice",
        exemptions=(Exemption(WEEK, EVIL, frozenset({Indicator.FULFILMENT})),),
    )
    report = evaluate_week(load_policy(evil.policy), evil.history(), WEEK)
    data = {"seller": evil.seller, "report": report, "source": EVIL}
    rendered = render("alerts", data, fmt=fmt, lang="en")  # type: ignore[arg-type]
    assert rendered.text.count(ESCAPED[fmt]) == 2


@pytest.mark.parametrize("fmt", FORMATS)
def test_control_characters_cannot_forge_layout(fmt: str) -> None:
    """A name with the layout marker character does not open a header or section."""
    sneaky = SellerRef("shop-x", "Shop\x1eHForged\x1eS")
    rendered = render("link_ok", {"seller": sneaky}, fmt=fmt, lang="nl")  # type: ignore[arg-type]
    assert "ShopHForgedS" in rendered.text
    if fmt == "slack":
        assert rendered.blocks is not None
        assert [b["type"] for b in rendered.blocks] == ["section"]
