"""ISO-8601 weeks: the unit in which bol.com measures every service norm."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

_WEEK_RE = re.compile(r"^\s*(\d{4})-?W(\d{1,2})\s*$", re.IGNORECASE)


@lru_cache(maxsize=512)
def weeks_in_year(year: int) -> int:
    """Number of ISO weeks in ``year`` (52 or 53)."""
    return date(year, 12, 28).isocalendar().week


@dataclass(frozen=True, order=True, slots=True)
class IsoWeek:
    """An ISO-8601 week such as ``2026-W47``; ordered, hashable and shiftable."""

    year: int
    week: int

    def __post_init__(self) -> None:
        if not 1 <= self.week <= weeks_in_year(self.year):
            raise ValueError(f"week {self.week} does not exist in ISO year {self.year}")

    @classmethod
    def parse(cls, text: str) -> IsoWeek:
        """Parse ``2026-W46`` (also ``2026W46``); raises ``ValueError`` with the reason."""
        match = _WEEK_RE.match(text)
        if match is None:
            raise ValueError(f"{text!r} is not a week like 2026-W46")
        return cls(int(match.group(1)), int(match.group(2)))

    @classmethod
    def of(cls, day: date) -> IsoWeek:
        """The ISO week that contains ``day``."""
        iso = day.isocalendar()
        return cls(iso.year, iso.week)

    @classmethod
    def containing(cls, moment: datetime, tz: ZoneInfo) -> IsoWeek:
        """The week that contains ``moment`` as seen in time zone ``tz``."""
        return cls.of(moment.astimezone(tz).date())

    @property
    def monday(self) -> date:
        return date.fromisocalendar(self.year, self.week, 1)

    @property
    def sunday(self) -> date:
        return date.fromisocalendar(self.year, self.week, 7)

    @property
    def check_day(self) -> date:
        """The Wednesday after the week, when bol.com finalises its scores."""
        return self.monday + timedelta(days=9)

    def shift(self, weeks: int) -> IsoWeek:
        """The week ``weeks`` later (negative: earlier), across year ends."""
        week = self.week + weeks
        if 0 < week < 53:  # every ISO year has weeks 1 to 52: the same year
            return iso_week(self.year, week)
        return _shift(self, weeks)

    def __add__(self, weeks: int) -> IsoWeek:
        return self.shift(weeks)

    def __sub__(self, other: IsoWeek) -> int:
        """Whole weeks from ``other`` to ``self``."""
        return (self.monday - other.monday).days // 7

    def until(self, last: IsoWeek) -> list[IsoWeek]:
        """Every week from this one up to and including ``last``."""
        return [self.shift(i) for i in range(max(0, last - self + 1))]

    def __str__(self) -> str:
        return f"{self.year}-W{self.week:02d}"


@lru_cache(maxsize=8192)
def iso_week(year: int, week: int) -> IsoWeek:
    """``IsoWeek(year, week)``, the same object each time: a dict keyed by weeks then finds
    a key by identity, without calling ``__eq__``."""
    return IsoWeek(year, week)


@lru_cache(maxsize=65536)
def _shift(week: IsoWeek, weeks: int) -> IsoWeek:
    # Week arithmetic sits on the hot path of every fold; the same few weeks recur.
    iso = (week.monday + timedelta(weeks=weeks)).isocalendar()
    return iso_week(iso.year, iso.week)
