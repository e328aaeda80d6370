"""Split a long Telegram HTML message into messages of at most 4096 characters."""

from __future__ import annotations

import re

_TAG = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9-]*)[^>]*>")
_ENTITY_OR_TAG = re.compile(r"<[^>]*>|&[#a-zA-Z0-9]+;")
# Room kept for the tags that close a chunk and reopen in the next, on a very long line.
_TAG_ROOM = 200


def _size(text: str) -> int:
    """Telegram counts UTF-16 code units: an emoji outside the BMP counts twice."""
    return len(text.encode("utf-16-le")) // 2


def _stack_after(stack: list[str], text: str) -> list[str]:
    """The opening tags still open after ``text``, given those open before it."""
    stack = list(stack)
    for match in _TAG.finditer(text):
        name = match.group(2).lower()
        if match.group(1):
            for i in range(len(stack) - 1, -1, -1):
                if _name(stack[i]) == name:
                    del stack[i]
                    break
        elif not match.group(0).endswith("/>"):
            stack.append(match.group(0))
    return stack


def _name(tag: str) -> str:
    match = _TAG.match(tag)
    return match.group(2).lower() if match else ""


def _render(prefix: list[str], lines: list[str]) -> str:
    body = "\n".join(lines).strip("\n")
    closers = "".join(f"</{_name(t)}>" for t in reversed(_stack_after(prefix, body)))
    return "".join(prefix) + body + closers


def _hard_split(line: str, limit: int) -> list[str]:
    """Cut a line longer than ``limit`` without cutting inside a tag or an entity."""
    pieces: list[str] = []
    current = ""
    pos = 0
    tokens: list[str] = []
    for match in _ENTITY_OR_TAG.finditer(line):
        tokens.extend(line[pos : match.start()])
        tokens.append(match.group(0))
        pos = match.end()
    tokens.extend(line[pos:])
    for token in tokens:
        if current and _size(current + token) > limit:
            pieces.append(current)
            current = ""
        current += token
    if current:
        pieces.append(current)
    return pieces


def _best_cut(prefix: list[str], lines: list[str]) -> int:
    """How many of ``lines`` to send now: after a paragraph with no tag open if one ends in
    the second half, else after any line with no tag open, else after all of them."""
    balanced = [
        k for k in range(1, len(lines) + 1) if not _stack_after(prefix, "\n".join(lines[:k]))
    ]
    paragraphs = [k for k in balanced if k < len(lines) and not lines[k].strip()]
    late = [k for k in paragraphs if k * 2 >= len(lines)]
    if late:
        return late[-1]
    if balanced:
        return balanced[-1]
    return len(lines)


def split_telegram(text: str, limit: int = 4096) -> list[str]:
    """Split ``text`` on line boundaries into chunks of at most ``limit`` characters.

    Prefers paragraph breaks and never cuts inside a tag pair when that can be avoided;
    when it cannot, the chunk closes the open tags and the next one reopens them.
    """
    text = text.strip("\n")
    if _size(text) <= limit:
        return [text] if text.strip() else []
    lines: list[str] = []
    for line in text.split("\n"):
        if _size(line) > limit - _TAG_ROOM:
            lines.extend(_hard_split(line, limit - _TAG_ROOM))
        else:
            lines.append(line)
    chunks: list[str] = []
    prefix: list[str] = []
    current: list[str] = []
    for line in lines:
        current.append(line)
        while _size(_render(prefix, current)) > limit and len(current) > 1:
            cut = _best_cut(prefix, current[:-1])
            sent = current[:cut]
            chunks.append(_render(prefix, sent))
            prefix = _stack_after(prefix, "\n".join(sent))
            current = current[cut:]
            while current and not current[0].strip():
                current.pop(0)
    if current and "".join(current).strip():
        chunks.append(_render(prefix, current))
    return [c for c in chunks if c.strip()]
