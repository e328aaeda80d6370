"""Where "now" comes from: the real clock, or a fixed moment for tests and replays."""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    return datetime.now(UTC)


def clock_from_env(env: dict[str, str] | None = None) -> Clock:
    """``NORMWACHT_NOW`` (ISO-8601 with offset) pins the clock; otherwise the real one."""
    value = (env if env is not None else dict(os.environ)).get("NORMWACHT_NOW", "").strip()
    if not value:
        return system_clock
    try:
        pinned = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(
            f"NORMWACHT_NOW: not a date and time ({value!r}; e.g. 2026-11-19T10:00+01:00)"
        ) from None
    if pinned.tzinfo is None:
        raise ValueError("NORMWACHT_NOW: must carry a UTC offset, e.g. 2026-11-18T09:00+01:00")
    return lambda: pinned
