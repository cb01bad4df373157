"""Local time in the configured zone (TIMEZONE, default Asia/Ho_Chi_Minh): the one place that turns
an instant into a local date or time. Instants are stored in UTC; people read local dates."""

from __future__ import annotations

from datetime import date, datetime, timezone
from functools import lru_cache
from zoneinfo import ZoneInfo

from flask import current_app

DEFAULT_ZONE = "Asia/Ho_Chi_Minh"


@lru_cache(maxsize=8)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def zone() -> ZoneInfo:
    return _zone(current_app.config.get("TIMEZONE") or DEFAULT_ZONE)


def local(dt: datetime) -> datetime:
    """`dt` (an aware instant) in the configured zone."""
    return dt.astimezone(zone())


def now() -> datetime:
    return datetime.now(timezone.utc).astimezone(zone())


def today() -> date:
    return now().date()


def format(dt: datetime | None, fmt: str = "%d/%m/%Y") -> str:
    """A local date or time for people to read; "" for no instant."""
    return dt.astimezone(zone()).strftime(fmt) if dt is not None else ""
