"""The inbox as a manager works it: each task with the person's self-score and the days left, filters
(step, unit, overdue) and a search by name, and taking several self-evaluations as proposed.

The rows are the person's own ready tasks (`tasks.inbox`, at most a few hundred for a head), so the
filters run over that list; the self-score comes from the record's projection, never a workflow load.
Taking self-evaluations as proposed goes through `tasks.view` (the same prefill a manager sees on the
page) and `tasks.complete`, one task at a time: each is its own review, audited as such.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from functools import lru_cache
from zoneinfo import ZoneInfo

from sqlalchemy import select

from app.extensions import db
from app.models import EvaluationRecord, HumanTask, User
from app.models.workflow import TASK_READY
from app.rules.workdays import WorkCalendar

from app.services.regulation import calendar as work_calendar
from . import steps as process_steps
from . import tasks
from app.services.errors import BadRequest

SEARCH_MAX = 100


@dataclass
class Row:
    task: HumanTask
    self_total: float | None
    days_left: int | None  # working days until the deadline's day; negative: working days overdue
    overdue: bool


@dataclass
class Filters:
    step: str = ""
    unit: str = ""  # a unit code
    overdue: bool = False
    q: str = ""

    @property
    def active(self) -> bool:
        return bool(self.step or self.unit or self.overdue or self.q)


@dataclass
class InboxPage:
    rows: list[Row]
    total: int  # before filtering
    filters: Filters
    steps: list[tuple[str, str]] = field(default_factory=list)  # (step id, a task carrying its title)
    units: list[tuple[str, str]] = field(default_factory=list)  # (code, name)
    bulk_ids: list[int] = field(default_factory=list)  # shown tasks that may be taken as proposed


def parse_filters(args) -> Filters:
    q = (args.get("q") or "").strip()
    if len(q) > SEARCH_MAX or any(ord(c) < 32 for c in q):
        raise BadRequest(
            "Từ khóa tìm kiếm không hợp lệ.",
            "The search text is not valid.",
            [
                {
                    "field": "q",
                    "message": "Từ khóa tìm kiếm không hợp lệ (tối đa 100 ký tự).",
                    "message_en": "The search text is not valid (at most 100 characters).",
                }
            ],
        )
    return Filters(
        step=(args.get("step") or "")[:64],
        unit=(args.get("unit") or "")[:64],
        overdue=args.get("overdue") in ("1", "on", "true"),
        q=q,
    )


def days_left(due_at: datetime | None, now: datetime, cal: WorkCalendar) -> int | None:
    """Working days left before a deadline, as the regulation counts them (deadlines are the end of a
    working day, local time): the working days after today up to the due day, 0 on the due day itself,
    and once past it minus the working days since (a deadline on Friday read on Monday is 1 overdue;
    read on the Saturday between, 0: overdue, though no working day has been lost yet)."""
    if due_at is None:
        return None
    zone = ZoneInfo(cal.tz)
    today, due = _aware(now).astimezone(zone).date(), _aware(due_at).astimezone(zone).date()
    if due >= today:
        return _working_days_after(cal, today, due)
    return -_working_days_after(cal, due, today)


@lru_cache(maxsize=1024)
def _working_days_after(cal: WorkCalendar, start: date, end: date) -> int:
    """Working days in (start, end] (a month's tasks share a few deadlines: cached; the calendar is frozen)."""
    n, d = 0, start
    while d < end:
        d += timedelta(days=1)
        n += cal.is_working_day(d)
    return n


def _matches(text: str, q: str) -> bool:
    return q.casefold() in (text or "").casefold()


def page(user: User, filters: Filters, now: datetime | None = None) -> InboxPage:
    now = now or datetime.now(timezone.utc)
    mine = tasks.inbox(user)
    cal = work_calendar.current()
    totals = dict(
        db.session.execute(
            select(EvaluationRecord.instance_id, EvaluationRecord.self_total).where(
                EvaluationRecord.instance_id.in_({t.instance_id for t in mine} or {-1})
            )
        ).all()
    )
    rows = []
    for t in mine:
        left = days_left(t.due_at, now, cal)
        rows.append(
            Row(
                t, totals.get(t.instance_id), left, left is not None and t.due_at is not None and _aware(t.due_at) < now
            )
        )
    steps = {t.step: t for t in mine}
    units = {t.unit.code: t.unit.name for t in mine if t.unit is not None}
    shown = [
        r
        for r in rows
        if (not filters.step or r.task.step == filters.step)
        and (not filters.unit or (r.task.unit is not None and r.task.unit.code == filters.unit))
        and (not filters.overdue or r.overdue)
        and (
            not filters.q
            or _matches(r.task.subject.full_name, filters.q)
            or _matches(r.task.subject.username, filters.q)
        )
    ]
    return InboxPage(
        shown,
        len(rows),
        filters,
        steps=[(s, steps[s]) for s in sorted(steps, key=lambda s: (process_steps.number(s) or (99, 0))[0])],
        units=sorted(units.items(), key=lambda u: u[1]),
        bulk_ids=[r.task.id for r in shown if may_take_as_proposed(r, user)],
    )


def _aware(dt: datetime) -> datetime:
    return dt if dt.tzinfo else dt.replace(tzinfo=timezone.utc)


def is_review(step: str, steps: dict | None = None) -> bool:
    """Whether a step is a manager's review that scores (by what the process says the step means, so a
    step a designer adds or renames counts too)."""
    info = (steps if steps is not None else process_steps.known()).get(step)
    return info is not None and info.status == "review" and info.scores


def may_take_as_proposed(row: Row, user: User) -> bool:
    """A manager's review of a person who did evaluate themselves (there is a self-score to take)."""
    return is_review(row.task.step) and row.self_total is not None and row.task.subject_id != user.id


def proposal(task_id: int, user: User) -> dict:
    """The review a manager would submit untouched: the page's own prefill (the self-evaluation's scores,
    bonus and deductions, the month's working days), ignoring any half-typed draft."""
    view = tasks.view(task_id, user)
    steps = process_steps.of(view.task.instance.version)
    if not is_review(view.task.step, steps):
        raise BadRequest(
            "Chỉ nhận nguyên kết quả tự đánh giá ở bước lãnh đạo chấm điểm.",
            "Only a manager's review can take the self-evaluation as proposed.",
        )
    data = tasks.prefill(steps, view.task.step, view.context)
    if not data.get("scores"):
        raise BadRequest(
            "Người này chưa tự đánh giá: hãy chấm điểm trên trang của việc.",
            "This person did not evaluate themselves: score them on the task's page.",
        )
    return data


def take_as_proposed(task_id: int, user: User) -> HumanTask:
    """One review completed with the self-evaluation as proposed, through the one completion service
    (validation, quota, audit row `task_completed`, notifications): the caller makes each one its own
    unit of work, so a refused review leaves the others done."""
    return tasks.complete(task_id, user, proposal(task_id, user))


def was_returned(task: HumanTask) -> bool:
    """The review just completed sent the record back to its subject (a new self-evaluation task is
    waiting): the page says it was returned, not that it is done."""
    if not is_review(task.step):
        return False
    self_steps = [s for s, info in process_steps.known().items() if info.status == "self_evaluation"]
    return (
        db.session.scalar(
            select(HumanTask.id)
            .where(
                HumanTask.instance_id == task.instance_id,
                HumanTask.step.in_(self_steps or ["self_evaluation"]),
                HumanTask.status == TASK_READY,
            )
            .limit(1)
        )
        is not None
    )
