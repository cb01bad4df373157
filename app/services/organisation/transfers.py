"""Recording a transfer from a page: an HR officer of the person's agency (or an administrator) moves a
person to another unit from a date. The month's evaluation then goes where they worked the most days
(membership.main_units, which the month opening uses); the transfer is an audit event."""

from __future__ import annotations

import logging
from datetime import date

from sqlalchemy import select

from app.extensions import db
from app.models import Unit, User

from . import access, membership
from app.services.errors import Forbidden, Invalid


def page(viewer: User) -> dict:
    """The transfer page's lists: every unit, and the last transfers the viewer's scope covers."""
    from app.models import AuditEvent

    units = db.session.scalars(select(Unit).order_by(Unit.code)).all()
    recent = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "transferred").order_by(AuditEvent.id.desc()).limit(20)
    ).all()
    scope = None if access.is_admin(viewer) else access.hr_scope(viewer)
    if scope is not None:
        recent = [
            e
            for e in recent
            if (e.details or {}).get("from_unit_id") in scope or (e.details or {}).get("to_unit_id") in scope
        ]
    return {"units": units, "recent": recent, "names": {u.id: u.code for u in units}}


log = logging.getLogger(__name__)


def _invalid(field: str, message: str, message_en: str) -> Invalid:
    return Invalid(message, message_en, [{"field": field, "message": message, "message_en": message_en}])


def record(actor: User, username: str, unit_code: str, on_text: str) -> User:
    person = db.session.scalars(select(User).where(User.username == (username or "").strip())).first()
    if person is None:
        raise _invalid("username", "Không có người với tên đăng nhập này.", "No person with this username.")
    if not access.is_admin(actor) and person.unit_id not in access.hr_scope(actor):
        raise Forbidden(
            "Chỉ cán bộ tổ chức của cơ quan nơi người này đang làm việc hoặc quản trị hệ thống mới được "
            "ghi nhận điều chuyển.",
            "Only the HR officers of the person's agency or administrators may record a transfer.",
        )
    unit = db.session.scalars(select(Unit).where(Unit.code == (unit_code or "").strip())).first()
    if unit is None:
        raise _invalid("unit", "Đơn vị không tồn tại.", "No such unit.")
    if not access.is_admin(actor) and person.has_role("hr_officer") and unit.id not in access.hr_scope(actor):
        # the HR role reaches the agency its holder works in: moving an officer (oneself above all) into
        # another agency would make them that agency's HR officer, with its records and activation codes
        raise Forbidden(
            "Chỉ quản trị hệ thống mới được điều chuyển cán bộ tổ chức sang cơ quan khác.",
            "Only an administrator may move an HR officer to another agency.",
        )
    heads = db.session.scalars(select(Unit.code).where(Unit.head_id == person.id)).all()
    if heads and not access.is_admin(actor):
        # the page changes no unit's head: a head moved by it kept leading (and seeing) the unit left behind
        raise Forbidden(
            f"{person.full_name} đang là thủ trưởng {', '.join(heads)}: việc điều chuyển do quản trị hệ thống "
            "thực hiện cùng với việc thay thủ trưởng.",
            f"{person.full_name} heads {', '.join(heads)}: an administrator moves them, together with the change "
            "of head.",
        )
    try:
        on = date.fromisoformat((on_text or "").strip())
    except ValueError:
        raise _invalid("on", "Ngày hiệu lực phải có dạng YYYY-MM-DD.", "The effective date must be YYYY-MM-DD.")
    # the manager on file follows the move: the old one kept reviewing (and seeing every record of) a
    # person now in another unit or agency; so did the mover for the people left behind who reported to them
    manager = unit.head_id if unit.head_id not in (None, person.id) else None
    reports = db.session.scalars(select(User).where(User.manager_id == person.id)).all()
    membership.transfer(
        person,
        unit.id,
        on,
        actor=actor,
        source="page",
        details={
            "manager_before": person.manager.username if person.manager else None,
            "manager_after": db.session.get(User, manager).username if manager else None,
            "reports_left": sorted(r.username for r in reports),
        },
    )
    person.manager_id = manager
    for report in reports:
        head = report.unit.head_id if report.unit is not None else None
        report.manager_id = head if head not in (None, report.id, person.id) else None
    db.session.flush()
    return person
