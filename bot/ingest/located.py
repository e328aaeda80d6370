"""JSON parsed with positions: every object, array and value knows where it starts.

The standard library parses scalars (its C scanner); only objects and arrays are walked
here, so that a rejection can name the line and column of the object it is about.
"""

from __future__ import annotations

import json
from array import array
from bisect import bisect_right
from collections.abc import Iterator
from json.decoder import WHITESPACE, scanstring  # type: ignore[attr-defined]
from typing import Any, NamedTuple

# Below this depth positions no longer help anyone: nested values are parsed in one go.
_LOCATED_DEPTH = 16


class Node(NamedTuple):
    """A JSON value and its offset: objects hold ``dict[str, Node]``, arrays ``list[Node]``."""

    value: Any
    offset: int


def parse_located(text: str) -> Node:
    """Parse ``text`` as one JSON value; raises ``json.JSONDecodeError`` like ``json.loads``."""
    parser = _Parser(text)
    node, end = parser.value(_skip(text, 0), 0)
    _expect_end(text, end)
    return node


def iter_located(text: str) -> Iterator[Node]:
    """The items of a top-level array one by one, else the one value.

    Only one item is held at a time; a syntax error further on raises when reached.
    """
    index = _skip(text, 0)
    if text[index : index + 1] != "[":
        yield parse_located(text)
        return
    parser = _Parser(text)
    index = _skip(text, index + 1)
    if text[index : index + 1] == "]":
        _expect_end(text, index + 1)
        return
    while True:
        item, index = parser.value(index, 1)
        yield item
        index = _skip(text, index)
        char = text[index : index + 1]
        if char == "]":
            _expect_end(text, index + 1)
            return
        if char != ",":
            raise json.JSONDecodeError("Expecting ',' delimiter", text, index)
        index = _skip(text, index + 1)


def _expect_end(text: str, index: int) -> None:
    index = _skip(text, index)
    if index != len(text):
        raise json.JSONDecodeError("Extra data", text, index)


class Lines:
    """Turns a character offset into a 1-based (line, column)."""

    def __init__(self, text: str) -> None:
        self.starts = array("q", [0])  # 8 bytes a line, for the 20 MB file of a million lines
        index = text.find("\n")
        while index >= 0:
            self.starts.append(index + 1)
            index = text.find("\n", index + 1)

    def position(self, offset: int) -> tuple[int, int]:
        line = bisect_right(self.starts, offset)
        return line, offset - self.starts[line - 1] + 1


_WHITESPACE = WHITESPACE.match
_BLANKS = frozenset(" \t\n\r")


def _skip(text: str, index: int) -> int:
    if text[index : index + 1] in _BLANKS:
        return int(_WHITESPACE(text, index).end())
    return index


class _Parser:
    """A recursive walk over objects and arrays; the C scanner does strings and numbers."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.scan = json.JSONDecoder().scan_once  # type: ignore[attr-defined]

    def value(self, index: int, depth: int) -> tuple[Node, int]:
        text = self.text
        char = text[index : index + 1]
        if depth < _LOCATED_DEPTH:
            if char == "{":
                return self._object(index, depth + 1)
            if char == "[":
                return self._array(index, depth + 1)
        try:
            value, end = self.scan(text, index)
        except StopIteration as stop:
            raise json.JSONDecodeError("Expecting value", text, stop.value) from None
        except json.JSONDecodeError:
            raise
        except ValueError:
            # int() refuses a number of more than 4,300 digits (CVE-2020-10735 limit).
            raise json.JSONDecodeError("a number with too many digits", text, index) from None
        return Node(value, index), end

    def _object(self, start: int, depth: int) -> tuple[Node, int]:
        text, value, blanks, whitespace = self.text, self.value, _BLANKS, _WHITESPACE
        fields: dict[str, Node] = {}
        index = _skip(text, start + 1)
        if text[index : index + 1] == "}":
            return Node(fields, start), index + 1
        while True:
            if text[index : index + 1] != '"':
                raise json.JSONDecodeError(
                    "Expecting property name enclosed in double quotes", text, index
                )
            key, index = scanstring(text, index + 1)
            if text[index : index + 1] != ":":
                index = _skip(text, index)
                if text[index : index + 1] != ":":
                    raise json.JSONDecodeError("Expecting ':' delimiter", text, index)
            index += 1
            if text[index : index + 1] in blanks:
                index = whitespace(text, index).end()
            fields[key], index = value(index, depth)
            char = text[index : index + 1]
            if char in blanks:
                index = whitespace(text, index).end()
                char = text[index : index + 1]
            if char == "}":
                return Node(fields, start), index + 1
            if char != ",":
                raise json.JSONDecodeError("Expecting ',' delimiter", text, index)
            index += 1
            if text[index : index + 1] in blanks:
                index = whitespace(text, index).end()

    def _array(self, start: int, depth: int) -> tuple[Node, int]:
        text, value, blanks, whitespace = self.text, self.value, _BLANKS, _WHITESPACE
        items: list[Node] = []
        index = _skip(text, start + 1)
        if text[index : index + 1] == "]":
            return Node(items, start), index + 1
        while True:
            item, index = value(index, depth)
            items.append(item)
            char = text[index : index + 1]
            if char in blanks:
                index = whitespace(text, index).end()
                char = text[index : index + 1]
            if char == "]":
                return Node(items, start), index + 1
            if char != ",":
                raise json.JSONDecodeError("Expecting ',' delimiter", text, index)
            index += 1
            if text[index : index + 1] in blanks:
                index = whitespace(text, index).end()
