"""Working-day calendar: Monday to Friday, minus Vietnamese public holidays, adjusted by the
yearly days off and make-up working days that the government announces."""

from __future__ import annotations

import re

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays

DEFAULT_TZ = "Asia/Ho_Chi_Minh"


@lru_cache(maxsize=64)
def _public_holidays(year: int) -> frozenset[date]:
    return frozenset(holidays.country_holidays("VN", years=year).keys())


@dataclass(frozen=True)
class WorkCalendar:
    """`days_off` are extra non-working days, `makeup_days` are weekend days that are worked."""

    days_off: frozenset[date] = field(default_factory=frozenset)
    makeup_days: frozenset[date] = field(default_factory=frozenset)
    tz: str = DEFAULT_TZ

    def is_working_day(self, d: date) -> bool:
        if d in self.makeup_days:
            return True
        if d in self.days_off or d in _public_holidays(d.year):
            return False
        return d.weekday() < 5

    def working_days_in_month(self, year: int, month: int) -> int:
        return _working_days_in_month(self, year, month)

    def _count_working_days(self, year: int, month: int) -> int:
        d, n = date(year, month, 1), 0
        while d.month == month:
            n += self.is_working_day(d)
            d += timedelta(days=1)
        return n

    def nth_working_day(self, start: date, n: int) -> date:
        """The n-th working day counted from `start` inclusive (n >= 1)."""
        if n < 1:
            raise ValueError("n must be at least 1")
        d = start
        while True:
            if self.is_working_day(d):
                n -= 1
                if n == 0:
                    return d
            d += timedelta(days=1)

    def end_of_day(self, d: date) -> datetime:
        return datetime.combine(d, time(23, 59, 59), ZoneInfo(self.tz))


@lru_cache(maxsize=256)
def _working_days_in_month(cal: WorkCalendar, year: int, month: int) -> int:
    return cal._count_working_days(year, month)  # the calendar is frozen: its answers never change


DEFAULT_CALENDAR = WorkCalendar()


# A month of the years 2000-2100, ASCII digits only. The JSON API publishes this very pattern in its
# OpenAPI description, so what the spec calls a period and what the code accepts cannot drift apart.
PERIOD_PATTERN = r"(20[0-9]{2}|2100)-(0[1-9]|1[0-2])"
_PERIOD_RE = re.compile(PERIOD_PATTERN)


def previous_period(today: date) -> str:
    """The month before `today`'s (a local date): what the pages show before anyone picks a month."""
    year, month = (today.year, today.month - 1) if today.month > 1 else (today.year - 1, 12)
    return f"{year:04d}-{month:02d}"


def parse_period(period: str) -> tuple[int, int]:
    """'2026-10' -> (2026, 10); ValueError for anything else."""
    if not isinstance(period, str) or not _PERIOD_RE.fullmatch(period):
        raise ValueError(f"period must be YYYY-MM, got {period!r}")
    return int(period[:4]), int(period[5:])


def month_after(period: str) -> date:
    year, month = parse_period(period)
    return date(year + month // 12, month % 12 + 1, 1)
