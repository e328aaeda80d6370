"""split_telegram: line boundaries, the limit, and tag pairs kept whole."""

from __future__ import annotations

import re

from messages import render, split_telegram
from tests.messages.cases import team_digest
from tests.messages.checks import assert_telegram_html


def _size(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def test_short_text_is_one_message() -> None:
    assert split_telegram("<b>Hallo</b>\nwereld\n") == ["<b>Hallo</b>\nwereld"]
    assert split_telegram("") == []


def test_splits_on_line_boundaries_within_the_limit() -> None:
    lines = [f"regel {n}: " + "x" * (n % 50) for n in range(400)]
    text = "\n".join(lines)
    chunks = split_telegram(text, limit=1000)
    assert len(chunks) > 1
    assert all(_size(c) <= 1000 for c in chunks)
    assert [line for c in chunks for line in c.split("\n")] == lines


def test_prefers_paragraph_breaks() -> None:
    paragraphs = ["\n".join(f"p{p} regel {n}" for n in range(8)) for p in range(20)]
    text = "\n\n".join(paragraphs)
    for chunk in split_telegram(text, limit=600):
        assert chunk.split("\n")[0].endswith("regel 0")
        assert chunk.split("\n")[-1].endswith("regel 7")


def test_never_cuts_inside_a_tag_pair_when_avoidable() -> None:
    block = "<b>kop\n" + "\n".join(f"regel {n}" for n in range(10)) + "</b>"
    text = "\n".join([block] * 30)
    chunks = split_telegram(text, limit=500)
    assert len(chunks) > 1
    for chunk in chunks:
        assert chunk.count("<b>") == chunk.count("</b>")
        assert chunk.startswith("<b>kop") and chunk.endswith("</b>")


def test_closes_and_reopens_a_tag_pair_it_must_cut() -> None:
    text = "<i>" + "\n".join(f"regel {n} " + "y" * 40 for n in range(100)) + "</i>"
    chunks = split_telegram(text, limit=700)
    assert len(chunks) > 1
    for chunk in chunks:
        assert _size(chunk) <= 700
        assert chunk.startswith("<i>") and chunk.endswith("</i>")
        assert_telegram_html(chunk)


def test_a_line_longer_than_the_limit_is_cut_outside_entities() -> None:
    line = "&amp;" * 500 + "z" * 300
    chunks = split_telegram(line, limit=1000)
    assert all(_size(c) <= 1000 for c in chunks)
    assert "".join(chunks) == line
    assert all(not re.search(r"&[a-z]*$", c) for c in chunks)


def test_counts_emoji_as_telegram_does() -> None:
    text = "\n".join("🟢" * 10 for _ in range(100))
    assert all(_size(c) <= 300 for c in split_telegram(text, limit=300))


def test_a_rendered_team_digest_splits_into_valid_messages() -> None:
    text = render("digest", team_digest(), fmt="telegram", lang="nl").text
    chunks = split_telegram(text, limit=1500)
    assert len(chunks) > 1
    for chunk in chunks:
        assert _size(chunk) <= 1500
        assert_telegram_html(chunk)
