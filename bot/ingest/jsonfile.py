"""JSON files: bol.com Retailer API bodies, as returned, wrapped with the seller.

v10: ``{"seller_id": "shop-1", "performanceIndicators": [...]}`` is the body of
``GET /retailer/insights/performance/indicator``; ``{"seller_id": "shop-1", "retailer": {...}}``
the body of ``GET /retailer/retailers/current``. v11: ``{"seller_id", "kpiScore": {...}}``
(one body of ``kpi-scores``), ``{"seller_id", "ratings": {...}}`` (``current/ratings``) and
``{"seller_id", "performanceStatus": {...}}`` with an optional ``"fetched_at"``. A file
holds one of them or a list of them.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import date, datetime
from pathlib import Path

from bot.ingest.located import Lines, iter_located
from bot.ingest.rows import EMPTY_FILE, NOT_UTF8, Issue, Row
from bot.ingest.v11 import V11Bodies
from messages.reasons import N_, Reason
from norms.policy import Policy

Progress = Callable[[int, int], None]


def read_json(
    path: Path,
    *,
    file: str,
    today: date,
    policy: Policy,
    progress: Progress | None = None,
    now: datetime | None = None,
) -> Iterator[Row | Issue]:
    """Yield the rows and issues of a JSON file in file order (read whole: it is ≤ 20 MB).
    ``now``: the import's moment (when a snapshot without ``fetched_at`` was fetched)."""
    data = path.read_bytes()
    total = len(data)
    if progress is not None:
        progress(0, total)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        yield Issue(file, 0, 0, NOT_UTF8)
        return
    del data
    if not text.strip():
        yield Issue(file, 0, 0, EMPTY_FILE)
        return
    bodies = V11Bodies(file, Lines(text), today, now)
    empty = True
    try:
        for node in iter_located(text):
            empty = False
            yield from _in_file_order(bodies.wrapper(node))
    except json.JSONDecodeError as exc:
        yield Issue(file, exc.lineno, exc.colno, _not_json(exc.msg))
        return
    except RecursionError:
        yield Issue(file, 0, 0, _not_json("nested too deeply"))
        return
    if empty:
        yield Issue(file, 0, 0, Reason(N_("the file holds an empty list")))
    if progress is not None:
        progress(total, total)


def _in_file_order(found: Iterator[Row | Issue]) -> list[Row | Issue]:
    """One body's rows and issues, ordered by where they start in the file."""
    return sorted(found, key=_position)


def _position(item: Row | Issue) -> tuple[int, int]:
    if isinstance(item, Issue):
        return item.line, item.column
    return item.line, item.seller_column


# What the json module (and our located parser) says, as the catalog says it.
_JSON_ERRORS = {
    "Expecting value": N_("a value is expected"),
    "Expecting ',' delimiter": N_("a ',' is expected"),
    "Expecting ':' delimiter": N_("a ':' is expected"),
    "Expecting property name enclosed in double quotes": N_(
        "a field name in double quotes is expected"
    ),
    "Extra data": N_("there is more after the end of the JSON value"),
    "Unterminated string starting at": N_("a text is not closed with a double quote"),
    "Invalid control character at": N_("a text holds a control character"),
    "Invalid \\escape": N_("a text holds an invalid \\ escape"),
    "Invalid \\uXXXX escape": N_("a text holds an invalid \\u escape"),
    "a number with too many digits": N_("a number with too many digits"),
    "nested too deeply": N_("nested too deeply"),
}


def _not_json(message: str) -> Reason:
    said = _JSON_ERRORS.get(message)
    detail: str = message if said is None else Reason(said)
    return Reason(N_("is not valid JSON: %(detail)s"), detail=detail)
