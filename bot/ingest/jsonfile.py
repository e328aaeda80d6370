"""JSON files: bol.com Retailer API v10 bodies, as returned, wrapped with the seller.

``{"seller_id": "shop-1", "performanceIndicators": [...]}`` is the body of
``GET /retailer/insights/performance/indicator``; ``{"seller_id": "shop-1", "retailer": {...}}``
the body of ``GET /retailer/retailers/current``; a file holds one of them or a list of them.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path

from bot.ingest.bodies import ApiBodies
from bot.ingest.located import Lines, iter_located
from bot.ingest.rows import Issue, Row
from norms.policy import Policy

Progress = Callable[[int, int], None]


def read_json(
    path: Path,
    *,
    file: str,
    today: date,
    policy: Policy,
    progress: Progress | None = None,
) -> Iterator[Row | Issue]:
    """Yield the rows and issues of a JSON file in file order (read whole: it is ≤ 20 MB)."""
    data = path.read_bytes()
    total = len(data)
    if progress is not None:
        progress(0, total)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        yield Issue(file, 0, 0, "not UTF-8 text")
        return
    del data
    if not text.strip():
        yield Issue(file, 0, 0, "the file is empty")
        return
    bodies = ApiBodies(file, Lines(text), today)
    empty = True
    try:
        for node in iter_located(text):
            empty = False
            yield from _in_file_order(bodies.wrapper(node))
    except json.JSONDecodeError as exc:
        yield Issue(file, exc.lineno, exc.colno, f"is not valid JSON: {exc.msg}")
        return
    except RecursionError:
        yield Issue(file, 0, 0, "is not valid JSON: nested too deeply")
        return
    if empty:
        yield Issue(file, 0, 0, "the file holds an empty list")
    if progress is not None:
        progress(total, total)


def _in_file_order(found: Iterator[Row | Issue]) -> list[Row | Issue]:
    """One body's rows and issues, ordered by where they start in the file."""
    return sorted(found, key=_position)


def _position(item: Row | Issue) -> tuple[int, int]:
    if isinstance(item, Issue):
        return item.line, item.column
    return item.line, item.seller_column
