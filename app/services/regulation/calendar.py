"""The working-day calendar the engine counts deadlines with: public holidays from the
`holidays` package plus the days off and make-up days an administrator enters."""

from __future__ import annotations

from datetime import date

from flask import current_app
from sqlalchemy import select

from app.extensions import db
from app.i18n import N_
from app.models import CalendarDay, User
from app.rules.workdays import WorkCalendar

from app.services import audit, reference_cache


def days() -> list[CalendarDay]:
    """The configured days (holidays moved, working Saturdays), newest first."""
    return db.session.scalars(select(CalendarDay).order_by(CalendarDay.day.desc())).all()


from app.services.errors import Invalid

KINDS = {"off": N_("Ngày nghỉ bù / nghỉ thêm"), "work": N_("Ngày làm việc bù")}  # the page shows them translated


_calendars = reference_cache.RefCache("calendar", 60.0, {"calendar_days"})


def current() -> WorkCalendar:
    """The calendar in force (every engine run reads it: cached, see reference_cache)."""
    tz = current_app.config["TIMEZONE"]

    def compute():
        rows = db.session.execute(select(CalendarDay.day, CalendarDay.kind)).all()
        return WorkCalendar(
            days_off=frozenset(d for d, k in rows if k == "off"),
            makeup_days=frozenset(d for d, k in rows if k == "work"),
            tz=tz,
        )

    return _calendars.get(tz, compute)


def add_day(day_text: str, kind: str, note: str, actor: User) -> CalendarDay:
    errors = []
    try:
        day = date.fromisoformat(str(day_text))
    except ValueError:
        day = None
        errors.append(
            {"field": "day", "message": "Ngày phải có dạng YYYY-MM-DD.", "message_en": "The day must be YYYY-MM-DD."}
        )
    if kind not in KINDS:
        errors.append({"field": "kind", "message": "Chọn loại ngày.", "message_en": "Choose a kind."})
    if day and db.session.scalars(select(CalendarDay).where(CalendarDay.day == day)).first():
        errors.append(
            {"field": "day", "message": "Ngày này đã có trong lịch.", "message_en": "Already in the calendar."}
        )
    if errors:
        raise Invalid("Chưa thêm được ngày vào lịch.", "The day was not added.", errors)
    row = CalendarDay(day=day, kind=kind, note=(note or "").strip()[:255], created_by_id=actor.id)
    db.session.add(row)
    audit.record("calendar_day_added", actor=actor, details={"day": day.isoformat(), "kind": kind, "note": row.note})
    db.session.flush()
    return row


def remove_day(day_id: int, actor: User) -> None:
    row = db.session.get(CalendarDay, day_id)
    if row is not None:
        audit.record("calendar_day_removed", actor=actor, details={"day": row.day.isoformat(), "kind": row.kind})
        db.session.delete(row)
        db.session.flush()
