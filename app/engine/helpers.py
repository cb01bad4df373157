"""Functions that BPMN scripts, conditions and timer expressions may call.

They are pure (inputs -> JSON-native output) except `notify`, which only records a request in
the current run's outbox; the service turns it into notifications after the save.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping
from contextvars import ContextVar
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from app.rules import kpi, levels, scoring
from app.rules.workdays import DEFAULT_CALENDAR, WorkCalendar, month_after, parse_period

from . import clock

current_calendar: ContextVar[WorkCalendar] = ContextVar("current_calendar", default=DEFAULT_CALENDAR)
# Set by the app to a function returning the calendar in force (holidays + the days an
# administrator entered); every engine run installs its result in `current_calendar`.
calendar_provider: Callable[[], WorkCalendar] | None = None


_pinned_calendar: ContextVar[WorkCalendar | None] = ContextVar("pinned_calendar", default=None)


def calendar() -> WorkCalendar:
    pinned = _pinned_calendar.get()
    if pinned is not None:
        return pinned
    return calendar_provider() if calendar_provider is not None else DEFAULT_CALENDAR


@contextlib.contextmanager
def pinned_calendar(cal: WorkCalendar | None = None) -> Iterator[None]:
    """Read the calendar once for a batch (a bulk opening, a timer run) instead of on every engine
    run: inside the block `calendar()` returns `cal` (default: the calendar in force on entry)."""
    token = _pinned_calendar.set(cal or calendar())
    try:
        yield
    finally:
        _pinned_calendar.reset(token)


outbox: ContextVar[list[Any] | None] = ContextVar("engine_outbox", default=None)


def now_iso() -> str:
    return clock.now().astimezone(_tz()).isoformat(timespec="seconds")


def wd_deadline(period: str, n: int, opened_at: str | None = None) -> str:
    """End of the n-th working day of the month after `period` (deadline "WDn").

    A month opened late (after that month began) counts its working days from the opening day
    instead, so nobody's deadline has already passed when their task appears.
    """
    cal = current_calendar.get()
    start = month_after(period)
    if opened_at:
        opened = datetime.fromisoformat(opened_at).astimezone(_tz()).date()
        start = max(start, opened)
    return cal.end_of_day(cal.nth_working_day(start, int(n))).isoformat()


# Set by the app: whether a month opened before its period ends starts with the work plan (config
# WORK_PLAN_PHASE, default on). None (a designer's test run, the raw engine): on.
plan_phase_enabled: Callable[[], bool] | None = None


def period_over(period: str) -> str:
    """The start of the first working day after `period` ends: when the self-evaluation opens after a
    work plan."""
    cal = current_calendar.get()
    day = cal.nth_working_day(month_after(period), 1)
    return datetime.combine(day, datetime.min.time(), _tz()).isoformat()


def plan_open(period: str, opened_at: str | None = None) -> bool:
    """Whether the month starts with the work plan: opened before the period ended (a month opened
    afterwards goes straight to self-evaluation, where the work done is listed)."""
    if plan_phase_enabled is not None and not plan_phase_enabled():
        return False
    opened = datetime.fromisoformat(opened_at) if opened_at else clock.now()
    return opened < datetime.fromisoformat(period_over(period))


def wd_in_period(period: str, n: int, opened_at: str | None = None) -> str:
    """End of the n-th working day of `period` itself (the plan's deadlines), counted from the opening
    day when the month was opened after the period began."""
    cal = current_calendar.get()
    year, month = parse_period(period)
    start = datetime(year, month, 1).date()
    if opened_at:
        start = max(start, datetime.fromisoformat(opened_at).astimezone(_tz()).date())
    return cal.end_of_day(cal.nth_working_day(start, int(n))).isoformat()


def wd_after(instant: str, n: int) -> str:
    """End of the n-th working day after the day of `instant`."""
    cal = current_calendar.get()
    start = datetime.fromisoformat(instant).astimezone(_tz()).date() + timedelta(days=1)
    return cal.end_of_day(cal.nth_working_day(start, int(n))).isoformat()


def wd_before(instant: str, n: int) -> str:
    """End of the working day n working days before the day of `instant` (for reminders)."""
    cal = current_calendar.get()
    d = datetime.fromisoformat(instant).astimezone(_tz()).date()
    while n > 0:
        d -= timedelta(days=1)
        n -= cal.is_working_day(d)
    return cal.end_of_day(d).isoformat()


# Set by the service for the run of one instance: lane role -> id of the person who holds it for this
# instance's subject (from the org chart, delegations aside). None in a designer's test run, where
# nobody holds anything and `same_holder` is False.
current_roles: ContextVar[Callable[[str], int | None] | None] = ContextVar("current_roles", default=None)


def same_holder(role_a: str, role_b: str) -> bool:
    """Whether two lanes fall to the same person for this subject: a division leader whose direct
    manager is the head who decides (or an agency head, whose manager is the superior decider) has no
    separate review; a gateway sends the record straight to the decider."""
    resolve = current_roles.get()
    if resolve is None:
        return False
    first = resolve(str(role_a))
    return first is not None and first == resolve(str(role_b))


# The running version's classification scale (level → lowest total), read only when a script asks.
current_thresholds: ContextVar[Callable[[], Mapping[str, float]] | None] = ContextVar(
    "current_thresholds", default=None
)


def plan_rules(result: dict[str, Any], review: Mapping[str, Any] | None, working_days: int) -> dict[str, Any]:
    """kpi.plan_rules with the running version's own thresholds: the estimate a confirmed objective
    cause would give must follow the table that scored the record, not the shipped one."""
    scale = current_thresholds.get()
    return kpi.plan_rules(result, review, working_days, scale() if scale is not None else None)


def notify(kind: str, step: str = "") -> None:
    box = outbox.get()
    if box is not None:
        box.append({"kind": str(kind), "step": str(step)})


def _tz() -> ZoneInfo:
    return ZoneInfo(current_calendar.get().tz)


SCRIPT_HELPERS: dict[str, Callable[..., Any]] = {
    "now_iso": now_iso,
    "wd_deadline": wd_deadline,
    "wd_after": wd_after,
    "wd_before": wd_before,
    "notify": notify,
    "same_holder": same_holder,
    "score_total": scoring.score_total,
    "apply_level_rules": levels.apply_level_rules,
    "finalize_level": levels.finalize_level,
    "plan_open": plan_open,
    "period_over": period_over,
    "wd_in_period": wd_in_period,
    "plan_rules": plan_rules,
}
