"""Structural checks on rendered messages: valid Telegram HTML, safe Slack text, limits."""

from __future__ import annotations

import re
from typing import Any

_TAG = re.compile(r"<[^>]*>")
_ALLOWED_TAG = re.compile(r"</?(b|i|code)>")
_BARE_AMP_HTML = re.compile(r"&(?!(?:amp|lt|gt|quot|#\d+|#x[0-9a-fA-F]+);)")
_BARE_AMP_SLACK = re.compile(r"&(?!(?:amp|lt|gt);)")


def assert_telegram_html(text: str) -> None:
    """Only <b>, <i> and <code>, properly nested; every &, < and > escaped."""
    stack: list[str] = []
    for tag in _TAG.findall(text):
        assert _ALLOWED_TAG.fullmatch(tag), f"unexpected tag {tag!r}"
        name = tag.strip("</>")
        if tag.startswith("</"):
            assert stack and stack[-1] == name, f"unbalanced {tag!r} in {text!r}"
            stack.pop()
        else:
            stack.append(name)
    assert not stack, f"unclosed tags {stack}"
    bare = _TAG.sub("", text)
    assert "<" not in bare and ">" not in bare
    assert not _BARE_AMP_HTML.search(text), "bare & in Telegram HTML"


def slack_texts(blocks: list[dict[str, Any]]) -> list[str]:
    """Every text in a list of blocks."""
    texts: list[str] = []
    for block in blocks:
        if "text" in block:
            texts.append(block["text"]["text"])
        for item in block.get("fields", []) + block.get("elements", []):
            texts.append(item["text"])
    return texts


def assert_slack_safe(text: str) -> None:
    """No raw < or > (no mentions, no links), every & escaped."""
    assert "<" not in text and ">" not in text, text
    assert not _BARE_AMP_SLACK.search(text), text


def assert_block_limits(blocks: list[dict[str, Any]]) -> None:
    assert 0 < len(blocks) <= 50
    for block in blocks:
        kind = block["type"]
        assert kind in {"header", "section", "context", "divider"}
        if kind == "header":
            assert block["text"]["type"] == "plain_text"
            assert 0 < len(block["text"]["text"]) <= 150
        if kind == "section" and "text" in block:
            assert 0 < len(block["text"]["text"]) <= 3000
        if kind == "section" and "fields" in block:
            assert 0 < len(block["fields"]) <= 10
            assert all(0 < len(f["text"]) <= 2000 for f in block["fields"])
        if kind == "context":
            assert all(0 < len(e["text"]) <= 3000 for e in block["elements"])
