"""Open a month (mở kỳ đánh giá) for a unit: one instance per person, idempotent."""
from __future__ import annotations

from sqlalchemy import or_, select

from app.extensions import db
from app.models import Membership, ProcessInstance, Unit, User
from app.rules.workdays import parse_period

from . import access, audit, instances, membership, versions
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
    first, last = membership.month_bounds(period)
    moved_here = select(Membership.user_id).where(Membership.unit_id.in_(unit_ids), Membership.start <= last,
                                                  or_(Membership.end.is_(None), Membership.end >= first))
    candidates = db.session.scalars(select(User).where(
        or_(User.unit_id.in_(unit_ids), User.id.in_(moved_here)), User.active.is_(True)).order_by(User.id)).all()
    main = membership.main_units(period, [p.id for p in candidates])
    units = {u.id: u for u in db.session.scalars(select(Unit).where(Unit.id.in_(unit_ids)))}
    people = [(p, units[main.get(p.id, p.unit_id)]) for p in candidates if main.get(p.id, p.unit_id) in units]
    already = set(db.session.scalars(select(ProcessInstance.subject_id).where(
        ProcessInstance.period == period, ProcessInstance.subject_id.in_([p.id for p, _ in people]))))
    started = []
    for person, home in people:
        if person.id in already:
            continue
        instances.start(version, person, period, actor, unit=home)
        started.append(person.username)
    audit.record("month_opened", actor=actor, details={"unit": unit.code, "period": period,
                                                        "include_subunits": include_subunits,
                                                        "started": len(started), "skipped": len(already)})
    db.session.commit()
    return {"started": len(started), "skipped": len(already), "started_usernames": started}
