"""Helpers of the file reader tests."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path

from bot.ingest import Issue, Row

DATA = Path(__file__).parent.parent / "data" / "ingest"
TODAY = date(2026, 11, 22)  # a Sunday: week 2026-W47 has started, 2026-W48 has not

Read = Callable[..., list[Row | Issue]]


def issues(items: list[Row | Issue]) -> list[str]:
    """The issues among ``items`` as ``FILE:LINE:COLUMN: reason``."""
    return [str(item) for item in items if isinstance(item, Issue)]


def rows(items: list[Row | Issue]) -> list[Row]:
    """The rows among ``items``."""
    return [item for item in items if not isinstance(item, Issue)]
