"""Who may see or do what, beyond task assignment (which tasks.check_assignee checks)."""
from __future__ import annotations

from sqlalchemy import select

from app.extensions import db
from app.models import HumanTask, ProcessInstance, Unit, User

from .errors import Forbidden


def is_admin(user: User) -> bool:
    return user.has_role("admin")


def agencies_led(user: User) -> list[Unit]:
    return db.session.scalars(select(Unit).where(Unit.head_id == user.id)).all()


def hr_scope(user: User) -> set[int]:
    """Unit ids an HR officer watches: their agency's subtree."""
    if not user.has_role("hr_officer") or user.unit is None:
        return set()
    agency = user.unit.agency() or user.unit
    return set(agency.subtree_ids())


def visible_unit_ids(user: User) -> set[int] | None:
    """None means everything (admin)."""
    if is_admin(user):
        return None
    ids = hr_scope(user)
    for agency in agencies_led(user):
        ids |= set(agency.subtree_ids())
    return ids


def require_hr_for(user: User, unit: Unit) -> None:
    if is_admin(user) or unit.id in hr_scope(user):
        return
    raise Forbidden("Chỉ cán bộ tổ chức của cơ quan mới được mở kỳ đánh giá cho đơn vị này.",
                    "Only the agency's HR officers may open a month for this unit.")


def can_view_instance(user: User, instance: ProcessInstance) -> bool:
    if instance.subject_id == user.id or is_admin(user):
        return True
    scope = visible_unit_ids(user)
    if scope is not None and instance.unit_id in scope:
        return True
    if instance.subject.manager_id == user.id:
        return True
    return db.session.scalar(select(HumanTask.id).where(HumanTask.instance_id == instance.id,
                                                        HumanTask.assignee_id == user.id).limit(1)) is not None


def require_view(user: User, instance: ProcessInstance) -> None:
    if not can_view_instance(user, instance):
        raise Forbidden("Anh/chị không có quyền xem hồ sơ này.", "You may not see this evaluation.")
