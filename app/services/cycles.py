"""Open a month (mở kỳ đánh giá) for a unit: one instance per person, idempotent."""
from __future__ import annotations

from sqlalchemy import select

from app.extensions import db
from app.models import ProcessInstance, Unit, User
from app.rules.workdays import parse_period

from . import access, audit, instances, versions
from .errors import BadRequest, NotFound


def check_period(period) -> str:
    try:
        parse_period(period)
    except (ValueError, TypeError):
        raise BadRequest(f"Kỳ đánh giá phải có dạng YYYY-MM (ví dụ 2026-10), nhận được: {period!r}",
                         f"The period must be YYYY-MM (e.g. 2026-10), got {period!r}")
    return period


def unit_by_code(code) -> Unit:
    unit = db.session.scalars(select(Unit).where(Unit.code == str(code or ""))).first()
    if unit is None:
        raise NotFound(f"Không có đơn vị mã {code!r}", f"No unit with code {code!r}")
    return unit


def open_month(unit_code: str, period: str, include_subunits: bool = False, actor: User | None = None) -> dict:
    check_period(period)
    unit = unit_by_code(unit_code)
    if actor is not None:
        access.require_hr_for(actor, unit)
    version = versions.latest_published()
    if version is None:
        raise NotFound("Chưa có phiên bản quy trình nào được ban hành.", "No published process version.")
    unit_ids = unit.subtree_ids() if include_subunits else [unit.id]
    people = db.session.scalars(select(User).where(User.unit_id.in_(unit_ids), User.active.is_(True))
                                .order_by(User.id)).all()
    already = set(db.session.scalars(select(ProcessInstance.subject_id).where(
        ProcessInstance.period == period, ProcessInstance.subject_id.in_([p.id for p in people]))))
    started = []
    for person in people:
        if person.id in already:
            continue
        instances.start(version, person, period, actor)
        started.append(person.username)
    audit.record("month_opened", actor=actor, details={"unit": unit.code, "period": period,
                                                        "include_subunits": include_subunits,
                                                        "started": len(started), "skipped": len(already)})
    db.session.commit()
    return {"started": len(started), "skipped": len(already), "started_usernames": started}
