"""From a rendered template (text with layout markers) to Telegram HTML, Slack blocks or
plain text. The template has already escaped every value for the format."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from messages.markup import CONTEXT, DIVIDER, FIELD, HEADER, MARK, SECTION
from messages.model import Format, Rendered

MAX_BLOCKS = 50
SECTION_LIMIT = 3000
FIELD_LIMIT = 2000
FIELDS_PER_BLOCK = 10
HEADER_LIMIT = 150
_BLANKS = re.compile(r"\n{3,}")


@dataclass
class Part:
    """One part of a message: a header, a section, a field, a context line or a divider."""

    kind: str
    lines: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        return _BLANKS.sub("\n\n", "\n".join(self.lines)).strip("\n")


def parse(marked: str) -> list[Part]:
    """Split the marked template output into parts; text before any marker is a section."""
    parts: list[Part] = []
    current: Part | None = None
    for line in marked.replace(MARK, "\n" + MARK).split("\n"):
        if line.startswith(MARK):
            current = Part(line[1:2])
            parts.append(current)
            line = line[2:]
            if not line.strip():
                continue
        elif current is None:
            current = Part(SECTION)
            parts.append(current)
        current.lines.append(line.rstrip())
    return [p for p in parts if p.kind == DIVIDER or p.text.strip()]


def _join_parts(parts: list[Part], render: Callable[[Part], str], fields_sep: str) -> str:
    """Parts separated by a blank line; consecutive fields stay together, one a line."""
    chunks: list[tuple[str, str]] = []
    for part in parts:
        text = render(part)
        if part.kind == FIELD and chunks and chunks[-1][0] == FIELD:
            chunks[-1] = (FIELD, chunks[-1][1] + fields_sep + text)
        else:
            chunks.append((part.kind, text))
    return "\n\n".join(text for _, text in chunks if text).strip() + "\n"


def to_telegram(parts: list[Part]) -> Rendered:
    def render(part: Part) -> str:
        if part.kind == HEADER:
            return f"<b>{part.text}</b>"
        if part.kind == CONTEXT:
            return f"<i>{part.text}</i>"
        if part.kind == DIVIDER:
            return ""
        return part.text

    return Rendered(text=_join_parts(parts, render, "\n"), parse_mode="HTML")


def to_text(parts: list[Part]) -> Rendered:
    def render(part: Part) -> str:
        if part.kind == DIVIDER:
            return "-" * 24
        return part.text

    return Rendered(text=_join_parts(parts, render, "\n"))


def _chunks(text: str, limit: int) -> list[str]:
    """Cut ``text`` on line boundaries into pieces of at most ``limit`` characters."""
    chunks: list[str] = []
    current = ""
    for line in text.split("\n"):
        while len(line) > limit:
            if current:
                chunks.append(current)
                current = ""
            chunks.append(line[: limit - 1] + "…")
            line = line[limit - 1 :]
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) > limit:
            chunks.append(current)
            current = line
        else:
            current = candidate
    if current.strip():
        chunks.append(current)
    return [c for c in chunks if c.strip()]


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def slack_blocks(parts: list[Part]) -> list[dict[str, Any]]:
    """Block Kit for the parts, before the 50-block limit is applied."""
    blocks: list[dict[str, Any]] = []
    fields: list[str] = []

    def flush_fields() -> None:
        for start in range(0, len(fields), FIELDS_PER_BLOCK):
            group = fields[start : start + FIELDS_PER_BLOCK]
            blocks.append(
                {
                    "type": "section",
                    "fields": [{"type": "mrkdwn", "text": _clip(f, FIELD_LIMIT)} for f in group],
                }
            )
        fields.clear()

    for part in parts:
        if part.kind != FIELD:
            flush_fields()
        if part.kind == HEADER:
            text = _clip(" ".join(part.text.split()), HEADER_LIMIT)
            blocks.append({"type": "header", "text": {"type": "plain_text", "text": text}})
        elif part.kind == FIELD:
            fields.append(part.text)
        elif part.kind == CONTEXT:
            text = _clip(part.text, SECTION_LIMIT)
            blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": text}]})
        elif part.kind == DIVIDER:
            blocks.append({"type": "divider"})
        else:
            for chunk in _chunks(part.text, SECTION_LIMIT):
                blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": chunk}})
    flush_fields()
    return blocks


def limit_blocks(
    blocks: list[dict[str, Any]], more: Callable[[int, bool], str]
) -> list[dict[str, Any]]:
    """At most 50 blocks. Where dividers group the message (one seller each), whole groups
    are kept; ``more(n, groups)`` words the final "…and N more" section."""
    if len(blocks) <= MAX_BLOCKS:
        return blocks
    context = blocks[-1] if blocks[-1]["type"] == "context" else None
    body = blocks[:-1] if context else blocks
    room = MAX_BLOCKS - 1 - (1 if context else 0)
    groups: list[list[dict[str, Any]]] = [[]]
    for block in body:
        if block["type"] == "divider":
            groups.append([block])
        else:
            groups[-1].append(block)
    kept: list[dict[str, Any]] = []
    if len(groups) > 1:
        taken = 0
        for group in groups:
            if len(kept) + len(group) > room:
                break
            kept.extend(group)
            taken += 1
        dropped, by_group = len(groups) - taken, True
    if len(groups) <= 1 or not kept:
        kept = body[:room]
        dropped, by_group = len(body) - room, False
    tail = {"type": "section", "text": {"type": "mrkdwn", "text": more(dropped, by_group)}}
    return [*kept, tail, *([context] if context else [])]


def to_slack(parts: list[Part], more: Callable[[int, bool], str]) -> Rendered:
    def render(part: Part) -> str:
        if part.kind == HEADER:
            return f"*{part.text}*"
        if part.kind == DIVIDER:
            return "———"
        return part.text

    blocks = limit_blocks(slack_blocks(parts), more)
    return Rendered(text=_join_parts(parts, render, "\n"), blocks=blocks)


def compose(marked: str, fmt: Format, more: Callable[[int, bool], str]) -> Rendered:
    """The message for ``fmt`` from marked template output."""
    parts = parse(marked)
    if fmt == "telegram":
        return to_telegram(parts)
    if fmt == "slack":
        return to_slack(parts, more)
    return to_text(parts)
