"""JSON with positions: the same values as json.loads, and where each one starts."""

from __future__ import annotations

import json

import pytest

from bot.ingest.located import Lines, Node, iter_located, parse_located

TEXT = '{\n  "a": [1, {"b": null}],\n  "c": "é"\n}'


def plain(node: Node) -> object:
    if isinstance(node.value, dict):
        return {key: plain(child) for key, child in node.value.items()}
    if isinstance(node.value, list):
        return [plain(child) for child in node.value]
    return node.value


def test_values_and_positions() -> None:
    root = parse_located(TEXT)
    assert plain(root) == json.loads(TEXT)
    lines = Lines(TEXT)
    a = root.value["a"]
    assert lines.position(root.offset) == (1, 1)
    assert lines.position(a.offset) == (2, 8)
    assert lines.position(a.value[1].offset) == (2, 12)
    assert lines.position(a.value[1].value["b"].offset) == (2, 18)
    assert lines.position(root.value["c"].offset) == (3, 8)


@pytest.mark.parametrize(
    "text", ["{", "[1,]", '{"a" 1}', '{"a": 1,}', "[1 2]", '{"a": tru}', "", "{} x", '"\\x"']
)
def test_errors_match_json_loads(text: str) -> None:
    with pytest.raises(json.JSONDecodeError) as expected:
        json.loads(text)
    with pytest.raises(json.JSONDecodeError) as found:
        parse_located(text)
    assert (found.value.msg, found.value.lineno, found.value.colno) == (
        expected.value.msg,
        expected.value.lineno,
        expected.value.colno,
    )


def test_array_items_one_by_one() -> None:
    items = iter_located('[{"a": 1},\n {"b": 2}, oops]')
    assert next(items) == Node({"a": Node(1, 7)}, 1)
    assert next(items) == Node({"b": Node(2, 18)}, 12)
    with pytest.raises(json.JSONDecodeError, match="Expecting value: line 2 column 12"):
        next(items)
    assert list(iter_located(" [ ] ")) == []
    assert list(iter_located('{"a": []}')) == [Node({"a": Node([], 6)}, 0)]
    with pytest.raises(json.JSONDecodeError, match="Extra data"):
        list(iter_located("[] []"))
